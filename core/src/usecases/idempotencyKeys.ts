import type { Deps } from '../context.js';
import * as sql from '../sql/idempotencyKeys.js';

export type { IdempotencyKeyRow } from '../sql/idempotencyKeys.js';

/**
 * The Idempotency-Key store the API's middleware (connector-api/src/http/idempotency.ts) runs on: one row
 * per (agency, key) in PostgreSQL, shared by every API process.
 */
export const idempotencyKeys = {
  /** False when the key is already held: the caller reads the stored row instead of running the request. */
  claim: (deps: Pick<Deps, 'pool'>, input: { agencyId: string; key: string; method: string; path: string; requestHash: string }) =>
    sql.insertIdempotencyKey(deps.pool, input),
  get: (deps: Pick<Deps, 'pool'>, agencyId: string, key: string) => sql.getIdempotencyKey(deps.pool, agencyId, key),
  completeWithProblem: (deps: Pick<Deps, 'pool'>, agencyId: string, key: string, status: number, text: string) =>
    sql.completeIdempotencyKeyWithProblem(deps.pool, agencyId, key, status, text),
  complete: (
    deps: Pick<Deps, 'pool'>,
    agencyId: string,
    key: string,
    input: { status: number; text: string | null; requestHash: string; contentType: string },
  ) => sql.completeIdempotencyKey(deps.pool, agencyId, key, input),
  /** Nothing stored: a retry runs again. */
  release: (deps: Pick<Deps, 'pool'>, agencyId: string, key: string) => sql.deleteIdempotencyKey(deps.pool, agencyId, key),
  /** Keys older than 24 hours (the sweep): a replay is answered for a day. */
  purge: (deps: Pick<Deps, 'pool'>) => sql.purgeIdempotencyKeys(deps.pool),
};
