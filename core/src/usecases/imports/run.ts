import type { Deps } from '../../context.js';
import { withRetryableTransaction, withTransaction, type PoolClient } from '../../db/pool.js';
import { appendEvent } from '../../sql/events.js';
import { getAgency } from '../../sql/agencies.js';
import * as sql from '../../sql/imports.js';
import { emptyImportCounts, type ImportCounts } from '../../read/resources.js';
import { enqueueEmailBatches } from '../emails.js';
import { addCounts, applyBatch, prepareBatch, type BatchContext, type PreparedBatch, type RoutedRecord, type RowError } from './batch.js';
import { mapHeader, parseImportRow, projectKeyOf } from './format.js';
import { importChunks, importRecords, isBlankRecord, type CsvRecord } from './reader.js';
import { ImportProfile } from './profile.js';
import { ImportFatalError } from './errors.js';

/**
 * A lane found the import no longer its to write: cancelled, or another runner (a stalled job picked up
 * twice) moved the lane's checkpoint, and this one stops and leaves it the work.
 */
class Stop extends Error {
  constructor(readonly outcome: 'cancelled' | 'superseded') {
    super(outcome);
  }
}

export type RunOutcome = 'completed' | 'cancelled' | 'already-finished' | 'superseded' | 'missing';

export interface RunHooks {
  onProgress?(rowsDone: number, rowsTotal: number | null): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Projects found by name have no unique index, so two imports of one agency must not create the same one at
// once. A lock per partition of project keys (in ascending order: no deadlock between lanes) lets the lanes
// of one import, whose partitions are disjoint, write side by side.
const projectLockSql = `select count(pg_advisory_xact_lock(hashtextextended('onramp:projects:' || $1::text || ':' || p, 0)))
                          from (select p from unnest($2::int[]) p order by p offset 0) s`;

/** Project keys are spread over this many partitions; a lane owns those equal to its number modulo the lane count. */
const PARTITIONS = 64;

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

/**
 * A batch's emails are handed over after it commits as one queue-emails job (the email worker expands it
 * into one send-email job per email), so the import worker never holds 100k jobs' worth of Redis buffers.
 * `batchKey` names exactly this set of ids. A Redis blip is waited out (the outbox sweep is the backstop).
 */
async function enqueueEmailsPatiently(deps: Deps, ids: string[], batchKey: string): Promise<void> {
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

/**
 * Set-based foreign-key checks need a role that may set session_replication_role. One that may not gets
 * the per-row triggers, which give the same guarantees at about a third more database time per row.
 */
async function referencesBySetAllowed(deps: Deps): Promise<boolean> {
  const client = await deps.pool.connect();
  try {
    if (await sql.canCheckReferencesBySet(client)) return true;
  } finally {
    client.release();
  }
  deps.logger.warn(
    'csv-import: this database role may not set session_replication_role, so foreign keys are checked row by row (slower); grant it with GRANT SET ON PARAMETER session_replication_role TO <role>, or set IMPORT_SET_BASED_FK_CHECKS=false to silence this',
  );
  return false;
}

/**
 * Runs (or resumes) one import. Each batch's writes and the checkpoint commit together, so after a crash
 * the rows below the checkpoint are skipped and the rest replayed; the result equals a clean run's. A dry
 * run applies every batch inside one transaction that is rolled back, so its counts are the real ones.
 */
export async function runImport(deps: Deps, importId: string, hooks: RunHooks = {}): Promise<RunOutcome> {
  const imp = await sql.getImportState(deps.pool, importId);
  if (!imp) return 'missing';
  if (imp.status === 'completed' || imp.status === 'failed' || imp.status === 'cancelled') return 'already-finished';
  if (imp.cancel_requested) {
    await deps.pool.query(`update imports set status = 'cancelled', finished_at = now() where id = $1`, [importId]);
    return 'cancelled';
  }
  if (!imp.sha256) throw new ImportFatalError('the upload did not finish; upload the file again');
  const agency = await getAgency(deps.pool, imp.agency_id);
  if (!agency) throw new ImportFatalError('the agency no longer exists');

  const profile = new ImportProfile();
  const runStarted = performance.now();
  // Counted by the upload as the file came in (null for an upload of an older version): progress only. The
  // total an import completes with is the number of records this run read.
  const rowsTotal = imp.rows_total;
  await deps.pool.query(`update imports set status = 'running', started_at = coalesce(started_at, now()), error = null where id = $1`, [importId]);

  const records = importRecords(importChunks(deps.pool, importId));
  const first = await records.next();
  if (first.done) throw new ImportFatalError('the file is empty');
  const { map, missing } = mapHeader(first.value.values);
  if (missing.length) throw new ImportFatalError(`missing required column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);

  const ctx: BatchContext = {
    appSecret: deps.appSecret,
    importId,
    agencyId: imp.agency_id,
    actorId: imp.created_by,
    sendEmails: imp.send_emails && !imp.dry_run,
    defaultTemplate: imp.default_template,
    expiryDays: agency.invite_expiry_days,
    header: map,
    templates: new Map(),
    checkReferencesBySet: deps.config.importSetBasedFkChecks && (await referencesBySetAllowed(deps)),
    profile,
  };
  const batchSize = deps.config.importBatchSize;
  hooks.onProgress?.(imp.dry_run ? 0 : imp.checkpoint_row, rowsTotal);

  if (imp.dry_run) return runDry(deps, imp, ctx, records, rowsTotal, hooks);

  // The lanes of this import: fixed by its first run, so a resume routes every row to the same lane.
  let lanes = await sql.getImportLanes(deps.pool, importId);
  const resuming = lanes.length > 0 || imp.checkpoint_row > 0;
  if (lanes.length === 0) lanes = await sql.createImportLanes(deps.pool, importId, deps.config.importLanes, imp.checkpoint_row);

  if (resuming) {
    // The previous runner may have died between a batch's commit and its enqueue. Queue again every email
    // of this import still waiting to be sent; the deterministic job ids make this a no-op for the ones
    // whose jobs exist.
    const { rows } = await deps.pool.query<{ id: string }>(
      `select e.id from events ev join emails e on e.invitation_id = ev.subject_id and e.agency_id = ev.agency_id
        where ev.agency_id = $1 and ev.type = 'invitation.created' and ev.data->>'import_id' = $2 and e.status = 'queued'`,
      [imp.agency_id, importId],
    );
    await enqueueEmailsPatiently(deps, rows.map((r) => r.id), `${importId}-resume-${Date.now()}`);
  }

  interface Lane {
    no: number;
    /** Every row of this lane up to here is applied (committed). */
    checkpoint: number;
    buf: RoutedRecord[];
    /** The lane's batch being written, if any: one at a time per lane, in file order. */
    inflight: Promise<void>;
  }
  const lane: Lane[] = lanes.map((l) => ({ no: l.lane, checkpoint: l.checkpoint_row, buf: [], inflight: Promise.resolve() }));
  let stopped: 'cancelled' | 'superseded' | null = null;
  let emailsInFlight: Promise<void> = Promise.resolve();
  let rowsDone = imp.checkpoint_row;

  const writeBatch = async (l: Lane, batch: PreparedBatch, partitions: number[]): Promise<void> => {
    const upTo = batch.lastRowNumber - 1;
    const tTx = performance.now();
    let tBody = 0;
    // synchronous_commit stays on: it costs one WAL flush per batch (thousands of rows), and with it off a
    // PostgreSQL crash could lose a batch whose emails were already queued and sent, with links that no
    // longer exist once the batch is replayed with new tokens.
    const result = await withRetryableTransaction(deps.pool, async (rawTx: PoolClient) => {
      const tStart = performance.now();
      const tx = profile.queryable(rawTx);
      const state = await sql.lockImportLane(tx, importId, l.no);
      if (state?.status === 'cancelled') throw new Stop('cancelled');
      if (!state || state.checkpoint_row !== l.checkpoint || state.status !== 'running') throw new Stop('superseded');
      await tx.query(projectLockSql, [imp.agency_id, partitions]);
      const r = await applyBatch(rawTx, ctx, batch);
      await sql.insertImportErrors(tx, importId, r.errors);
      const status = await sql.commitLaneBatch(tx, importId, l.no, upTo, r.counts);
      tBody = performance.now() - tStart;
      return { emailIds: r.emailIds, cancelled: status === 'cancelled' };
    });
    profile.add('begin+commit', performance.now() - tTx - tBody);
    profile.endBatch(batch.parsedRows.length);
    l.checkpoint = upTo;
    // Overlap the bulk enqueue of this batch's emails with the next batches' SQL.
    const previous = emailsInFlight;
    emailsInFlight = previous.then(() => profile.time('enqueue emails (overlapped)', () => enqueueEmailsPatiently(deps, result.emailIds, `${importId}-${l.no}-${upTo}`)));
    rowsDone += batch.counts.rows;
    hooks.onProgress?.(rowsDone, rowsTotal);
    if (result.cancelled) stopped = 'cancelled';
  };

  /** Starts writing the lane's buffered rows once its previous batch is done (the reader waits for that). */
  const launch = async (l: Lane): Promise<void> => {
    const recs = l.buf;
    l.buf = [];
    // Validated and tokenised while the lane's previous batch is still being written.
    const prepared = prepareBatch(ctx, recs);
    prepared.catch(() => undefined);
    const partitions = [...new Set(recs.map((r) => partitionOfRecord(r)))].sort((a, b) => a - b);
    await l.inflight;
    if (stopped) return;
    l.inflight = prepared.then((b) => (stopped ? undefined : writeBatch(l, b, partitions)));
    // Awaited by the next launch of this lane or at the end; this only keeps a failure from being reported unhandled meanwhile.
    l.inflight.catch(() => undefined);
  };

  /** The header is record 1: every record read, the ones an earlier run applied included. */
  let lastRecord = 1;
  try {
    let sinceYield = 0;
    for await (const rec of records) {
      if (stopped) break;
      lastRecord = rec.rowNumber;
      // Parsing runs in the same thread as the lanes' database I/O: let their results in now and then.
      if (++sinceYield === 250) {
        sinceYield = 0;
        await yieldToIo();
      }
      if (isBlankRecord(rec.values)) continue;
      const parsed = parseImportRow(rec.values, map);
      const routed: RoutedRecord = { ...rec, parsed };
      const l = lane[partitionOfRecord(routed) % lane.length]!;
      // Rows at or below the lane's checkpoint were committed by an earlier run.
      if (rec.rowNumber - 1 <= l.checkpoint) continue;
      l.buf.push(routed);
      if (l.buf.length >= batchSize) await launch(l);
    }
    for (const l of lane) if (l.buf.length && !stopped) await launch(l);
    await Promise.all(lane.map((l) => l.inflight));
    await profile.time('wait for email enqueue', () => emailsInFlight);
  } catch (err) {
    await Promise.allSettled(lane.map((l) => l.inflight));
    await emailsInFlight.catch(() => undefined);
    if (err instanceof Stop) return err.outcome;
    throw err;
  } finally {
    // Stops the parser and the chunk reads when leaving early (cancelled, superseded, failed).
    await records.return(undefined).catch(() => undefined);
  }
  if (stopped) return stopped;

  const total = lastRecord - 1;
  const outcome = await withTransaction(deps.pool, async (tx) => {
    const state = await sql.getImportState(tx, importId, true);
    if (!state || state.status !== 'running') return 'superseded' as const;
    // Every lane added its batches' counts to the row in the batch's own transaction.
    const counts = addCounts(state.counts, emptyImportCounts());
    await tx.query(
      `update imports set status = 'completed', finished_at = now(), checkpoint_row = $2, rows_total = $2, counts = $3 where id = $1`,
      [importId, total, JSON.stringify(counts)],
    );
    await appendEvent(tx, { agencyId: imp.agency_id, type: 'import.completed', subjectId: importId, actorId: imp.created_by, data: { counts, dry_run: false } });
    // Run state is only needed while running; the outcome lives in counts and import_errors.
    await tx.query('delete from import_keys where import_id = $1', [importId]);
    await tx.query('delete from import_projects where import_id = $1', [importId]);
    await tx.query('delete from import_lanes where import_id = $1', [importId]);
    return 'completed' as const;
  });
  profile.endRun(performance.now() - runStarted);
  return outcome;
}

const emptyCounts = (): ImportCounts => addCounts({}, emptyImportCounts());

async function runDry(
  deps: Deps,
  imp: sql.ImportState,
  ctx: BatchContext,
  records: AsyncGenerator<CsvRecord>,
  rowsTotal: number | null,
  hooks: RunHooks,
): Promise<RunOutcome> {
  const importId = imp.id;
  // A dry run restarts from the top: nothing it did survived.
  await deps.pool.query(`delete from import_errors where import_id = $1`, [importId]);
  await deps.pool.query(`update imports set checkpoint_row = 0, counts = '{}' where id = $1`, [importId]);
  const batchSize = deps.config.importBatchSize;
  let counts = emptyCounts();
  let done = 0;
  let read = 0;
  const client = await deps.pool.connect();
  let outcome: RunOutcome = 'completed';
  try {
    await client.query('begin');
    await client.query(projectLockSql, [imp.agency_id, [...Array(PARTITIONS).keys()]]);
    let batch: CsvRecord[] = [];
    const flush = async (): Promise<boolean> => {
      const r = await applyBatch(client, ctx, batch);
      counts = addCounts(counts, r.counts);
      done = batch[batch.length - 1]!.rowNumber - 1;
      batch = [];
      // Errors and progress go through the pool: they must outlive the rollback.
      await sql.insertImportErrors(deps.pool, importId, r.errors as RowError[]);
      const { rows } = await deps.pool.query<{ cancel_requested: boolean }>(
        `update imports set checkpoint_row = $2, counts = $3 where id = $1 returning cancel_requested`,
        [importId, done, JSON.stringify(counts)],
      );
      hooks.onProgress?.(done, rowsTotal);
      return rows[0]?.cancel_requested ?? true;
    };
    for await (const rec of records) {
      read = rec.rowNumber - 1;
      if (isBlankRecord(rec.values) && batch.length === 0) {
        done = rec.rowNumber - 1;
        continue;
      }
      batch.push(rec);
      if (batch.length >= batchSize && (await flush())) {
        outcome = 'cancelled';
        break;
      }
    }
    if (outcome === 'completed' && batch.length) {
      if (await flush()) outcome = 'cancelled';
    }
  } finally {
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
  await deps.pool.query(
    `update imports set status = $2, finished_at = now(), checkpoint_row = $3, counts = $4, rows_total = coalesce($5, rows_total) where id = $1`,
    [importId, outcome, outcome === 'completed' ? read : done, JSON.stringify(counts), outcome === 'completed' ? read : null],
  );
  return outcome;
}
