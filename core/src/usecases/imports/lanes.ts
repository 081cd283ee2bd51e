import type { Deps } from '../../context.js';
import { withRetryableTransaction } from '../../db/pool.js';
import * as sql from '../../sql/imports.js';
import { enqueueEmailBatches } from '../emails.js';
import { applyBatch, prepareBatch, type BatchContext, type PreparedBatch, type RoutedRecord } from './batch.js';
import { parseImportRow } from './format.js';
import { projectKeyOf } from './keys.js';
import type { ImportProfile } from './profile.js';
import { isBlankRecord, type CsvRecord } from './reader.js';

/**
 * The lane scheduler of a real (not dry) run. Rows are routed by their project key to a fixed number of
 * lanes; each lane writes its own batches in file order, one transaction at a time on its own connection,
 * so PostgreSQL works on as many cores as there are lanes. Everything decided in file order (a project's
 * template, repeats of a project + email pair) concerns one project key, hence one lane.
 */

/** Project keys are spread over this many partitions; a lane owns those equal to its number modulo the lane count. */
export const PARTITIONS = 64;

/** FNV-1a: a stable hash, so a resumed import routes every row to the lane that had it. */
function partitionOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % PARTITIONS;
}

/** A row's project decides its partition; a row that failed validation has none that matters. */
const partitionOfRecord = (r: RoutedRecord): number => (r.parsed?.ok ? partitionOf(projectKeyOf(r.parsed.row)) : r.rowNumber % PARTITIONS);

const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A lane found the import no longer its to write: cancelled, or another runner (a stalled job picked up
 * twice) moved the lane's checkpoint, and this one stops and leaves it the work.
 */
class Stop extends Error {
  constructor(readonly outcome: 'cancelled' | 'superseded') {
    super(outcome);
  }
}

/**
 * A batch's emails are handed over after it commits as one queue-emails job (the email worker expands it
 * into one send-email job per email), so the import worker never holds 100k jobs' worth of Redis buffers.
 * `batchKey` names exactly this set of ids. A Redis blip is waited out (the outbox sweep is the backstop).
 */
export async function enqueueEmailsPatiently(deps: Deps, ids: string[], batchKey: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await enqueueEmailBatches(deps, ids, batchKey);
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      deps.logger.warn({ err: (err as Error).message, attempt }, 'csv-import: could not enqueue emails yet; retrying');
      await sleep(Math.min(attempt, 5) * 1000);
    }
  }
}

export interface LaneRun {
  ctx: BatchContext & { profile: ImportProfile };
  lanes: sql.ImportLane[];
  /** The data records after the header. */
  records: AsyncIterable<CsvRecord>;
  /** Rows applied before this run (progress). */
  rowsDone: number;
  rowsTotal: number | null;
  onProgress?(rowsDone: number, rowsTotal: number | null): void;
}

export type LanesOutcome = 'done' | 'cancelled' | 'superseded';

/**
 * Reads the records once, routing each to its lane, and writes each lane's batches: a batch's writes, its
 * error and duplicate rows, its lane's checkpoint and its counts commit in one transaction, and its emails
 * are handed over after. Rows at or below a lane's checkpoint were committed by an earlier run.
 */
export async function runLanes(deps: Deps, run: LaneRun): Promise<LanesOutcome> {
  const { ctx } = run;
  const { importId, agencyId, profile } = ctx;
  const batchSize = deps.config.importBatchSize;
  interface Lane {
    no: number;
    /** Every row of this lane up to here is applied (committed). */
    checkpoint: number;
    buf: RoutedRecord[];
    /** The lane's batch being written, if any: one at a time per lane, in file order. */
    inflight: Promise<void>;
  }
  const lanes: Lane[] = run.lanes.map((l) => ({ no: l.lane, checkpoint: l.checkpoint_row, buf: [], inflight: Promise.resolve() }));
  let stopped: 'cancelled' | 'superseded' | null = null;
  let emailsInFlight: Promise<void> = Promise.resolve();
  let rowsDone = run.rowsDone;

  const writeBatch = async (l: Lane, batch: PreparedBatch, partitions: number[]): Promise<void> => {
    const upTo = batch.lastRowNumber - 1;
    // synchronous_commit stays on: it costs one WAL flush per batch (thousands of rows), and with it off a
    // PostgreSQL crash could lose a batch whose emails were already queued and sent, with links that no
    // longer exist once the batch is replayed with new tokens.
    const result = await profile.phase('transaction', () =>
      withRetryableTransaction(deps.pool, async (tx) => {
        const state = await sql.lockImportLane(tx, importId, l.no);
        if (state?.status === 'cancelled') throw new Stop('cancelled');
        if (!state || state.checkpoint_row !== l.checkpoint || state.status !== 'running') throw new Stop('superseded');
        await sql.lockProjectPartitions(tx, agencyId, partitions);
        const r = await applyBatch(tx, ctx, batch);
        await sql.insertImportErrors(tx, importId, r.errors);
        await sql.insertImportDuplicates(tx, importId, r.duplicates);
        const status = await sql.commitLaneBatch(tx, importId, l.no, upTo, r.counts);
        return { emailIds: r.emailIds, cancelled: status === 'cancelled' };
      }),
    );
    profile.endBatch(batch.parsedRows.length);
    l.checkpoint = upTo;
    // Overlap the bulk enqueue of this batch's emails with the next batches' SQL.
    const previous = emailsInFlight;
    emailsInFlight = previous.then(() =>
      profile.phase('enqueue emails (overlapped)', () => enqueueEmailsPatiently(deps, result.emailIds, `${importId}-${l.no}-${upTo}`)),
    );
    rowsDone += batch.counts.rows;
    run.onProgress?.(rowsDone, run.rowsTotal);
    if (result.cancelled) stopped = 'cancelled';
  };

  /** Starts writing the lane's buffered rows once its previous batch is done (the reader waits for that). */
  const launch = async (l: Lane): Promise<void> => {
    const recs = l.buf;
    l.buf = [];
    // Validated and tokenised while the lane's previous batch is still being written.
    const prepared = profile.phase('prepare (overlapped)', () => prepareBatch(ctx, recs));
    prepared.catch(() => undefined);
    const partitions = [...new Set(recs.map((r) => partitionOfRecord(r)))].sort((a, b) => a - b);
    await profile.phase('reader waits for the lane', () => l.inflight);
    if (stopped) return;
    l.inflight = prepared.then((b) => (stopped ? undefined : writeBatch(l, b, partitions)));
    // Awaited by the next launch of this lane or at the end; this only keeps a failure from being reported unhandled meanwhile.
    l.inflight.catch(() => undefined);
  };

  try {
    let sinceYield = 0;
    for await (const rec of run.records) {
      if (stopped) break;
      // Parsing runs in the same thread as the lanes' database I/O: let their results in now and then.
      if (++sinceYield === 250) {
        sinceYield = 0;
        await yieldToIo();
      }
      if (isBlankRecord(rec.values)) continue;
      const routed: RoutedRecord = { ...rec, parsed: parseImportRow(rec.values, ctx.header) };
      const l = lanes[partitionOfRecord(routed) % lanes.length]!;
      if (rec.rowNumber - 1 <= l.checkpoint) continue;
      l.buf.push(routed);
      if (l.buf.length >= batchSize) await launch(l);
    }
    for (const l of lanes) if (l.buf.length && !stopped) await launch(l);
    await Promise.all(lanes.map((l) => l.inflight));
    await profile.phase('wait for email enqueue', () => emailsInFlight);
  } catch (err) {
    await Promise.allSettled(lanes.map((l) => l.inflight));
    await emailsInFlight.catch(() => undefined);
    if (err instanceof Stop) return err.outcome;
    throw err;
  }
  return stopped ?? 'done';
}
