import { createHash, createHmac } from 'node:crypto';
import type { Request } from 'express';
import { AppError, idempotencyKeys, type Deps, type Principal } from '@onramp/core';
import type { RouteResult } from './route.js';
import { problemText, statusByCode } from './problem.js';

function requestHash(req: Request, raw: boolean, secretKey: string | null): string {
  // A body that holds secrets (a password change) is bound by an HMAC under APP_SECRET: a plain digest of
  // it stored for 24 hours could be brute-forced offline from a copy of the database.
  const h = secretKey ? createHmac('sha256', secretKey) : createHash('sha256');
  h.update(`${req.method} ${req.baseUrl}${req.path}\n`);
  h.update(JSON.stringify(req.query ?? {}));
  h.update('\n');
  if (raw) {
    // An upload is identified by its content (RawUpload.digest), never by its framing: the length says
    // nothing about the bytes, and a multipart boundary changes on every retry of the same file.
    h.update(
      String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase(),
    );
  } else {
    h.update(req.body === undefined ? `${req.headers['content-type'] ?? ''}:${req.headers['content-length'] ?? ''}` : JSON.stringify(req.body));
  }
  return h.digest('hex');
}

/**
 * A route that reads its own body stream (an upload). The first run reports the digest of what it read
 * (RouteResult.requestDigest); a later request with the same key is read by `digest` alone, without side
 * effects, and replays only when both digests agree.
 */
export interface RawUpload {
  digest: () => Promise<string>;
}

/**
 * Idempotency-Key: the first request with a key runs and its response is stored; a replay (same key, same
 * request) gets that response back; the same key with another request is rejected; a replay while the
 * first is still running gets 409 so the caller retries instead of running the work twice. Keys are kept
 * 24 hours (the sweep purges older ones). Server errors are not stored, so a retry can succeed.
 */
export async function withIdempotency(
  deps: Deps,
  principal: Principal,
  req: Request,
  run: () => Promise<RouteResult>,
  raw?: RawUpload,
  opts: { secretBody?: boolean } = {},
): Promise<RouteResult> {
  const key = String(req.headers['idempotency-key']);
  if (key.length === 0 || key.length > 255) {
    throw new AppError('validation_failed', 'Validation failed', {
      errors: [{ field: 'Idempotency-Key', message: 'must be 1 to 255 characters' }],
    });
  }
  const hash = requestHash(req, raw !== undefined, opts.secretBody ? deps.appSecret : null);
  const path = `${req.baseUrl}${req.path}`;
  const claimed = await idempotencyKeys.claim(deps, {
    agencyId: principal.agencyId,
    key,
    method: req.method,
    path,
    requestHash: raw ? `${hash}:` : hash,
  });
  if (!claimed) {
    const row = await idempotencyKeys.get(deps, principal.agencyId, key);
    if (!row) return withIdempotency(deps, principal, req, run, raw, opts);
    // An upload's stored hash is `<request>:<content digest>`; its body is read only when the rest matches.
    const sameRequest = raw
      ? row.request_hash.startsWith(`${hash}:`) && (!row.completed_at || row.request_hash === `${hash}:${await raw.digest()}`)
      : // eslint-disable-next-line no-restricted-syntax -- a fingerprint of the request body, not a secret
        row.request_hash === hash;
    if (!sameRequest) {
      throw new AppError('idempotency_key_reused', 'Idempotency key reused', {
        detail: 'This Idempotency-Key was already used with a different request. Use a new key for a new request.',
        errors: [{ field: 'Idempotency-Key', message: 'was used with a different request' }],
      });
    }
    if (!row.completed_at || row.status_code === null) {
      throw new AppError('idempotency_key_in_use', 'Request in progress', {
        detail: 'A request with this Idempotency-Key is still being processed. Retry shortly.',
        retryAfter: 1,
      });
    }
    if (row.response_text !== null) {
      // The first answer's bytes and content type: an error replays as the same problem+json (its
      // instance and request_id included), a success as the same JSON, keys in the same order.
      return {
        status: row.status_code,
        body: row.response_text,
        rawText: true,
        contentType: row.response_type ?? 'application/json',
        headers: { 'Idempotent-Replayed': 'true' },
      };
    }
    return {
      status: row.status_code,
      ...(row.response_body === null ? {} : { body: row.response_body }),
      headers: { 'Idempotent-Replayed': 'true' },
    };
  }
  let result: RouteResult;
  try {
    result = await run();
  } catch (err) {
    // A client error is a response too: store it, so a replay answers the same. A server error is not.
    // (Not for an upload: a refused file has no digest to bind the key to, so a retry simply runs again.)
    if (!raw && err instanceof AppError && err.code !== 'internal' && err.code !== 'unavailable' && err.code !== 'rate_limited') {
      const text = problemText(req.res!, err);
      await idempotencyKeys.completeWithProblem(deps, principal.agencyId, key, statusByCode[err.code], text);
    } else {
      await idempotencyKeys.release(deps, principal.agencyId, key);
    }
    throw err;
  }
  const storable = (result.contentType === undefined || result.contentType.includes('json')) && (!raw || result.requestDigest !== undefined);
  // A response carrying a secret shown once (a new API key) is stored without it.
  const stored = result.replayBody !== undefined ? result.replayBody : result.body;
  if (storable && result.status < 500) {
    const text = stored === undefined ? null : JSON.stringify(stored);
    await idempotencyKeys.complete(deps, principal.agencyId, key, {
      status: result.status,
      text,
      requestHash: raw ? `${hash}:${result.requestDigest}` : hash,
      contentType: result.contentType ?? 'application/json',
    });
  } else {
    await idempotencyKeys.release(deps, principal.agencyId, key);
  }
  return result;
}
