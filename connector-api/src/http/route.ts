import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { AppError, parseOrThrow, type Deps, type Principal } from '@onramp/core';
import type { OpenApiOperation } from './openapi.js';
import { withIdempotency } from './idempotency.js';
import { authenticate } from './auth.js';
import { assertAcceptableInput, paramsHaveNul } from './input.js';

/**
 * Every operation's query is strict, here and nowhere else: a parameter it does not know is a 422 naming
 * it, never silently ignored (`GET /v1/clients?status=bogus` used to answer every client). An operation
 * without a query schema takes no parameters.
 */
function assertKnownQuery(known: ReadonlySet<string>, query: Record<string, unknown>): void {
  const unknown = Object.keys(query ?? {}).filter((k) => !known.has(k));
  if (unknown.length === 0) return;
  const accepted = [...known].sort().join(', ');
  throw new AppError('validation_failed', 'Validation failed', {
    detail: `Unknown query parameter${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. ${accepted ? `This operation accepts: ${accepted}.` : 'This operation takes no query parameters.'}`,
    errors: unknown.map((field) => ({
      field,
      message: accepted ? `is not a query parameter of this operation (accepted: ${accepted})` : 'is not a query parameter of this operation (it takes none)',
    })),
  });
}

/** The parameter names a query schema documents (its JSON Schema's properties: the same list OpenAPI shows). */
function queryNames(schema: z.ZodType | undefined): Set<string> {
  if (!schema) return new Set();
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
  return new Set(Object.keys(json.properties ?? {}));
}

interface RouteContext<P, Q, B> {
  req: Request;
  res: Response;
  deps: Deps;
  principal: Principal;
  params: P;
  query: Q;
  body: B;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Defaults to JSON. Anything else is sent as-is (CSV downloads). */
  contentType?: string;
  /** rawBody routes: the digest of the body the handler read, which binds an Idempotency-Key to it. Not sent. */
  requestDigest?: string;
  /** `body` is the exact text to send (an Idempotency-Key replay), not a value to serialise. */
  rawText?: boolean;
  /** What an Idempotency-Key replay answers instead of `body` (a secret shown once is never stored). Not sent. */
  replayBody?: unknown;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteDef<PS extends z.ZodType | undefined, QS extends z.ZodType | undefined, BS extends z.ZodType | undefined> extends Omit<
  OpenApiOperation,
  'params' | 'query' | 'body' | 'auth'
> {
  auth?: boolean;
  params?: PS;
  query?: QS;
  body?: BS;
  /** The handler reads the request stream itself (uploads); no JSON body is parsed. */
  rawBody?: boolean;
  /** rawBody routes: reads the body of a repeated Idempotency-Key request, without side effects, into the digest the handler reports. */
  replayDigest?: (req: Request, deps: Deps) => Promise<string>;
  /** The body holds secrets (passwords): the Idempotency-Key binds to a keyed HMAC of it, not a plain digest. */
  secretBody?: boolean;
  handler: (ctx: RouteContext<Infer<PS>, Infer<QS>, Infer<BS>>) => Promise<RouteResult>;
}

// The generic parameters exist only to give handlers precise types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

export function defineRoute<
  PS extends z.ZodType | undefined = undefined,
  QS extends z.ZodType | undefined = undefined,
  BS extends z.ZodType | undefined = undefined,
>(def: RouteDef<PS, QS, BS>): RouteDef<PS, QS, BS> {
  return def;
}

const hasBody = (req: Request) =>
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;

export function isJsonRequest(req: Request): boolean {
  return req.is(['application/json', 'application/*+json']) !== false && req.is(['application/json', 'application/*+json']) !== null;
}

function sendResult(res: Response, result: RouteResult): void {
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  res.status(result.status);
  if (result.body === undefined) {
    res.end();
  } else if (result.rawText) {
    res.type(result.contentType ?? 'application/json').send(result.body as string);
  } else if (result.contentType && !result.contentType.includes('json')) {
    res.type(result.contentType).send(result.body as string | Buffer);
  } else {
    res.type(result.contentType ?? 'application/json').send(JSON.stringify(result.body));
  }
}

/** Mount route definitions on a router: auth, 415, validation, idempotency, then the thin handler. */
export function mountRoutes(router: Router, deps: Deps, routes: AnyRoute[]): void {
  for (const def of routes) {
    const knownQuery = queryNames(def.query);
    router[def.method](def.path, async (req: Request, res: Response) => {
      try {
        await handle(req, res);
      } catch (err) {
        // An upload refused before its body was read (no key, an unknown parameter, a reused
        // Idempotency-Key): drop the rest, so the client sees the answer instead of a reset.
        if (def.rawBody && !req.readableEnded) {
          if (!res.headersSent) res.setHeader('Connection', 'close');
          req.resume();
        }
        throw err;
      }
    });
    async function handle(req: Request, res: Response): Promise<void> {
      const principal = def.auth === false ? (undefined as unknown as Principal) : await authenticate(req, res, deps);
      if (!def.rawBody && def.method !== 'get' && hasBody(req) && !isJsonRequest(req)) {
        throw new AppError('unsupported_media_type', 'Unsupported media type', {
          detail: `Send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'}).`,
        });
      }
      // A path that names no resource is not found, whatever the reason (malformed or unknown id): one
      // answer for both, so callers (and Zapier) handle a single case.
      if (paramsHaveNul(req.params as Record<string, string>)) {
        throw new AppError('not_found', 'Not found', { detail: `No resource at this path (a path segment contains a NUL character).` });
      }
      const parsedParams = def.params?.safeParse(req.params);
      if (parsedParams && !parsedParams.success) {
        const why = parsedParams.error.issues.map((i: { path: PropertyKey[]; message: string }) => `${String(i.path[0] ?? 'path')} ${i.message}`);
        throw new AppError('not_found', 'Not found', { detail: `No resource at ${req.originalUrl.split('?')[0]} (${why.join('; ')}).` });
      }
      const params = parsedParams?.data;
      assertAcceptableInput(req.query, def.rawBody ? undefined : req.body);
      assertKnownQuery(knownQuery, req.query as Record<string, unknown>);
      const query = def.query ? parseOrThrow(def.query, req.query) : undefined;
      let body: unknown = undefined;
      if (def.body && !def.rawBody) {
        if (req.body === undefined) {
          throw new AppError('validation_failed', 'Validation failed', {
            detail: 'A JSON body is required.',
            errors: [{ field: '(body)', message: 'is required' }],
          });
        }
        body = parseOrThrow(def.body, req.body);
      }
      const run = () => def.handler({ req, res, deps, principal, params, query, body } as RouteContext<never, never, never>);
      const result =
        def.method === 'get' || def.auth === false || !req.headers['idempotency-key']
          ? await run()
          : await withIdempotency(deps, principal, req, run, def.replayDigest ? { digest: () => def.replayDigest!(req, deps) } : undefined, {
              secretBody: Boolean(def.secretBody),
            });
      sendResult(res, result);
    }
  }
}

export function operationOf(def: AnyRoute): OpenApiOperation {
  return {
    method: def.method,
    path: def.path,
    summary: def.summary,
    description: def.description,
    tags: def.tags,
    auth: def.auth !== false,
    params: def.params,
    query: def.query,
    body: def.body,
    bodyContentTypes: def.bodyContentTypes,
    responses: def.responses,
    idempotent: def.method !== 'get' && def.auth !== false,
    rawBody: def.rawBody,
    file: def.file,
    errors: def.errors,
  };
}
