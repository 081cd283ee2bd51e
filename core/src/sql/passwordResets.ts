import type { Queryable } from '../db/pool.js';

/** Active clients who may be sent a reset link for this address (not of a magic_link agency; members of a project). */
export async function findResettableClients(
  db: Queryable,
  email: string,
  agencyId: string | null,
): Promise<Array<{ id: string; agency_id: string; email: string }>> {
  const { rows } = await db.query<{ id: string; agency_id: string; email: string }>(
    // From an agency's own page (/a/<slug>/forgot) only that agency; never an agency whose clients have no
    // password at all (client_sign_in = magic_link).
    `select c.id, c.agency_id, c.email from clients c join agencies a on a.id = c.agency_id
      where c.email_normalized = lower(btrim($1)) and c.status = 'active' and a.client_sign_in <> 'magic_link'
        and ($2::uuid is null or c.agency_id = $2)
        and exists (select 1 from memberships m where m.client_id = c.id and m.agency_id = c.agency_id)
      limit 20`,
    [email, agencyId],
  );
  return rows;
}

export async function insertPasswordReset(db: Queryable, input: { tokenHash: Buffer; clientId: string; agencyId: string; ttlMinutes: number }): Promise<void> {
  await db.query(
    `insert into password_resets (token_hash, client_id, agency_id, expires_at)
     values ($1, $2, $3, now() + make_interval(mins => $4))`,
    [input.tokenHash, input.clientId, input.agencyId, input.ttlMinutes],
  );
}

export interface PasswordResetRow {
  token_hash: Buffer;
  live: boolean;
  client_id: string;
  first_name: string;
  email: string;
  agency_id: string;
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  slug: string;
}

/** A reset link with its client and the agency's branding; `live` = unused, unexpired, client active. */
export async function findPasswordReset(db: Queryable, tokenHash: Buffer): Promise<PasswordResetRow | undefined> {
  const { rows } = await db.query<PasswordResetRow>(
    `select r.token_hash, (r.used_at is null and r.expires_at > now() and c.status = 'active') as live,
            c.id as client_id, c.first_name, c.email,
            a.id as agency_id, coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url, a.slug
       from password_resets r
       join clients c on c.id = r.client_id and c.agency_id = r.agency_id
       join agencies a on a.id = r.agency_id
      where r.token_hash = $1`,
    [tokenHash],
  );
  return rows[0];
}

/** Compare-and-set: of two concurrent uses of one link, one wins. */
export async function usePasswordReset(db: Queryable, tokenHash: Buffer): Promise<{ token_hash: Buffer; client_id: string; agency_id: string } | undefined> {
  const used = await db.query<{ token_hash: Buffer; client_id: string; agency_id: string }>(
    `update password_resets set used_at = now() where token_hash = $1 and used_at is null and expires_at > now()
     returning token_hash, client_id, agency_id`,
    [tokenHash],
  );
  return used.rows[0];
}

export async function burnPasswordResetsOfClient(db: Queryable, clientId: string): Promise<void> {
  await db.query('update password_resets set used_at = now() where client_id = $1 and used_at is null', [clientId]);
}
