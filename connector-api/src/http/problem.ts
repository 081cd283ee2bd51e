import type { NextFunction, Request, Response } from 'express';
import { AppError, type ErrorCode, type Logger } from '@onramp/core';

/** The one place an error code becomes an HTTP status. */
export const statusByCode: Record<ErrorCode, number> = {
  bad_request: 400,
  malformed_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  client_deactivated: 409,
  email_belongs_to_firm_user: 409,
  email_belongs_to_client: 409,
  invitation_not_pending: 409,
  idempotency_key_in_use: 409,
  gone: 410,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  validation_failed: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  errors?: Array<{ field: string; message: string }>;
  request_id?: string;
  [extra: string]: unknown;
}

export function toProblem(err: AppError, requestId?: string, instance?: string): ProblemDocument {
  const status = statusByCode[err.code];
  return {
    ...(err.extra ?? {}),
    type: `urn:onramp:problem:${err.code}`,
    title: err.title,
    status,
    code: err.code,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(err.errors.length ? { errors: err.errors } : {}),
    ...(instance ? { instance } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** The exact problem+json text this response carries for `err` (an Idempotency-Key replay sends it again). */
export function problemText(res: Response, err: AppError): string {
  const requestId = res.getHeader('x-request-id');
  return JSON.stringify(toProblem(err, typeof requestId === 'string' ? requestId : undefined, res.req.originalUrl));
}

export function sendProblem(res: Response, err: AppError): void {
  if (err.retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(err.retryAfter))));
  res.status(statusByCode[err.code]).type('application/problem+json').send(problemText(res, err));
}

/** Body-parser and friends throw their own errors; translate them into our codes. */
export function normaliseError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; statusCode?: number; message?: string; code?: string };
  if (e?.type === 'entity.parse.failed') {
    return new AppError('malformed_json', 'Malformed JSON', { detail: 'The request body is not valid JSON.' });
  }
  if (e?.type === 'entity.too.large') {
    return new AppError('payload_too_large', 'Payload too large', { detail: 'The request body is larger than the server accepts.' });
  }
  if (err instanceof URIError || (e?.status === 400 && /^Failed to decode param/.test(e?.message ?? ''))) {
    // The router decodes path parameters; `%zz`, a lone `%` or `%C0%AF` is no resource's name. One answer
    // for every path that names nothing, as for a malformed id (route.ts).
    return new AppError('not_found', 'Not found', { detail: 'The path is not valid percent-encoded UTF-8, so it names no resource.' });
  }
  if (e?.code === '22021' || e?.code === '22P05') {
    // PostgreSQL refuses U+0000 (and invalid UTF-8) in text and jsonb. The API refuses NUL before any
    // query (http/input.ts); this keeps any other door from turning it into a 500.
    return new AppError('validation_failed', 'Validation failed', {
      detail: 'A value contains a character that cannot be stored (NUL, U+0000).',
      errors: [{ field: '(input)', message: 'must not contain a NUL character (U+0000)' }],
    });
  }
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new AppError('unsupported_media_type', 'Unsupported media type', { detail: e.message });
  }
  if (isTransient(e)) {
    return new AppError('unavailable', 'Service unavailable', {
      detail: 'A backing service is unreachable or busy; the request changed nothing. Retry shortly.',
      retryAfter: 5,
      cause: err,
    });
  }
  return new AppError('internal', 'Internal server error', { cause: err });
}

/**
 * Failures that say nothing about the request and leave nothing behind (PostgreSQL rolls the statement
 * back): the server restarting or crashing, a lost connection, no free connection, a deadlock or
 * serialisation conflict. They answer 503 with Retry-After so callers (Zapier, CRM scripts) retry, instead
 * of a 500 that reads like a bug in their request.
 */
function isTransient(e: { code?: string; message?: string } | undefined): boolean {
  const code = e?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  // 08 connection exception, 57P01-03 admin shutdown / crash shutdown / cannot connect now,
  // 53300 too many connections, 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
  if (code && (/^08/.test(code) || /^57P0[123]$/.test(code) || ['53300', '40001', '40P01', '55P03'].includes(code))) return true;
  // node-postgres reports these without a SQLSTATE.
  const message = e?.message ?? '';
  return /^Connection terminated|^timeout exceeded when trying to connect/.test(message);
}

export function errorBoundary(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = normaliseError(err);
    if (appErr.code === 'internal' || appErr.code === 'unavailable') {
      // pino's methods return undefined, so `a?.error() ?? b.error()` would log twice.
      ((req as Request & { log?: Logger }).log ?? logger).error({ err }, 'request failed');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    sendProblem(res, appErr);
  };
}
