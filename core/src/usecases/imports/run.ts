import type { Deps } from '../../context.js';
import { withTransaction, type PoolClient } from '../../db/pool.js';
import { appendEvent } from '../../sql/events.js';
import { getAgency } from '../../sql/agencies.js';
import * as sql from '../../sql/imports.js';
import { emptyImportCounts, type ImportCounts } from '../../read/resources.js';
import { enqueueEmails } from '../emails.js';
import { addCounts, applyBatch, prepareBatch, type BatchContext, type PreparedBatch, type RowError } from './batch.js';
import { mapHeader } from './format.js';
import { importChunks, importRecords, isBlankRecord, type CsvRecord } from './reader.js';
import { ImportProfile } from './profile.js';

/** A problem no retry can fix (the file or the import is unusable): the processor turns it into UnrecoverableError. */
export class ImportFatalError extends Error {
  override name = 'ImportFatalError';
}

/** Another runner (a stalled job picked up twice) moved the checkpoint: this one stops and leaves it the work. */
class Superseded extends Error {}

export type RunOutcome = 'completed' | 'cancelled' | 'already-finished' | 'superseded' | 'missing';

export interface RunHooks {
  onProgress?(rowsDone: number, rowsTotal: number | null): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Scoped to one agency: projects found by name have no unique index, so two imports of one agency create them one at a time.
const projectLockSql = "select pg_advisory_xact_lock(hashtextextended('onramp:projects:' || $1::text, 0))";

/** Emails are enqueued after the batch commits; a Redis blip is waited out (the outbox sweep is the backstop). */
async function enqueueEmailsPatiently(deps: Deps, ids: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await enqueueEmails(deps, ids);
      return;
    } catch (err) {
      if (attempt >= 30) throw err;
      deps.logger.warn({ err: (err as Error).message, attempt }, 'csv-import: could not enqueue emails yet; retrying');
      await sleep(Math.min(attempt, 5) * 1000);
    }
  }
}

async function countDataRecords(deps: Deps, importId: string): Promise<number> {
  let last = 1;
  for await (const rec of importRecords(importChunks(deps.pool, importId))) last = rec.rowNumber;
  return last - 1;
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
  let rowsTotal = imp.rows_total;
  if (rowsTotal === null) {
    rowsTotal = await profile.time('count rows (first pass)', () => countDataRecords(deps, importId));
    await deps.pool.query(`update imports set rows_total = $2 where id = $1`, [importId, rowsTotal]);
  }
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
    profile,
  };
  const batchSize = deps.config.importBatchSize;
  hooks.onProgress?.(imp.dry_run ? 0 : imp.checkpoint_row, rowsTotal);

  if (imp.dry_run) return runDry(deps, imp, ctx, records, rowsTotal, hooks);

  if (imp.checkpoint_row > 0) {
    // Resuming: the previous runner may have died between a batch's commit and its enqueue. Queue again
    // every email of this import still waiting to be sent; the deterministic job ids make this a no-op
    // for the ones whose jobs exist.
    const { rows } = await deps.pool.query<{ id: string }>(
      `select e.id from events ev join emails e on e.invitation_id = ev.subject_id and e.agency_id = ev.agency_id
        where ev.agency_id = $1 and ev.type = 'invitation.created' and ev.data->>'import_id' = $2 and e.status = 'queued'`,
      [imp.agency_id, importId],
    );
    await enqueueEmailsPatiently(deps, rows.map((r) => r.id));
  }

  let done = imp.checkpoint_row;
  let counts: ImportCounts = addCounts(imp.counts, emptyCounts());
  let emailsInFlight: Promise<void> = Promise.resolve();

  const flush = async (batch: PreparedBatch): Promise<'go' | 'cancelled'> => {
    const upTo = batch.lastRowNumber - 1;
    const expected = done;
    const tTx = performance.now();
    let tBody = 0;
    // synchronous_commit stays on: it costs one WAL flush per batch (thousands of rows), and with it off a
    // PostgreSQL crash could lose a batch whose emails were already queued and sent, with links that no
    // longer exist once the batch is replayed with new tokens.
    const result = await withTransaction(deps.pool, async (rawTx: PoolClient) => {
      const tStart = performance.now();
      const tx = profile.queryable(rawTx);
      const state = await sql.getImportState(tx, importId, true);
      if (!state || state.checkpoint_row !== expected || state.status !== 'running') throw new Superseded();
      await tx.query(projectLockSql, [imp.agency_id]);
      const r = await applyBatch(rawTx, ctx, batch);
      await sql.insertImportErrors(tx, importId, r.errors);
      const next = addCounts(counts, r.counts);
      const { rows } = await tx.query<{ status: string }>(
        `update imports set checkpoint_row = $2, counts = $3,
                status = case when cancel_requested then 'cancelled' else status end,
                finished_at = case when cancel_requested then now() else finished_at end
          where id = $1 returning status`,
        [importId, upTo, JSON.stringify(next)],
      );
      tBody = performance.now() - tStart;
      return { next, emailIds: r.emailIds, cancelled: rows[0]!.status === 'cancelled' };
    });
    profile.add('begin+commit', performance.now() - tTx - tBody);
    profile.endBatch(batch.parsedRows.length);
    done = upTo;
    counts = result.next;
    // Overlap the bulk enqueue of this batch's emails with the next batch's SQL.
    const previous = emailsInFlight;
    emailsInFlight = previous.then(() => profile.time('enqueue emails (overlapped)', () => enqueueEmailsPatiently(deps, result.emailIds)));
    hooks.onProgress?.(done, rowsTotal);
    return result.cancelled ? 'cancelled' : 'go';
  };

  // Rows at or below the checkpoint were committed by an earlier run.
  const resumeFrom = imp.checkpoint_row;
  const readBatch = async (): Promise<PreparedBatch | null> => {
    const recs: CsvRecord[] = [];
    const tRead = performance.now();
    while (recs.length < batchSize) {
      const next = await records.next();
      if (next.done) break;
      if (next.value.rowNumber - 1 > resumeFrom) recs.push(next.value);
    }
    profile.add('read+parse csv', performance.now() - tRead);
    return recs.length ? prepareBatch(ctx, recs) : null;
  };

  // The next batch is read, parsed and validated while the current one's SQL runs (pipelined).
  let upcoming = readBatch();
  try {
    for (;;) {
      const batch = await profile.time('wait for next batch', () => upcoming);
      if (!batch) break;
      upcoming = readBatch();
      // Awaited on the next turn (or in finally); this only keeps a failure from being reported unhandled meanwhile.
      upcoming.catch(() => undefined);
      if ((await flush(batch)) === 'cancelled') {
        await emailsInFlight;
        return 'cancelled';
      }
    }
    await profile.time('wait for email enqueue', () => emailsInFlight);
  } catch (err) {
    await emailsInFlight.catch(() => undefined);
    if (err instanceof Superseded) return 'superseded';
    throw err;
  } finally {
    // Stops the parser and the chunk reads when leaving early (cancelled, superseded, failed).
    await upcoming.catch(() => undefined);
    await records.return(undefined).catch(() => undefined);
  }

  const outcome = await withTransaction(deps.pool, async (tx) => {
    const state = await sql.getImportState(tx, importId, true);
    if (!state || state.status !== 'running') return 'superseded' as const;
    await tx.query(
      `update imports set status = 'completed', finished_at = now(), checkpoint_row = $2, rows_total = $2, counts = $3 where id = $1`,
      [importId, rowsTotal, JSON.stringify(counts)],
    );
    await appendEvent(tx, { agencyId: imp.agency_id, type: 'import.completed', subjectId: importId, actorId: imp.created_by, data: { counts, dry_run: false } });
    // Run state is only needed while running; the outcome lives in counts and import_errors.
    await tx.query('delete from import_keys where import_id = $1', [importId]);
    await tx.query('delete from import_projects where import_id = $1', [importId]);
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
  rowsTotal: number,
  hooks: RunHooks,
): Promise<RunOutcome> {
  const importId = imp.id;
  // A dry run restarts from the top: nothing it did survived.
  await deps.pool.query(`delete from import_errors where import_id = $1`, [importId]);
  await deps.pool.query(`update imports set checkpoint_row = 0, counts = '{}' where id = $1`, [importId]);
  const batchSize = deps.config.importBatchSize;
  let counts = emptyCounts();
  let done = 0;
  const client = await deps.pool.connect();
  let outcome: RunOutcome = 'completed';
  try {
    await client.query('begin');
    await client.query(projectLockSql, [imp.agency_id]);
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
    `update imports set status = $2, finished_at = now(), checkpoint_row = $3, counts = $4 where id = $1`,
    [importId, outcome, outcome === 'completed' ? rowsTotal : done, JSON.stringify(counts)],
  );
  return outcome;
}
