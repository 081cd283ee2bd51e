import type { Queryable } from '../db/pool.js';
import type { FirmRole } from './firmUsers.js';

// Client (portal) sessions and console (firm user) sessions: only the token's HMAC is stored.

export async function insertClientSession(
  db: Queryable,
  input: { tokenHash: Buffer; clientId: string; agencyId: string; days: number },
): Promise<{ expires_at: Date }> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `insert into client_sessions (token_hash, client_id, agency_id, expires_at)
     values ($1, $2, $3, now() + make_interval(days => $4)) returning expires_at`,
    [input.tokenHash, input.clientId, input.agencyId, input.days],
  );
  return rows[0]!;
}

/** A live session of an active client who is still a member of at least one project. */
export async function findLiveClientSession(
  db: Queryable,
  tokenHash: Buffer,
): Promise<{ token_hash: Buffer; client_id: string; agency_id: string; expires_at: Date } | undefined> {
  const { rows } = await db.query<{ token_hash: Buffer; client_id: string; agency_id: string; expires_at: Date }>(
    `select s.token_hash, s.client_id, s.agency_id, s.expires_at
       from client_sessions s
       join clients c on c.id = s.client_id and c.agency_id = s.agency_id
      where s.token_hash = $1 and s.revoked_at is null and s.expires_at > now() and c.status = 'active'
        and exists (select 1 from memberships m where m.client_id = s.client_id and m.agency_id = s.agency_id)`,
    [tokenHash],
  );
  return rows[0];
}

export async function revokeClientSession(db: Queryable, tokenHash: Buffer): Promise<void> {
  await db.query('update client_sessions set revoked_at = now() where token_hash = $1 and revoked_at is null', [tokenHash]);
}

export async function findClientPasswordCandidates(
  db: Queryable,
  email: string,
  agencyId: string | null,
): Promise<Array<{ id: string; agency_id: string; password_hash: string }>> {
  const { rows } = await db.query<{ id: string; agency_id: string; password_hash: string }>(
    // An agency's own page (/a/<slug>/login) signs in only its clients; a magic_link agency's clients never
    // sign in with a password, even one set before the agency switched.
    `select c.id, c.agency_id, c.password_hash from clients c join agencies a on a.id = c.agency_id
      where c.email_normalized = lower(btrim($1)) and c.status = 'active' and c.password_hash is not null
        and a.client_sign_in <> 'magic_link' and ($2::uuid is null or c.agency_id = $2)
        and exists (select 1 from memberships m where m.client_id = c.id and m.agency_id = c.agency_id)
      order by c.activated_at desc nulls last, c.seq desc
      limit 20`,
    [email, agencyId],
  );
  return rows;
}

export async function insertConsoleSession(
  db: Queryable,
  input: { tokenHash: Buffer; userId: string; agencyId: string; hours: number },
): Promise<{ expires_at: Date }> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `insert into console_sessions (token_hash, user_id, agency_id, expires_at)
     values ($1, $2, $3, now() + make_interval(hours => $4)) returning expires_at`,
    [input.tokenHash, input.userId, input.agencyId, input.hours],
  );
  return rows[0]!;
}

export async function findFirmPasswordCandidates(db: Queryable, email: string): Promise<Array<{ id: string; agency_id: string; password_hash: string }>> {
  const { rows } = await db.query<{ id: string; agency_id: string; password_hash: string }>(
    `select id, agency_id, password_hash from firm_users
      where email_normalized = lower(btrim($1)) and password_hash is not null and status = 'active'
      order by created_at limit 20`,
    [email],
  );
  return rows;
}

export interface LiveConsoleSessionRow {
  token_hash: Buffer;
  expires_at: Date;
  user_id: string;
  user_email: string;
  user_name: string | null;
  role: FirmRole;
  agency_id: string;
  agency_name: string;
  display_name: string;
  brand_color: string;
  logo_url: string | null;
}

/** A live session of an active firm user with a password, with the user's current role and the agency's branding. */
export async function findLiveConsoleSession(db: Queryable, tokenHash: Buffer): Promise<LiveConsoleSessionRow | undefined> {
  const { rows } = await db.query<LiveConsoleSessionRow>(
    `select s.token_hash, s.expires_at, u.id as user_id, u.email as user_email, u.name as user_name, u.role,
            a.id as agency_id, a.name as agency_name, coalesce(a.display_name, a.name) as display_name, a.brand_color, a.logo_url
       from console_sessions s
       join firm_users u on u.id = s.user_id and u.agency_id = s.agency_id
       join agencies a on a.id = s.agency_id
      where s.token_hash = $1 and s.revoked_at is null and s.expires_at > now() and u.password_hash is not null
        and u.status = 'active'`,
    [tokenHash],
  );
  return rows[0];
}

export async function revokeConsoleSession(db: Queryable, tokenHash: Buffer): Promise<void> {
  await db.query('update console_sessions set revoked_at = now() where token_hash = $1 and revoked_at is null', [tokenHash]);
}

export async function revokeConsoleSessionsOfUser(db: Queryable, userId: string): Promise<void> {
  await db.query('update console_sessions set revoked_at = now() where user_id = $1 and revoked_at is null', [userId]);
}

export async function revokeClientSessionsOfClient(db: Queryable, clientId: string): Promise<void> {
  await db.query('update client_sessions set revoked_at = now() where client_id = $1 and revoked_at is null', [clientId]);
}
