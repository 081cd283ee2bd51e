import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import busboy from 'busboy';
import { AppError, importOptionsSchema, parseOrThrow, type Deps } from '@onramp/core';

/**
 * Reading a CSV upload as a stream, shared by POST /v1/imports and the console's upload form, so both hand
 * createImport the same bytes under the same limits and refusals.
 */
type ImportOptions = ReturnType<typeof parseImportOptions>;
const parseImportOptions = (input: Record<string, unknown>) => parseOrThrow(importOptionsSchema, input);
/** What is done with the file: createImport on a first request, only hashing on a repeated Idempotency-Key. */
export type UploadSink<T> = (file: AsyncIterable<Buffer>, options: () => ImportOptions) => Promise<T>;

/**
 * The file's bytes pass through a SHA-256 on their way to the sink; with the options they were read with,
 * that is what an Idempotency-Key is bound to (the same file and options again is a replay).
 */
export async function readUpload<T>(deps: Deps, req: Request, sink: UploadSink<T>): Promise<{ value: T; digest: string }> {
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
export const digestOnly: UploadSink<void> = async (file, options) => {
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
  // The form fields are read when the options are asked for, not when the file starts: `curl -F file=@x
  // -F dry_run=true` (and a browser form whose options follow the file input) sends them after the file.
  const options = (extra: () => Record<string, unknown>) => () => parseImportOptions({ ...query, ...extra() });
  options(() => ({}))();

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
    // Settled by the reader below; until then a rejection (a form cut short) must not be unhandled.
    closed.catch(() => undefined);
    const file = await new Promise<{ stream: NodeJS.ReadableStream; filename: string } | null>((resolve, reject) => {
      bb.on('field', (name, value) => {
        // An empty field is an unset option (an HTML form's "no template" choice sends one).
        if (['dry_run', 'send_emails', 'default_template', 'filename'].includes(name) && value.trim() !== '') fields[name] = value;
      });
      bb.on('file', (name, stream, info) => {
        if (name !== 'file') {
          stream.resume();
          return;
        }
        // Its errors (a form cut short) reach the reader below; without a listener they would crash the process.
        stream.on('error', () => undefined);
        resolve({ stream, filename: info.filename ?? '' });
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
      return await sink(
        body,
        options(() => ({ ...(file.filename ? { filename: file.filename } : {}), ...fields })),
      );
    } catch (err) {
      req.unpipe(bb);
      file.stream.resume();
      throw err;
    }
  }
  if (req.is(['text/csv', 'text/plain', 'application/csv', 'application/octet-stream'])) {
    if (declared > max) throw tooLarge();
    return sink(
      req,
      options(() => ({})),
    );
  }
  throw new AppError('unsupported_media_type', 'Unsupported media type', {
    detail: `Send the CSV as multipart/form-data (field \`file\`) or as a text/csv body (got ${req.headers['content-type'] ?? 'no content type'}).`,
  });
}

/** A refused upload's remaining bytes are read and dropped, and the connection closed, so the client sees the answer. */
export function discardBody(req: Request, res: Response): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
  req.unpipe();
  req.resume();
}
