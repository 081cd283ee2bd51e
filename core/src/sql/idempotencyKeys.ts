import type { Queryable } from '../db/pool.js';

export interface IdempotencyKeyRow {
  request_hash: string;
  status_code: number | null;
  response_body: unknown;
  response_text: string | null;
  response_type: string | null;
  completed_at: Date | null;
}

/** False when the agency already holds this key (the first request's row decides). */
export async function insertIdempotencyKey(
  db: Queryable,
  input: { agencyId: string; key: string; method: string; path: string; requestHash: string },
): Promise<boolean> {
  const inserted = await db.query(
    `insert into idempotency_keys (agency_id, key, method, path, request_hash) values ($1, $2, $3, $4, $5)
     on conflict (agency_id, key) do nothing`,
    [input.agencyId, input.key, input.method, input.path, input.requestHash],
  );
  return inserted.rowCount !== 0;
}

export async function getIdempotencyKey(db: Queryable, agencyId: string, key: string): Promise<IdempotencyKeyRow | undefined> {
  const { rows } = await db.query<IdempotencyKeyRow>(
    'select request_hash, status_code, response_body, response_text, response_type, completed_at from idempotency_keys where agency_id = $1 and key = $2',
    [agencyId, key],
  );
  return rows[0];
}

/** A client error's problem+json, stored as the key's answer. */
export async function completeIdempotencyKeyWithProblem(db: Queryable, agencyId: string, key: string, status: number, text: string): Promise<void> {
  await db.query(
    `update idempotency_keys set status_code = $3, response_body = $4::jsonb, response_text = $5::text, response_type = 'application/problem+json', completed_at = now()
         where agency_id = $1 and key = $2`,
    [agencyId, key, status, text, text],
  );
}

/** The response stored as the key's answer, with the request hash it binds (an upload's includes its content digest). */
export async function completeIdempotencyKey(
  db: Queryable,
  agencyId: string,
  key: string,
  input: { status: number; text: string | null; requestHash: string; contentType: string },
): Promise<void> {
  await db.query(
    `update idempotency_keys set status_code = $3, response_body = $4::jsonb, response_text = $7::text, response_type = $6, completed_at = now(), request_hash = $5
       where agency_id = $1 and key = $2`,
    [agencyId, key, input.status, input.text, input.requestHash, input.contentType, input.text],
  );
}

export async function deleteIdempotencyKey(db: Queryable, agencyId: string, key: string): Promise<void> {
  await db.query('delete from idempotency_keys where agency_id = $1 and key = $2', [agencyId, key]);
}

/** Keys answer replays for 24 hours, then go (the maintenance sweep). */
export async function purgeIdempotencyKeys(db: Queryable): Promise<number> {
  const { rowCount } = await db.query("delete from idempotency_keys where created_at < now() - interval '24 hours'");
  return rowCount ?? 0;
}
