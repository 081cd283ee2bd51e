import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import busboy from 'busboy';
import { z } from 'zod';
import {
  AppError,
  cancelImport,
  createImport,
  getImport,
  importErrorsCsv,
  importDuplicatesCsv,
  importJson,
  importOptionsSchema,
  importTemplateCsv,
  listImports,
  notFound,
  pageQuery,
  pageSchema,
  parseOrThrow,
  type Deps,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const idParams = z.object({ id: z.uuid('must be an import id') });
const uploadQuery = z.object({
  dry_run: z.string().optional(),
  send_emails: z.string().optional(),
  default_template: z.string().optional(),
  filename: z.string().optional(),
});

type ImportOptions = ReturnType<typeof parseImportOptions>;
const parseImportOptions = (input: Record<string, unknown>) => parseOrThrow(importOptionsSchema, input);
/** What is done with the file: createImport on a first request, only hashing on a repeated Idempotency-Key. */
type UploadSink<T> = (file: AsyncIterable<Buffer>, options: () => ImportOptions) => Promise<T>;

/**
 * The file's bytes pass through a SHA-256 on their way to the sink; with the options they were read with,
 * that is what an Idempotency-Key is bound to (the same file and options again is a replay).
 */
async function readUpload<T>(deps: Deps, req: Request, sink: UploadSink<T>): Promise<{ value: T; digest: string }> {
  const hash = createHash('sha256');
  let resolved: ImportOptions | undefined;
  const value = await upload(deps, req, (file, options) =>
    sink(
      (async function* () {
        for await (const chunk of file) {
          hash.update(chunk);
          yield chunk;
        }
      })(),
      () => (resolved = options()),
    ),
  );
  return { value, digest: `${hash.digest('hex')}:${JSON.stringify(resolved ?? null)}` };
}

/** Reads a repeated upload to the end for its digest; nothing is stored. */
const digestOnly: UploadSink<void> = async (file, options) => {
  for await (const _chunk of file) void _chunk;
  options();
};

/** The upload is read as a stream in both forms: a `text/csv` body, or the `file` part of multipart/form-data. */
async function upload<T>(deps: Deps, req: Request, sink: UploadSink<T>): Promise<T> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  const max = deps.config.importMaxBytes;
  const tooLarge = () =>
    new AppError('payload_too_large', 'File too large', {
      detail: `The file is larger than ${max} bytes (IMPORT_MAX_BYTES). Split it into smaller files.`,
      errors: [{ field: 'file', message: `must be at most ${max} bytes` }],
    });
  const query = req.query as Record<string, unknown>;
  const options = (extra: Record<string, unknown>) => () => parseImportOptions({ ...query, ...extra });
  options({})();

  if (req.is('multipart/form-data')) {
    // Multipart framing adds a little; the exact limit is enforced on the file bytes while streaming.
    if (declared > max + 64 * 1024) throw tooLarge();
    const fields: Record<string, string> = {};
    // A form busboy cannot read (no boundary, no parts, cut short) is the client's error, named as such.
    const malformed = (err: unknown) =>
      new AppError('bad_request', 'Malformed multipart/form-data', {
        detail: `The multipart/form-data body could not be read (${(err as Error).message}). Send the CSV as the field \`file\`.`,
        errors: [{ field: 'file', message: 'is not a readable multipart/form-data part' }],
      });
    let bb: ReturnType<typeof busboy>;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 4096 } });
    } catch (err) {
      throw malformed(err);
    }
    const closed = new Promise<void>((resolve, reject) => {
      bb.on('close', resolve);
      bb.on('error', (err) => reject(malformed(err)));
    });
    const file = await new Promise<{ stream: NodeJS.ReadableStream; filename: string } | null>((resolve, reject) => {
      bb.on('field', (name, value) => {
        if (['dry_run', 'send_emails', 'default_template', 'filename'].includes(name)) fields[name] = value;
      });
      bb.on('file', (name, stream, info) => {
        if (name !== 'file') {
          stream.resume();
          return;
        }
        // Its errors (a form cut short) reach the reader below; without a listener they would crash the process.
        stream.on('error', () => undefined);
        resolve({ stream, filename: info.filename ?? "" });
      });
      closed.then(() => resolve(null), reject);
      req.pipe(bb);
    });
    if (!file) {
      throw new AppError('validation_failed', 'Validation failed', {
        detail: 'Send the CSV as the multipart field `file`.',
        errors: [{ field: 'file', message: 'is required' }],
      });
    }
    try {
      const body = (async function* () {
        try {
          for await (const chunk of file.stream as AsyncIterable<Buffer>) yield chunk;
        } catch (err) {
          throw malformed(err);
        }
        // Fields sent after the file are only known once the whole form is read.
        await closed;
      })();
      return await sink(body, options({ ...(file.filename ? { filename: file.filename } : {}), ...fields }));
    } catch (err) {
      req.unpipe(bb);
      file.stream.resume();
      throw err;
    }
  }
  if (req.is(['text/csv', 'text/plain', 'application/csv', 'application/octet-stream'])) {
    if (declared > max) throw tooLarge();
    return sink(req, options({}));
  }
  throw new AppError('unsupported_media_type', 'Unsupported media type', {
    detail: `Send the CSV as multipart/form-data (field \`file\`) or as a text/csv body (got ${req.headers['content-type'] ?? 'no content type'}).`,
  });
}

/** A refused upload's remaining bytes are read and dropped, and the connection closed, so the client sees the answer. */
function discardBody(req: Request, res: Response): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  req.unpipe();
  req.resume();
}

export const importRoutes = [
  defineRoute({
    method: 'get',
    path: '/imports/template.csv',
    summary: 'Download the CSV import template',
    description: 'The header row and two example rows. Column names are matched without case, spaces or underscores.',
    tags: ['Imports'],
    responses: { 200: { description: 'The template', schema: z.string(), contentType: 'text/csv' } },
    async handler() {
      return {
        status: 200,
        contentType: 'text/csv; charset=utf-8',
        headers: { 'Content-Disposition': 'attachment; filename="onramp-import-template.csv"' },
        body: importTemplateCsv,
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/imports',
    summary: 'Upload a CSV to import projects, clients and task assignments',
    description:
      'The file as multipart/form-data (field `file`) or a text/csv body; options `dry_run`, `send_emails` (default true), `default_template` as query or form fields. Answers 202 at once; poll GET /v1/imports/{id}.',
    tags: ['Imports'],
    rawBody: true,
    query: uploadQuery,
    body: z.object({ file: z.string().describe('The CSV file: a header row (see GET /v1/imports/template.csv), then one row per client to invite') }),
    bodyContentTypes: ['multipart/form-data', 'text/csv'],
    file: { field: 'file', contentType: 'text/csv' },
    responses: { 202: { description: 'Accepted; the import runs in the background', schema: importJson } },
    async replayDigest(req, deps) {
      return (await readUpload(deps, req, digestOnly)).digest;
    },
    async handler({ deps, principal, req, res }) {
      let created;
      try {
        created = await readUpload(deps, req, (file, options) => createImport(deps, principal, file, options));
      } catch (err) {
        discardBody(req, res);
        throw err;
      }
      return { status: 202, body: created.value, headers: { Location: `/v1/imports/${created.value.id}` }, requestDigest: created.digest };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports',
    summary: 'List imports, newest first',
    tags: ['Imports'],
    query: pageQuery,
    responses: { 200: { description: 'A page of imports', schema: pageSchema(importJson) } },
    async handler({ deps, principal, query }) {
      return { status: 200, body: await listImports(deps, principal.agencyId, query) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id',
    summary: 'Status, progress and counts of an import',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'The import', schema: importJson } },
    async handler({ deps, principal, params }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      return { status: 200, body: found };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/imports/:id/cancel',
    summary: 'Cancel an import (it stops after the batch in progress)',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'The import', schema: importJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await cancelImport(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id/errors.csv',
    summary: 'The rows that could not be imported, with row_number and error',
    description: 'Fix them and upload this file again: the row_number and error columns are ignored on upload.',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'CSV', schema: z.string(), contentType: 'text/csv' } },
    async handler({ deps, principal, params, res }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      const chunks = importErrorsCsv(deps, principal.agencyId, params.id);
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="import-${params.id}-errors.csv"`);
      // Streamed page by page: an import with 100k bad rows is never one string.
      for await (const chunk of chunks) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return { status: 200 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/imports/:id/duplicates.csv',
    summary: 'The rows skipped as duplicates, with row_number and the row each repeats',
    description:
      'A row with the same project and email (lower-cased) as an earlier applied row of the import. Columns: `row_number`, `duplicate_of_row` (empty when the pair was put there by an invitation made outside the file while the import ran), then the original columns. Every data row of a file is imported, in errors.csv, or here.',
    tags: ['Imports'],
    params: idParams,
    responses: { 200: { description: 'CSV', schema: z.string(), contentType: 'text/csv' } },
    async handler({ deps, principal, params, res }) {
      const found = await getImport(deps, principal.agencyId, params.id);
      if (!found) throw notFound('Import');
      const chunks = importDuplicatesCsv(deps, principal.agencyId, params.id);
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="import-${params.id}-duplicates.csv"`);
      for await (const chunk of chunks) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return { status: 200 };
    },
  }),
];
