import type { Queryable } from '../../db/pool.js';
import { newInvitationTokens } from '../invitations.js';
import { emptyImportCounts, type ImportCounts } from '../../read/resources.js';
import { withArrayLiterals } from '../../sql/arrays.js';
import * as sql from '../../sql/imports.js';
import { isBlankRecord, type CsvRecord } from './reader.js';
import { noProfile, type ImportProfile } from './profile.js';
import { parseImportRow, type HeaderMap, type ImportRow } from './format.js';
import {
  dropDuplicates,
  lockReferences,
  planProjects,
  resolveTemplates,
  screenClients,
  taskIdsOf,
  writeAssignments,
  writeClients,
  writeInvitations,
  writeProjects,
  type Applied,
  type StepContext,
} from './steps.js';

export interface BatchContext extends StepContext {
  defaultTemplate: string | null;
  header: HeaderMap;
  /** Foreign keys checked once per parent by lockReferences rather than by a trigger per row written. */
  checkReferencesBySet: boolean;
  profile?: ImportProfile;
}

interface RowError {
  rowNumber: number;
  values: string[];
  error: string;
}

export interface BatchResult {
  counts: ImportCounts;
  errors: RowError[];
  duplicates: sql.DuplicateRow[];
  emailIds: string[];
}

/** A record the runner already parsed to route it to a lane: the batch does not parse it again. */
export interface RoutedRecord extends CsvRecord {
  parsed?: ReturnType<typeof parseImportRow>;
}

/** A batch after the checks that need no database: ready for applyBatch. */
export interface PreparedBatch {
  /** Record number of the batch's last record (blank or not): the checkpoint after it commits. */
  lastRowNumber: number;
  counts: ImportCounts;
  errors: RowError[];
  parsedRows: Array<{ rec: CsvRecord; row: ImportRow; templateName: string | null }>;
  /** One invitation token (hash and ciphertext) per parsed row, drawn from as invitations are made. */
  tokens: Array<{ hash: Buffer; ciphertext: Buffer }>;
}

// Lets I/O callbacks (a batch's SQL results, the email enqueue) run between slices of CPU work.
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));
const SLICE = 250;

/**
 * Step 0 of a batch, which needs no database: the shape of each row (the zod schema shared with the API
 * rules) and its invitation token. The runner does this for the next batch while the current one's SQL
 * runs, in slices so the current batch's results are not kept waiting.
 */
export async function prepareBatch(ctx: Pick<BatchContext, 'appSecret' | 'header' | 'defaultTemplate'>, records: CsvRecord[]): Promise<PreparedBatch> {
  const counts = emptyImportCounts();
  const errors: RowError[] = [];
  const parsedRows: PreparedBatch['parsedRows'] = [];
  for (let i = 0; i < records.length; i++) {
    if (i % SLICE === SLICE - 1) await yieldToIo();
    const rec = records[i]!;
    if (isBlankRecord(rec.values)) continue;
    counts.rows++;
    const parsed = (rec as RoutedRecord).parsed ?? parseImportRow(rec.values, ctx.header);
    if (!parsed.ok) errors.push({ rowNumber: rec.rowNumber, values: rec.values, error: parsed.error });
    else parsedRows.push({ rec, row: parsed.row, templateName: parsed.row.template ?? ctx.defaultTemplate });
  }
  const tokens: PreparedBatch['tokens'] = [];
  // Most rows of an import become invitations; the few tokens left unused by a batch are just dropped.
  for (let i = 0; i < parsedRows.length; i += SLICE) {
    if (i > 0) await yieldToIo();
    tokens.push(...newInvitationTokens(ctx.appSecret, Math.min(SLICE, parsedRows.length - i)));
  }
  return { lastRowNumber: records[records.length - 1]!.rowNumber, counts, errors, parsedRows, tokens };
}

/**
 * Applies one batch of rows with the rules of Create Project and the invite API, set-based: a fixed number
 * of statements per batch whatever its size (the steps are in steps.ts). Every row of the batch ends up in
 * exactly one place: applied (counted invited, already invited, added or already a member), a duplicate,
 * or an error row.
 */
export async function applyBatch(rawDb: Queryable, ctx: BatchContext, batch: CsvRecord[] | PreparedBatch): Promise<BatchResult> {
  const profile = ctx.profile ?? noProfile;
  const db = profile.explaining(withArrayLiterals(rawDb));
  const prepared = Array.isArray(batch) ? await prepareBatch(ctx, batch) : batch;
  const counts = { ...prepared.counts };
  const errors: RowError[] = [...prepared.errors];
  const fail = (rec: CsvRecord, error: string) => errors.push({ rowNumber: rec.rowNumber, values: rec.values, error });

  // Decide: every row-level problem is found before anything is written.
  const candidates = await profile.phase('resolve templates', () => resolveTemplates(db, ctx, prepared.parsedRows, fail));
  const screened = await profile.phase('screen clients', () => screenClients(db, ctx, candidates, fail));
  const plans = await profile.phase('plan projects', () => planProjects(db, ctx, screened.candidates));
  const { applied, duplicates, repeatsWithTasks } = await profile.phase('drop duplicates', () =>
    dropDuplicates(db, ctx, screened.candidates, plans, screened.existing, fail),
  );
  counts.errors = errors.length;
  counts.duplicates += duplicates.length;
  if (applied.length === 0 && repeatsWithTasks.length === 0) return { counts, errors, duplicates, emailIds: [] };

  // Write: projects, clients, invitations and memberships, assignments; then hold what the batch refers to.
  if (ctx.checkReferencesBySet) await sql.checkReferencesBySet(db);
  const projects = await profile.phase('write projects', () => writeProjects(db, ctx, plans));
  const rowTaskIds = new Map<Applied, string[]>(applied.map((a) => [a, taskIdsOf(a.plan, a.row.tasks)]));
  const clientIds = await profile.phase('write clients', () => writeClients(db, ctx, applied, screened.existing));
  const brought = await profile.phase('write invitations', () => writeInvitations(db, ctx, applied, screened.existing, clientIds, rowTaskIds, prepared.tokens));
  const assigned = await profile.phase('write assignments', () => writeAssignments(db, ctx, applied, repeatsWithTasks, clientIds, rowTaskIds, brought));
  if (ctx.checkReferencesBySet) await profile.phase('lock references', () => lockReferences(db, ctx, plans, applied, repeatsWithTasks, clientIds, rowTaskIds));

  counts.projects_created += projects.projects_created;
  counts.projects_reused += projects.projects_reused;
  counts.clients_invited += brought.counts.clients_invited;
  counts.already_invited += brought.counts.already_invited;
  counts.clients_added += brought.counts.clients_added;
  counts.already_members += brought.counts.already_members;
  counts.assignments += brought.counts.assignments + assigned;
  return { counts, errors, duplicates, emailIds: brought.emailIds };
}

export function addCounts(a: Partial<ImportCounts>, b: ImportCounts): ImportCounts {
  const out = emptyImportCounts();
  for (const k of Object.keys(out) as Array<keyof ImportCounts>) out[k] = (a[k] ?? 0) + b[k];
  return out;
}
