import type { Queryable } from '../db/pool.js';
import type { FirmRole } from './firmUsers.js';

export interface ApiKeyAuthRow {
  key_id: string;
  key_hash: Buffer;
  revoked_at: Date | null;
  agency_id: string;
  agency_name: string;
  user_id: string;
  user_email: string;
  user_name: string | null;
  user_role: FirmRole;
}

export async function insertApiKey(
  db: Queryable,
  input: { agencyId: string; userId: string; prefix: string; hash: Buffer; name: string | null },
): Promise<{ id: string; prefix: string; created_at: Date }> {
  const { rows } = await db.query<{ id: string; prefix: string; created_at: Date }>(
    'insert into api_keys (agency_id, user_id, prefix, key_hash, name) values ($1, $2, $3, $4, $5) returning id, prefix, created_at',
    [input.agencyId, input.userId, input.prefix, input.hash, input.name],
  );
  return rows[0]!;
}

export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<ApiKeyAuthRow | null> {
  const { rows } = await db.query<ApiKeyAuthRow>(
    `select k.id as key_id, k.key_hash, k.revoked_at, a.id as agency_id, a.name as agency_name,
            u.id as user_id, u.email as user_email, u.name as user_name, u.role as user_role
       from api_keys k join firm_users u on u.id = k.user_id join agencies a on a.id = k.agency_id
      where k.prefix = $1`,
    [prefix],
  );
  return rows[0] ?? null;
}

export async function revokeApiKeyByPrefix(db: Queryable, prefix: string): Promise<{ id: string; revoked_at: Date } | null> {
  const { rows } = await db.query<{ id: string; revoked_at: Date }>(
    'update api_keys set revoked_at = coalesce(revoked_at, now()) where prefix = $1 returning id, revoked_at',
    [prefix],
  );
  return rows[0] ?? null;
}

/** Monotonic: a late, retried job never moves last_used_at backwards. */
export async function touchApiKey(db: Queryable, id: string, usedAt: Date): Promise<void> {
  await db.query(
    'update api_keys set last_used_at = greatest(coalesce(last_used_at, $2), $2) where id = $1',
    [id, usedAt],
  );
}
