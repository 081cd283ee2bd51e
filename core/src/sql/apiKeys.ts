import type { Queryable } from '../db/pool.js';
import type { FirmRole, FirmUserStatus } from './firmUsers.js';

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
  user_status: FirmUserStatus;
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
            u.id as user_id, u.email as user_email, u.name as user_name, u.role as user_role, u.status as user_status
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
  await db.query('update api_keys set last_used_at = greatest(coalesce(last_used_at, $2), $2) where id = $1', [id, usedAt]);
}

export interface ApiKeyListRow {
  id: string;
  name: string | null;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  user_id: string;
  user_email: string;
  user_name: string | null;
}

const listColumns = `k.id, k.name, k.prefix, k.created_at, k.last_used_at, k.revoked_at,
  u.id as user_id, u.email as user_email, u.name as user_name`;

/** Live keys of the agency, newest first; `userId` narrows to one owner's keys. */
export async function listApiKeys(db: Queryable, agencyId: string, userId: string | null): Promise<ApiKeyListRow[]> {
  const { rows } = await db.query<ApiKeyListRow>(
    `select ${listColumns} from api_keys k join firm_users u on u.id = k.user_id and u.agency_id = k.agency_id
      where k.agency_id = $1 and k.revoked_at is null and ($2::uuid is null or k.user_id = $2)
      order by k.created_at desc, k.id`,
    [agencyId, userId],
  );
  return rows;
}

export async function getApiKey(db: Queryable, agencyId: string, id: string): Promise<ApiKeyListRow | null> {
  const { rows } = await db.query<ApiKeyListRow>(
    `select ${listColumns} from api_keys k join firm_users u on u.id = k.user_id and u.agency_id = k.agency_id
      where k.agency_id = $1 and k.id = $2`,
    [agencyId, id],
  );
  return rows[0] ?? null;
}

export async function revokeApiKeyById(db: Queryable, agencyId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('update api_keys set revoked_at = now() where agency_id = $1 and id = $2 and revoked_at is null', [agencyId, id]);
  return (rowCount ?? 0) > 0;
}
