import type { Deps } from '../../context.js';
import { withDiscardedTransaction, withTransaction } from '../../db/pool.js';
import { appendEvent } from '../../sql/events.js';
import { getAgency } from '../../sql/agencies.js';
import * as sql from '../../sql/imports.js';
import { emptyImportCounts, type ImportCounts } from '../../read/resources.js';
import { addCounts, applyBatch, type BatchContext } from './batch.js';
import { mapHeader, parseImportRow, repeatedColumnsMessage } from './format.js';
import { normaliseEmail } from '../inputs.js';
import { PairMap, projectKeyOf } from './keys.js';
import { enqueueEmailsPatiently, PARTITIONS, runLanes } from './lanes.js';
import { importChunks, importRecords, isBlankRecord, type CsvRecord } from './reader.js';
import { ImportProfile } from './profile.js';
import { ImportFatalError } from './errors.js';

export type RunOutcome = 'completed' | 'cancelled' | 'already-finished' | 'superseded' | 'missing';

export interface RunHooks {
  onProgress?(rowsDone: number, rowsTotal: number | null): void;
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
    await sql.markImportCancelled(deps.pool, importId);
    return 'cancelled';
  }
  if (!imp.sha256) throw new ImportFatalError('the upload did not finish; upload the file again');
  const agency = await getAgency(deps.pool, imp.agency_id);
  if (!agency) throw new ImportFatalError('the agency no longer exists');

  const profile = new ImportProfile(deps.config.importProfile);
  const runStarted = performance.now();
  // Counted by the upload as the file came in: progress only. The total an import completes with is the
  // number of records this run read.
  const rowsTotal = imp.rows_total;
  await sql.markImportRunning(deps.pool, importId);

  const records = importRecords(importChunks(deps.pool, importId));
  try {
    // The header is the first record that is not blank, as the upload's check found it.
    let first = await records.next();
    while (!first.done && isBlankRecord(first.value.values)) first = await records.next();
    if (first.done) throw new ImportFatalError('the file is empty');
    const { map, missing, repeated } = mapHeader(first.value.values);
    if (missing.length) throw new ImportFatalError(`missing required column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
    if (repeated.length) throw new ImportFatalError(repeatedColumnsMessage(repeated));

    const ctx: BatchContext & { profile: ImportProfile } = {
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
    hooks.onProgress?.(imp.dry_run ? 0 : imp.checkpoint_row, rowsTotal);

    if (imp.dry_run) return await runDry(deps, imp, ctx, records, rowsTotal, hooks);

    // The lanes of this import: fixed by its first run, so a resume routes every row to the same lane.
    let lanes = await sql.getImportLanes(deps.pool, importId);
    if (lanes.length > 0) {
      // The previous runner may have died between a batch's commit and its enqueue. Queue again every email
      // of this import still waiting to be sent; the deterministic job ids make this a no-op for the ones
      // whose jobs exist.
      await enqueueEmailsPatiently(deps, await sql.findQueuedEmailsOfImport(deps.pool, imp.agency_id, importId), `${importId}-resume-${Date.now()}`);
    } else lanes = await sql.createImportLanes(deps.pool, importId, deps.config.importLanes);

    const ran = await runLanes(deps, { ctx, lanes, records, rowsDone: imp.checkpoint_row, rowsTotal, onProgress: hooks.onProgress });
    if (ran !== 'done') return ran;
    await resolveDuplicateOrigins(deps, importId, map);

    const outcome = await withTransaction(deps.pool, async (tx) => {
      const state = await sql.getImportState(tx, importId, true);
      if (!state || state.status !== 'running') return 'superseded' as const;
      // Every lane added its batches' counts to the row in the batch's own transaction.
      const counts = addCounts(state.counts, emptyImportCounts());
      // The total it completes with is the data rows it read (blank lines, which the upload's count for
      // progress includes, are not rows): rows_done = rows_total = counts.rows.
      await sql.completeImport(tx, importId, counts.rows, counts);
      await appendEvent(tx, {
        agencyId: imp.agency_id,
        type: 'import.completed',
        subjectId: importId,
        actorId: imp.created_by,
        data: { counts, dry_run: false },
      });
      return 'completed' as const;
    });
    profile.endRun(performance.now() - runStarted);
    return outcome;
  } finally {
    // Stops the parser and the chunk reads when leaving early (cancelled, superseded, failed).
    await records.return(undefined).catch(() => undefined);
  }
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
  await sql.resetDryRun(deps.pool, importId);
  const batchSize = deps.config.importBatchSize;
  let counts = emptyCounts();
  let outcome: 'completed' | 'cancelled' = 'completed';
  await withDiscardedTransaction(deps.pool, async (client) => {
    await sql.lockProjectPartitions(client, imp.agency_id, [...Array(PARTITIONS).keys()]);
    let batch: CsvRecord[] = [];
    const flush = async (): Promise<boolean> => {
      const r = await applyBatch(client, ctx, batch);
      counts = addCounts(counts, r.counts);
      batch = [];
      // Errors, duplicates and progress go through the pool: they must outlive the rollback.
      await sql.insertImportErrors(deps.pool, importId, r.errors);
      await sql.insertImportDuplicates(deps.pool, importId, r.duplicates);
      // Progress in data rows, as a real run's (commitLaneBatch).
      const cancel = await sql.recordDryRunProgress(deps.pool, importId, counts.rows, counts);
      hooks.onProgress?.(counts.rows, rowsTotal);
      return cancel;
    };
    for await (const rec of records) {
      if (isBlankRecord(rec.values)) continue;
      batch.push(rec);
      if (batch.length >= batchSize && (await flush())) {
        outcome = 'cancelled';
        break;
      }
    }
    if (outcome === 'completed' && batch.length) {
      if (await flush()) outcome = 'cancelled';
    }
  });
  if (outcome === 'completed') await resolveDuplicateOrigins(deps, importId, ctx.header);
  await sql.finishDryRun(deps.pool, importId, outcome, counts.rows, counts);
  return outcome;
}

/**
 * duplicates.csv names the row each duplicate repeats. A batch knows it when both rows are in the batch;
 * for a repeat of a row an earlier batch applied, it is found here, once the run is over, by one more pass
 * over the file that keeps only the pairs still open (so nothing of the kind is held while the import runs,
 * and an import without such repeats never reads its file twice). The row repeated is the first row of the
 * pair the import applied: neither an error row nor a duplicate.
 */
async function resolveDuplicateOrigins(deps: Deps, importId: string, headerMap: BatchContext['header']): Promise<void> {
  const open = await sql.findUnresolvedDuplicates(deps.pool, importId);
  if (open.length === 0) return;
  /** The first applied row of each open pair; null while not found. */
  const origin = new PairMap<number | null>();
  for (const d of open) origin.set(d.project_key, d.email_normalized, null);
  const notApplied = new Set(await sql.findUnappliedRowNumbers(deps.pool, importId));
  const lastOpen = open[open.length - 1]!.row_number;
  const records = importRecords(importChunks(deps.pool, importId));
  try {
    let atHeader = true;
    for await (const rec of records) {
      if (rec.rowNumber >= lastOpen) break;
      if (isBlankRecord(rec.values)) continue;
      if (atHeader) {
        atHeader = false;
        continue;
      }
      if (notApplied.has(rec.rowNumber)) continue;
      const parsed = parseImportRow(rec.values, headerMap);
      if (!parsed.ok) continue;
      const key = projectKeyOf(parsed.row);
      const email = normaliseEmail(parsed.row.email);
      if (origin.has(key, email) && origin.get(key, email) === null) origin.set(key, email, rec.rowNumber);
    }
  } finally {
    await records.return(undefined).catch(() => undefined);
  }
  const resolved = open.flatMap((d) => {
    const row = origin.get(d.project_key, d.email_normalized);
    return row != null && row < d.row_number ? [{ row: d.row_number, origin: row }] : [];
  });
  await sql.setDuplicateOrigins(
    deps.pool,
    importId,
    resolved.map((r) => r.row),
    resolved.map((r) => r.origin),
  );
}
