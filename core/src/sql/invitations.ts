import type { Queryable } from '../db/pool.js';
import { insertEventsSql } from '../events/catalog.js';
import type { ClientSignIn } from './clientAccess.js';

export interface InvitationTokenRow {
  id: string;
  token_hash: Buffer;
  live: boolean;
  message: string | null;
  expires_at: Date;
  agency_id: string;
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  project_id: string;
  project_name: string;
  client_id: string;
  first_name: string;
  client_email: string;
  has_password: boolean;
  slug: string;
  client_sign_in: ClientSignIn;
}

/** An invitation by its link's hash, with what the accept page shows; `live` = pending, unexpired, client not deactivated. */
export async function findInvitationByTokenHash(db: Queryable, tokenHash: Buffer): Promise<InvitationTokenRow | undefined> {
  const { rows } = await db.query<InvitationTokenRow>(
    `select i.id, i.token_hash, i.message, i.expires_at,
            (i.status = 'pending' and i.expires_at > now() and c.status <> 'deactivated') as live,
            a.id as agency_id, coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url,
            a.slug, a.client_sign_in, p.id as project_id, p.name as project_name,
            c.id as client_id, c.first_name, c.email as client_email, (c.password_hash is not null) as has_password
       from invitations i
       join agencies a on a.id = i.agency_id
       join projects p on p.id = i.project_id and p.agency_id = i.agency_id
       join clients c on c.id = i.client_id and c.agency_id = i.agency_id
      where i.token_hash = $1`,
    [tokenHash],
  );
  return rows[0];
}

export interface AcceptedInvitation {
  id: string;
  agency_id: string;
  project_id: string;
  client_id: string;
  created_by: string | null;
  token_hash: Buffer;
}

/** The compare-and-set from pending: of two concurrent accepts, one gets the row. */
export async function acceptPendingInvitation(db: Queryable, tokenHash: Buffer): Promise<AcceptedInvitation | undefined> {
  const cas = await db.query<AcceptedInvitation>(
    `update invitations set status = 'accepted', accepted_at = now(), updated_at = now()
      where token_hash = $1 and status = 'pending' and expires_at > now()
      returning id, agency_id, project_id, client_id, created_by, token_hash`,
    [tokenHash],
  );
  return cas.rows[0];
}

/** The pending invitation of this (project, address), locked, and whether it is past its expiry. */
export async function lockPendingInvitation(db: Queryable, projectId: string, email: string): Promise<{ id: string; expired: boolean } | undefined> {
  const { rows } = await db.query<{ id: string; expired: boolean }>(
    `select id, expires_at <= now() as expired from invitations
        where project_id = $1 and email_normalized = lower(btrim($2)) and status = 'pending' for update`,
    [projectId, email],
  );
  return rows[0];
}

export interface InvitationLockRow {
  id: string;
  agency_id: string;
  project_id: string;
  client_id: string;
  email: string;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expired_now: boolean;
  last_sent_at: Date | null;
  token_ciphertext: Buffer | null;
}

export async function lockInvitationRow(db: Queryable, agencyId: string, id: string): Promise<InvitationLockRow | undefined> {
  const { rows } = await db.query<InvitationLockRow>(
    `select id, agency_id, project_id, client_id, email, status, (status = 'pending' and expires_at <= now()) as expired_now,
            last_sent_at, token_ciphertext
       from invitations where agency_id = $1 and id = $2 for update`,
    [agencyId, id],
  );
  return rows[0];
}

/** Whether another invitation of this (project, address) is pending. */
export async function hasOtherPendingInvitation(db: Queryable, projectId: string, email: string, exceptId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `select 1 from invitations where project_id = $1 and email_normalized = lower(btrim($2)) and status = 'pending' and id <> $3`,
    [projectId, email, exceptId],
  );
  return Boolean(rowCount);
}

/** A resend: pending again with a new link, a new expiry from the agency's setting, and one more send. */
export async function renewInvitationLink(db: Queryable, id: string, tokenHash: Buffer, tokenCiphertext: Buffer): Promise<void> {
  await db.query(
    `update invitations i set status = 'pending', token_hash = $2, token_ciphertext = $3,
              expires_at = now() + make_interval(days => a.invite_expiry_days),
              send_count = send_count + 1, last_sent_at = now(), delivery_status = 'queued', delivery_error = null, updated_at = now()
         from agencies a where i.id = $1 and a.id = i.agency_id`,
    [id, tokenHash, tokenCiphertext],
  );
}

/** Revoked, and the link burnt: it can never be redeemed or copied again. */
export async function markInvitationRevoked(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null, updated_at = now() where id = $1`,
    [id],
  );
}

export interface InvitationLinkRow {
  status: string;
  expired_now: boolean;
  token_ciphertext: Buffer | null;
  token_hash: Buffer | null;
  expires_at: Date;
}

export async function getInvitationLinkRow(db: Queryable, agencyId: string, id: string): Promise<InvitationLinkRow | undefined> {
  const { rows } = await db.query<InvitationLinkRow>(
    `select status, (status = 'pending' and expires_at <= now()) as expired_now, token_ciphertext, token_hash, expires_at
       from invitations where agency_id = $1 and id = $2`,
    [agencyId, id],
  );
  return rows[0];
}

/** Up to `batch` due pending invitations marked expired, their queued mail cancelled and `invitation.expired` written; the count. */
export async function expireDueInvitations(db: Queryable, batch: number): Promise<number> {
  const { rowCount } = await db.query(
    `with due as (
         select id from invitations where status = 'pending' and expires_at <= now() order by expires_at limit $1 for update skip locked
       ), marked as (
         update invitations i set status = 'expired', token_hash = null, updated_at = now() from due where i.id = due.id
         returning i.id, i.agency_id, i.project_id, i.client_id
       ), cancelled as (
         update emails e set status = 'cancelled' from marked where e.invitation_id = marked.id and e.status = 'queued'
       )
       ${insertEventsSql('invitation.expired', {
         agencyId: 'agency_id',
         subjectId: 'id',
         data: { project_id: 'project_id', client_id: 'client_id' },
         from: 'from marked',
       })}`,
    [batch],
  );
  return rowCount ?? 0;
}

/** Every pending invitation of the client revoked, links burnt. */
export async function revokePendingInvitationsOfClient(db: Queryable, clientId: string): Promise<Array<{ id: string; project_id: string }>> {
  const revoked = await db.query<{ id: string; project_id: string }>(
    `update invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null, updated_at = now()
        where client_id = $1 and status = 'pending' returning id, project_id`,
    [clientId],
  );
  return revoked.rows;
}

/** The client's pending invitation to the project (if any) revoked, link burnt. */
export async function revokePendingInvitationsInProject(db: Queryable, agencyId: string, projectId: string, clientId: string): Promise<Array<{ id: string }>> {
  const revoked = await db.query<{ id: string }>(
    `update invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null, updated_at = now()
        where agency_id = $1 and project_id = $2 and client_id = $3 and status = 'pending' returning id`,
    [agencyId, projectId, clientId],
  );
  return revoked.rows;
}
