import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Deps } from '../../context.js';
import { AppError, notFound } from '../../errors/AppError.js';
import { getImportRow, toImportJson } from '../../read/imports.js';
import { decodeCursor, toPage, type Page } from '../../read/pagination.js';
import type { ImportJson } from '../../read/resources.js';
import * as sql from '../../sql/imports.js';
import type { Principal } from '../apiKeys.js';
import { requireInviter } from '../invitations.js';
import { csvLine, mapHeader, neutraliseCell, repeatedColumnsMessage, rowObject, TextCheck, type HeaderMap } from './format.js';
import { suggestEmailCorrection } from '../emailTypos.js';
import { importChunks, importRecords, isBlankRecord, RecordCounter } from './reader.js';

const CHUNK_BYTES = 1024 * 1024;

const boolish = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
  .transform((v) => (typeof v === 'boolean' ? v : ['true', '1', 'yes', 'on'].includes(v)));

/** Options of an upload, from the query string or multipart form fields. */
export const importOptionsSchema = z.object({
  dry_run: boolish.default(false),
  send_emails: boolish.default(true),
  default_template: z.string().trim().min(1).max(200).optional(),
  filename: z.string().trim().min(1).max(255).optional(),
});
export type ImportOptions = z.output<typeof importOptionsSchema>;

const invalidFile = (message: string) =>
  new AppError('validation_failed', 'The file cannot be imported', { detail: message, errors: [{ field: 'file', message }] });

/**
 * Stores an upload into import_chunks as it arrives (about 1 MB per row; sha256 and size computed on the
 * way; the size limit enforced while streaming), checks it is a CSV Onramp can read, then queues the
 * `csv-import` job. Nothing of a rejected upload remains.
 */
export async function createImport(
  deps: Deps,
  principal: Principal,
  file: AsyncIterable<Buffer> | Readable,
  options: () => ImportOptions,
): Promise<ImportJson> {
  // An import creates projects and invites clients as its uploader, so it needs the inviter's role.
  requireInviter(principal, 'import CSV files');
  const initial = options();
  const { id } = await sql.insertImport(deps.pool, {
    agencyId: principal.agencyId,
    createdBy: principal.userId,
    filename: initial.filename ?? null,
    dryRun: initial.dry_run,
    sendEmails: initial.send_emails,
    defaultTemplate: initial.default_template ?? null,
  });
  // One chunk is written while the next one arrives; at most two are held.
  let writing: Promise<void> = Promise.resolve();
  try {
    const hash = createHash('sha256');
    const check = new TextCheck();
    // The total for progress, counted on the way in: the worker then needs no second pass over the file.
    const counter = new RecordCounter();
    let size = 0;
    let chunkNo = 0;
    let parts: Buffer[] = [];
    let pending = 0;
    const max = deps.config.importMaxBytes;
    const flush = async () => {
      if (pending === 0) return;
      const data = Buffer.concat(parts, pending);
      parts = [];
      pending = 0;
      await writing;
      writing = sql.insertChunk(deps.pool, id, chunkNo++, data);
      // Awaited by the next flush or after the last chunk; this only keeps a failure from being reported unhandled meanwhile.
      writing.catch(() => undefined);
    };
    for await (const piece of file as AsyncIterable<Buffer>) {
      const buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as string);
      size += buf.length;
      if (size > max) {
        throw new AppError('payload_too_large', 'File too large', {
          detail: `The file is larger than ${max} bytes (IMPORT_MAX_BYTES). Split it into smaller files.`,
          errors: [{ field: 'file', message: `must be at most ${max} bytes` }],
        });
      }
      hash.update(buf);
      check.push(buf);
      if (check.problem) throw invalidFile(check.problem);
      counter.push(buf);
      if (counter.problem) throw invalidFile(counter.problem);
      parts.push(buf);
      pending += buf.length;
      if (pending >= CHUNK_BYTES) await flush();
    }
    await flush();
    await writing;
    check.end();
    if (check.problem) throw invalidFile(check.problem);
    const opts = options();
    await precheck(deps, principal, id, size, opts);
    await sql.finishUpload(deps.pool, id, {
      sizeBytes: size,
      sha256: hash.digest('hex'),
      filename: opts.filename ?? initial.filename ?? null,
      dryRun: opts.dry_run,
      sendEmails: opts.send_emails,
      defaultTemplate: opts.default_template ?? null,
      rowsTotal: counter.end(),
    });
    await deps.jobs.enqueue('csv-import', { importId: id }, { jobId: `csv-import-${id}` });
  } catch (err) {
    // Let a chunk still being written land first, so the delete takes it with the rest.
    await writing.catch(() => undefined);
    await sql.deleteImport(deps.pool, principal.agencyId, id).catch(() => undefined);
    throw err;
  }
  return (await getImport(deps, principal.agencyId, id))!;
}

/** Empty, header-only, missing columns and an unknown default template are refused before any work. */
async function precheck(deps: Deps, principal: Principal, id: string, size: number, opts: ImportOptions): Promise<void> {
  if (size === 0) throw invalidFile('the file is empty');
  let header: string[] | null = null;
  let hasData = false;
  for await (const rec of importRecords(importChunks(deps.pool, id))) {
    if (header === null) {
      if (isBlankRecord(rec.values)) continue;
      header = rec.values;
      continue;
    }
    if (!isBlankRecord(rec.values)) {
      hasData = true;
      break;
    }
  }
  if (header === null) throw invalidFile('the file is empty');
  const { missing, repeated } = mapHeader(header);
  if (missing.length) {
    const found = header.map((h) => h.trim()).filter(Boolean);
    throw new AppError('validation_failed', 'The file cannot be imported', {
      detail: `missing required column${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}; found columns: ${found.length ? found.slice(0, 50).join(', ') : '(none)'}`,
      errors: missing.map((m) => ({ field: `file.columns.${m}`, message: 'is required' })),
      extra: { missing_columns: missing, found_columns: found.slice(0, 200) },
    });
  }
  if (repeated.length) {
    const detail = repeatedColumnsMessage(repeated);
    throw new AppError('validation_failed', 'The file cannot be imported', {
      detail,
      errors: repeated.map((r) => ({
        field: `file.columns.${r.field}`,
        message: `is named by more than one column: ${r.columns.map((c) => `"${c}"`).join(', ')}`,
      })),
      extra: { repeated_columns: repeated },
    });
  }
  if (!hasData) throw invalidFile('the file has a header row but no data rows');
  if (opts.default_template) {
    const t = await sql.findTemplatesByName(deps.pool, principal.agencyId, [opts.default_template.toLowerCase()]);
    if (t.length === 0) {
      throw new AppError('validation_failed', 'Validation failed', {
        detail: `default_template: no template named "${opts.default_template}"`,
        errors: [{ field: 'default_template', message: `no template named "${opts.default_template}"` }],
      });
    }
  }
  await sql.setImportColumns(deps.pool, id, header);
}

export async function getImport(deps: Deps, agencyId: string, id: string): Promise<ImportJson | null> {
  if (!z.uuid().safeParse(id).success) return null;
  const row = await getImportRow(deps.pool, agencyId, id);
  return row ? toImportJson(row, deps.config.publicBaseUrl) : null;
}

export async function listImports(deps: Deps, agencyId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<ImportJson>> {
  const after = decodeCursor(page.cursor);
  const rows = await sql.pageImports(deps.pool, agencyId, after, page.limit + 1);
  return toPage(rows, page.limit, (r) => toImportJson(r, deps.config.publicBaseUrl));
}

/** Stops after the batch in progress (a queued import never starts). Finished imports cannot be cancelled. */
export async function cancelImport(deps: Deps, principal: Principal, id: string): Promise<ImportJson> {
  requireInviter(principal, 'cancel imports');
  const agencyId = principal.agencyId;
  const current = await getImport(deps, agencyId, id);
  if (!current) throw notFound('Import');
  if (current.status === 'queued' || current.status === 'running') {
    await sql.requestCancel(deps.pool, agencyId, id);
    return (await getImport(deps, agencyId, id))!;
  }
  if (current.status === 'cancelled') return current;
  throw new AppError('conflict', 'Import already finished', { detail: `The import is ${current.status}; only a queued or running import can be cancelled.` });
}

/**
 * The bad rows as CSV, ready to fix and re-upload: the original columns plus `row_number` and `error`
 * first; every cell neutralised against spreadsheet formula injection. Streamed page by page.
 */
export async function* importErrorsCsv(deps: Deps, agencyId: string, id: string): AsyncGenerator<string> {
  const found = await sql.getImportColumns(deps.pool, agencyId, id);
  if (!found) throw notFound('Import');
  const columns = found.columns ?? [];
  yield '\uFEFF' + csvLine(['row_number', 'error', ...columns].map(neutraliseCell));
  let after = 0;
  for (;;) {
    const page = await sql.pageImportErrors(deps.pool, id, after, 1000);
    if (page.length === 0) return;
    let out = '';
    for (const r of page) out += csvLine([String(r.row_number), r.error, ...r.values].map(neutraliseCell));
    yield out;
    after = page[page.length - 1]!.row_number;
  }
}

/**
 * The duplicate rows as CSV: `row_number`, `duplicate_of_row` (the applied row it repeats; empty when no
 * row of the file put that project + email there, see docs/imports.md), then the original columns; every
 * cell neutralised against spreadsheet formula injection. Streamed page by page.
 */
export async function* importDuplicatesCsv(deps: Deps, agencyId: string, id: string): AsyncGenerator<string> {
  const found = await sql.getImportColumns(deps.pool, agencyId, id);
  if (!found) throw notFound('Import');
  const columns = found.columns ?? [];
  yield '\uFEFF' + csvLine(['row_number', 'duplicate_of_row', ...columns].map(neutraliseCell));
  let after = 0;
  for (;;) {
    const page = await sql.pageImportDuplicates(deps.pool, id, after, 1000);
    if (page.length === 0) return;
    let out = '';
    for (const r of page) out += csvLine([String(r.row_number), r.duplicate_of === null ? '' : String(r.duplicate_of), ...r.values].map(neutraliseCell));
    yield out;
    after = page[page.length - 1]!.row_number;
  }
}

/**
 * Warnings, not errors: rows whose email looks like a typo of a common mail domain ("ana@gmial.com"), with
 * the likely address. The row was imported as written (a warning never refuses a row); this file says which
 * addresses to check. Derived at download time from the stored file with the import's own reader (the same
 * row numbers as errors.csv), so it costs the import nothing. Columns: `row_number`, `field`, `value`,
 * `suggestion`; every cell neutralised against spreadsheet formula injection.
 */
export async function* importWarningsCsv(deps: Deps, agencyId: string, id: string): AsyncGenerator<string> {
  const found = await sql.getImportColumns(deps.pool, agencyId, id);
  if (!found) throw notFound('Import');
  yield '\uFEFF' + csvLine(['row_number', 'field', 'value', 'suggestion'].map(neutraliseCell));
  let map: HeaderMap | null = null;
  let out = '';
  for await (const record of importRecords(importChunks(deps.pool, id))) {
    if (!map) {
      map = mapHeader(record.values).map;
      continue;
    }
    if (isBlankRecord(record.values)) continue;
    const email = rowObject(record.values, map).email.trim();
    const suggestion = suggestEmailCorrection(email);
    if (suggestion) out += csvLine([String(record.rowNumber), 'email', email, suggestion].map(neutraliseCell));
    if (out.length > 64 * 1024) {
      yield out;
      out = '';
    }
  }
  if (out) yield out;
}

/** A run that failed for good (the file is unusable, or the last attempt failed): failed, saying why. */
export async function failImport(deps: Pick<Deps, 'pool'>, importId: string, reason: string): Promise<void> {
  await sql.markImportFailed(deps.pool, importId, reason);
}
