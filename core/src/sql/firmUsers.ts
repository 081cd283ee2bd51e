import type { Queryable } from '../db/pool.js';

export type FirmRole = 'owner' | 'admin' | 'member';
export type FirmUserStatus = 'invited' | 'active' | 'deactivated';

export interface FirmUserRow {
  id: string;
  seq?: number;
  agency_id: string;
  email: string;
  /** Full name, kept from first_name/last_name by a trigger (migration 0100). */
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  role: FirmRole;
  status: FirmUserStatus;
  has_password: boolean;
  deactivated_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const columns = `id, agency_id, email, name, first_name, last_name, role, status, (password_hash is not null) as has_password,
  deactivated_at, created_at, updated_at`;

export async function insertFirmUser(
  db: Queryable,
  input: {
    agencyId: string;
    email: string;
    name?: string | null;
    firstName?: string | null;
    lastName?: string | null;
    role: FirmRole;
    status?: FirmUserStatus;
  },
): Promise<FirmUserRow> {
  const { rows } = await db.query<FirmUserRow>(
    `insert into firm_users (agency_id, email, name, first_name, last_name, role, status) values ($1, $2, $3, $4, $5, $6, $7)
     returning ${columns}`,
    [input.agencyId, input.email.trim(), input.name ?? null, input.firstName ?? null, input.lastName ?? null, input.role, input.status ?? 'active'],
  );
  return rows[0]!;
}

export async function getFirmUser(db: Queryable, agencyId: string, id: string, opts: { forUpdate?: boolean } = {}): Promise<FirmUserRow | null> {
  const { rows } = await db.query<FirmUserRow>(`select ${columns} from firm_users where agency_id = $1 and id = $2${opts.forUpdate ? ' for update' : ''}`, [
    agencyId,
    id,
  ]);
  return rows[0] ?? null;
}

export async function listFirmUsers(db: Queryable, agencyId: string): Promise<FirmUserRow[]> {
  const { rows } = await db.query<FirmUserRow>(
    `select ${columns} from firm_users where agency_id = $1
      order by case status when 'active' then 0 when 'invited' then 1 else 2 end, created_at, id`,
    [agencyId],
  );
  return rows;
}

/**
 * The agency's active owners, locked in id order: every change that could leave the agency without an
 * active owner takes this first, so two concurrent demotions run one after the other and the second sees
 * the first's result.
 */
export async function lockActiveOwners(db: Queryable, agencyId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from firm_users where agency_id = $1 and role = 'owner' and status = 'active' order by id for update`,
    [agencyId],
  );
  return rows.map((r) => r.id);
}

export async function activeOwnerEmails(db: Queryable, agencyId: string): Promise<Array<{ id: string; email: string }>> {
  const { rows } = await db.query<{ id: string; email: string }>(
    `select id, email from firm_users where agency_id = $1 and role = 'owner' and status = 'active' order by created_at, id`,
    [agencyId],
  );
  return rows;
}

export async function updateFirmUser(
  db: Queryable,
  agencyId: string,
  id: string,
  patch: { firstName?: string | null; lastName?: string | null; role?: FirmRole },
): Promise<FirmUserRow | null> {
  const { rows } = await db.query<FirmUserRow>(
    `update firm_users set
        first_name = case when $3 then $4 else first_name end,
        last_name = case when $5 then $6 else last_name end,
        role = coalesce($7, role),
        updated_at = now()
      where agency_id = $1 and id = $2 returning ${columns}`,
    [agencyId, id, patch.firstName !== undefined, patch.firstName ?? null, patch.lastName !== undefined, patch.lastName ?? null, patch.role ?? null],
  );
  return rows[0] ?? null;
}

/** Deactivation: the user row stays (their invitations keep created_by); sessions end here, keys stop at auth. */
export async function deactivateFirmUser(db: Queryable, agencyId: string, id: string): Promise<FirmUserRow | null> {
  const { rows } = await db.query<FirmUserRow>(
    `update firm_users set status = 'deactivated', deactivated_at = now(), updated_at = now()
      where agency_id = $1 and id = $2 and status <> 'deactivated' returning ${columns}`,
    [agencyId, id],
  );
  await db.query('update console_sessions set revoked_at = now() where agency_id = $1 and user_id = $2 and revoked_at is null', [agencyId, id]);
  return rows[0] ?? null;
}

export async function setFirmUserPasswordHash(db: Queryable, agencyId: string, id: string, hash: string): Promise<void> {
  await db.query('update firm_users set password_hash = $3, updated_at = now() where agency_id = $1 and id = $2', [agencyId, id, hash]);
}

export async function getFirmUserPasswordHash(db: Queryable, agencyId: string, id: string): Promise<string | null> {
  const { rows } = await db.query<{ password_hash: string | null }>('select password_hash from firm_users where agency_id = $1 and id = $2', [agencyId, id]);
  return rows[0]?.password_hash ?? null;
}

/** Ends every console session of a user except, optionally, the one making the change. */
export async function revokeConsoleSessions(db: Queryable, agencyId: string, userId: string, exceptTokenHash: Buffer | null = null): Promise<void> {
  await db.query(
    `update console_sessions set revoked_at = now()
      where agency_id = $1 and user_id = $2 and revoked_at is null and ($3::bytea is null or token_hash <> $3)`,
    [agencyId, userId, exceptTokenHash],
  );
}

/** Firm users are found by email across agencies only from the operator CLI. */
export async function findFirmUsersByEmail(db: Queryable, email: string): Promise<FirmUserRow[]> {
  const { rows } = await db.query<FirmUserRow>(`select ${columns} from firm_users where email_normalized = lower(btrim($1)) order by created_at`, [email]);
  return rows;
}

export async function isClientEmail(db: Queryable, agencyId: string, email: string): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from clients where agency_id = $1 and email_normalized = lower(btrim($2))', [agencyId, email]);
  return (rowCount ?? 0) > 0;
}

/** The agency's first active owner (the operator CLI acts as this firm user). */
export async function findFirstActiveOwner(db: Queryable, agencyId: string): Promise<{ id: string; email: string; name: string | null } | undefined> {
  const { rows } = await db.query<{ id: string; email: string; name: string | null }>(
    `select id, email, name from firm_users where agency_id = $1 and role = 'owner' and status = 'active' order by created_at, id limit 1`,
    [agencyId],
  );
  return rows[0];
}

/** The operator CLI's password set (`updated_at` left as it is). */
export async function setOperatorPasswordHash(db: Queryable, agencyId: string, id: string, hash: string): Promise<void> {
  await db.query('update firm_users set password_hash = $3 where agency_id = $1 and id = $2', [agencyId, id, hash]);
}

export async function getFirmUserEmailStatus(db: Queryable, agencyId: string, id: string): Promise<{ email: string; status: string } | undefined> {
  const { rows } = await db.query<{ email: string; status: string }>('select email, status from firm_users where id = $1 and agency_id = $2', [id, agencyId]);
  return rows[0];
}

export async function findFirmUsersByIds(db: Queryable, agencyId: string, ids: string[]): Promise<Array<{ id: string; email: string; name: string | null }>> {
  const { rows } = await db.query<{ id: string; email: string; name: string | null }>(
    'select id, email, name from firm_users where agency_id = $1 and id = any($2::uuid[])',
    [agencyId, ids],
  );
  return rows;
}

/** One lock per (agency, address) for the rest of the transaction, so a teammate invite and a client invite of one address cannot both pass their checks. */
export async function lockAgencyAddress(db: Queryable, agencyId: string, email: string): Promise<void> {
  await db.query(`select pg_advisory_xact_lock(hashtextextended($1 || ':' || lower(btrim($2)), 13))`, [agencyId, email]);
}

export async function lockFirmUserByEmail(db: Queryable, agencyId: string, email: string): Promise<{ id: string; status: FirmUserStatus } | undefined> {
  const { rows } = await db.query<{ id: string; status: FirmUserStatus }>(
    'select id, status from firm_users where agency_id = $1 and email_normalized = lower(btrim($2)) for update',
    [agencyId, email],
  );
  return rows[0];
}

/** An invited teammate joins: names, password, active. False when they are no longer invited. */
export async function activateInvitedFirmUser(
  db: Queryable,
  agencyId: string,
  id: string,
  input: { firstName: string; lastName: string; passwordHash: string },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update firm_users set first_name = $3, last_name = $4, password_hash = $5, status = 'active', updated_at = now()
        where agency_id = $1 and id = $2 and status = 'invited'`,
    [agencyId, id, input.firstName, input.lastName, input.passwordHash],
  );
  return Boolean(rowCount);
}
