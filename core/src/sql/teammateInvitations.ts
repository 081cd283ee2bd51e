import type { Queryable } from '../db/pool.js';
import type { FirmRole } from './firmUsers.js';

export interface TeammateInvitationRow {
  id: string;
  agency_id: string;
  user_id: string;
  email: string;
  role: Exclude<FirmRole, 'owner'>;
  created_by: string | null;
  status: 'pending' | 'accepted' | 'revoked';
  token_hash: Buffer | null;
  token_ciphertext: Buffer | null;
  expires_at: Date;
  send_count: number;
  last_sent_at: Date;
  accepted_at: Date | null;
  created_at: Date;
}

const columns = `id, agency_id, user_id, email, role, created_by, status, token_hash, token_ciphertext, expires_at, send_count,
  last_sent_at, accepted_at, created_at`;

/** Expiry from the agency's setting as it is now: a changed setting applies to new invitations and resends only. */
export async function insertTeammateInvitation(
  db: Queryable,
  input: { agencyId: string; userId: string; email: string; role: string; createdBy: string; tokenHash: Buffer; tokenCiphertext: Buffer },
): Promise<TeammateInvitationRow> {
  const { rows } = await db.query<TeammateInvitationRow>(
    `insert into teammate_invitations (agency_id, user_id, email, role, created_by, token_hash, token_ciphertext, expires_at)
     select $1, $2, $3, $4, $5, $6, $7, now() + make_interval(days => a.invite_expiry_days) from agencies a where a.id = $1
     returning ${columns}`,
    [input.agencyId, input.userId, input.email, input.role, input.createdBy, input.tokenHash, input.tokenCiphertext],
  );
  return rows[0]!;
}

/** A resend: a new link (the old one stops working) and a new expiry from the current setting. */
export async function rotateTeammateInvitation(
  db: Queryable,
  agencyId: string,
  userId: string,
  link: { tokenHash: Buffer; tokenCiphertext: Buffer },
): Promise<TeammateInvitationRow | null> {
  const { rows } = await db.query<TeammateInvitationRow>(
    `update teammate_invitations t set token_hash = $3, token_ciphertext = $4,
            expires_at = now() + make_interval(days => a.invite_expiry_days), send_count = t.send_count + 1, last_sent_at = now()
       from agencies a
      where a.id = t.agency_id and t.agency_id = $1 and t.user_id = $2 and t.status = 'pending'
      returning ${columns
        .split(', ')
        .map((c) => `t.${c.trim()}`)
        .join(', ')}`,
    [agencyId, userId, link.tokenHash, link.tokenCiphertext],
  );
  return rows[0] ?? null;
}

export async function latestTeammateInvitations(db: Queryable, agencyId: string, userIds: string[]): Promise<Map<string, TeammateInvitationRow>> {
  if (userIds.length === 0) return new Map();
  const { rows } = await db.query<TeammateInvitationRow>(
    `select distinct on (user_id) ${columns} from teammate_invitations
      where agency_id = $1 and user_id = any($2::uuid[]) order by user_id, seq desc`,
    [agencyId, userIds],
  );
  return new Map(rows.map((r) => [r.user_id, r]));
}

export interface TeammateInvitationByToken extends TeammateInvitationRow {
  live: boolean;
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  inviter_name: string | null;
  user_first_name: string | null;
  user_last_name: string | null;
}

export async function findTeammateInvitationByHash(
  db: Queryable,
  tokenHash: Buffer,
  opts: { forUpdate?: boolean } = {},
): Promise<TeammateInvitationByToken | null> {
  const { rows } = await db.query<TeammateInvitationByToken>(
    `select ${columns
      .split(', ')
      .map((c) => `t.${c.trim()}`)
      .join(', ')},
            (t.status = 'pending' and t.expires_at > now() and u.status = 'invited') as live,
            coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url,
            inv.name as inviter_name, u.first_name as user_first_name, u.last_name as user_last_name
       from teammate_invitations t
       join agencies a on a.id = t.agency_id
       join firm_users u on u.id = t.user_id and u.agency_id = t.agency_id
       left join firm_users inv on inv.id = t.created_by and inv.agency_id = t.agency_id
      where t.token_hash = $1${opts.forUpdate ? ' for update of t' : ''}`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Revokes the user's pending invitation (deactivation before they joined); its link stops at once. */
export async function revokeTeammateInvitations(db: Queryable, agencyId: string, userId: string): Promise<void> {
  await db.query(
    `update teammate_invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null
      where agency_id = $1 and user_id = $2 and status = 'pending'`,
    [agencyId, userId],
  );
}

/** The single use: a compare-and-set from pending, so of two concurrent accepts exactly one wins. */
export async function markTeammateInvitationAccepted(db: Queryable, id: string, tokenHash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query(
    `update teammate_invitations set status = 'accepted', accepted_at = now(), token_ciphertext = null
      where id = $1 and token_hash = $2 and status = 'pending' and expires_at > now()`,
    [id, tokenHash],
  );
  return (rowCount ?? 0) > 0;
}

/** An invited teammate's role changed: their pending invitation says so too. */
export async function setPendingTeammateInvitationRole(db: Queryable, agencyId: string, userId: string, role: FirmRole): Promise<void> {
  await db.query(`update teammate_invitations set role = $3 where agency_id = $1 and user_id = $2 and status = 'pending'`, [agencyId, userId, role]);
}
