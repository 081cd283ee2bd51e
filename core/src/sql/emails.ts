import type { Queryable } from '../db/pool.js';
import type { EmailKind, QueueEmailInput } from '../usecases/emails.js';

export type EmailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled';

export interface EmailRow {
  id: string;
  agency_id: string;
  kind: EmailKind;
  to_address: string;
  invitation_id: string | null;
  client_id: string | null;
  firm_user_id: string | null;
  token_ciphertext: Buffer | null;
  status: EmailStatus;
  attempts: number;
  error: string | null;
  message_id: string | null;
  created_at: Date;
  sent_at: Date | null;
  locked_until: Date | null;
}

const columns =
  'id, agency_id, kind, to_address, invitation_id, client_id, firm_user_id, token_ciphertext, status, attempts, error, message_id, created_at, sent_at, locked_until';

/** The worker only has the id from the job payload; every later query is scoped by the row's agency_id. */
export async function getEmailById(db: Queryable, id: string): Promise<EmailRow | null> {
  const { rows } = await db.query<EmailRow>(`select ${columns} from emails where id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * Claim an email for one send attempt: queued (or sending with an expired lease: the previous worker died
 * mid-send) -> sending, attempts + 1. Returns null when another attempt holds the lease or it is done.
 */
export async function claimEmail(db: Queryable, id: string, leaseSeconds: number): Promise<EmailRow | null> {
  const { rows } = await db.query<EmailRow>({
    name: 'onramp-email-claim',
    text: `update emails set status = 'sending', attempts = attempts + 1, locked_until = now() + make_interval(secs => $2)
      where id = $1 and (status = 'queued' or (status = 'sending' and locked_until < now()))
      returning ${columns}`,
    values: [id, leaseSeconds],
  });
  return rows[0] ?? null;
}

/**
 * The rule of an invitation's delivery status: it follows its newest invitation email only, so an old job
 * that finishes late never overwrites what a newer send reported.
 */
const isNewestInvitationEmail = (agencyId: string, invitationId: string, emailId: string) =>
  `${emailId} = (select e.id from emails e
                  where e.agency_id = ${agencyId} and e.invitation_id = ${invitationId} and e.kind in ('invitation', 'invitation_resend')
                  order by e.created_at desc, e.id desc limit 1)`;

/**
 * Sent, and (for an invitation's email) the invitation's delivery status, in one statement: the
 * invitation shows `sent` only if this is its newest invitation email (isNewestInvitationEmail).
 */
export async function markEmailSent(db: Queryable, agencyId: string, id: string, messageId: string, invitationId: string | null): Promise<void> {
  await db.query({
    name: 'onramp-email-sent',
    text: `with e as (
             update emails set status = 'sent', sent_at = now(), message_id = $3, error = null, locked_until = null
              where agency_id = $1 and id = $2
           )
           update invitations i set delivery_status = 'sent', delivery_error = null, updated_at = now()
            where $4::uuid is not null and i.agency_id = $1 and i.id = $4::uuid
              and ${isNewestInvitationEmail('$1', '$4::uuid', '$2::uuid')}`,
    values: [agencyId, id, messageId, invitationId],
  });
}

/** Terminal, non-sent outcomes. Only from `sending`/`queued`, so a late attempt never un-sends a sent email. */
export async function markEmailFinished(db: Queryable, agencyId: string, id: string, status: 'failed' | 'cancelled', error: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update emails set status = $3, error = $4, locked_until = null
      where agency_id = $1 and id = $2 and status in ('queued', 'sending')`,
    [agencyId, id, status, error.slice(0, 2000)],
  );
  return (rowCount ?? 0) > 0;
}

/** A transient failure: back to queued (BullMQ retries with backoff), the reason kept for people to see. */
export async function releaseEmail(db: Queryable, agencyId: string, id: string, error: string): Promise<void> {
  await db.query(`update emails set status = 'queued', error = $3, locked_until = null where agency_id = $1 and id = $2 and status = 'sending'`, [
    agencyId,
    id,
    error.slice(0, 2000),
  ]);
}

/** The invitation's delivery status, if this is its newest invitation email (isNewestInvitationEmail). */
export async function setInvitationDelivery(
  db: Queryable,
  agencyId: string,
  invitationId: string,
  emailId: string,
  status: 'sent' | 'failed',
  error: string | null,
): Promise<boolean> {
  // Named, as the worker's other per-email statements: planned once per connection, not for every email.
  const { rowCount } = await db.query({
    name: 'onramp-invitation-delivery',
    text: `update invitations i set delivery_status = $4, delivery_error = $5, updated_at = now()
      where i.agency_id = $1 and i.id = $2
        and ${isNewestInvitationEmail('$1', '$2', '$3::uuid')}`,
    values: [agencyId, invitationId, emailId, status, error === null ? null : error.slice(0, 2000)],
  });
  return (rowCount ?? 0) > 0;
}

export interface InvitationForEmail {
  id: string;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  expires_at: Date;
  token_ciphertext: Buffer | null;
  token_hash: Buffer | null;
  message: string | null;
  accepted_at: Date | null;
  project_name: string;
  client_first_name: string;
  client_last_name: string;
  client_email: string;
  inviter_name: string | null;
  inviter_email: string | null;
  created_by: string | null;
}

export async function getInvitationForEmail(db: Queryable, agencyId: string, invitationId: string): Promise<InvitationForEmail | null> {
  // Named: a four-table join planned for every email cost 0.6 ms of PostgreSQL CPU each (pg_stat_statements).
  // Each row is found by its primary key alone and its agency checked on the row found (OFFSET 0 keeps the
  // planner from folding the check into the lookup). Written as a plain join, the plan kept for the
  // connection could instead scan the agency's clients and projects for every email: there are no statistics
  // on agency_id (migration 0097), so the agency is estimated at 0.5% of each table, and a merge or hash join
  // over "the agency's few clients" looks cheap. Measured on a new database under the invite bench: 11.6 ms
  // an email (3,800 clients read each time), half of PostgreSQL's time while invites were being created.
  const { rows } = await db.query<InvitationForEmail>({
    name: 'onramp-invitation-for-email',
    text: `select i.id, i.status, i.expires_at, i.token_ciphertext, i.token_hash, i.message, i.accepted_at,
            p.name as project_name, c.first_name as client_first_name, c.last_name as client_last_name,
            c.email as client_email, u.name as inviter_name, u.email as inviter_email, i.created_by
       from (select * from invitations where id = $2 offset 0) i
       join lateral (select name, agency_id from projects where id = i.project_id offset 0) p on p.agency_id = i.agency_id
       join lateral (select first_name, last_name, email, agency_id from clients where id = i.client_id offset 0) c on c.agency_id = i.agency_id
       left join lateral (select name, email, agency_id from firm_users where id = i.created_by offset 0) u on u.agency_id = i.agency_id
      where i.agency_id = $1`,
    values: [agencyId, invitationId],
  });
  return rows[0] ?? null;
}

export async function getClientName(db: Queryable, agencyId: string, clientId: string): Promise<{ first_name: string; last_name: string } | null> {
  const { rows } = await db.query<{ first_name: string; last_name: string }>('select first_name, last_name from clients where agency_id = $1 and id = $2', [
    agencyId,
    clientId,
  ]);
  return rows[0] ?? null;
}

export async function getFirmUserName(db: Queryable, agencyId: string, userId: string): Promise<{ name: string | null } | null> {
  const { rows } = await db.query<{ name: string | null }>('select name from firm_users where agency_id = $1 and id = $2', [agencyId, userId]);
  return rows[0] ?? null;
}

export async function getPasswordReset(
  db: Queryable,
  agencyId: string,
  tokenHash: Buffer,
): Promise<{ client_id: string; expires_at: Date; used_at: Date | null } | null> {
  const { rows } = await db.query<{ client_id: string; expires_at: Date; used_at: Date | null }>(
    'select client_id, expires_at, used_at from password_resets where agency_id = $1 and token_hash = $2',
    [agencyId, tokenHash],
  );
  return rows[0] ?? null;
}

/**
 * Outbox rows a sweep should look at: queued for a while, or sending with a lease long expired. A queued
 * email still in email_relay is not lost: the relay holds it back while the email queue is full.
 */
export async function findStuckEmails(
  db: Queryable,
  queuedForSeconds: number,
  limit: number,
): Promise<Array<{ id: string; agency_id: string; status: EmailStatus; attempts: number }>> {
  const { rows } = await db.query<{ id: string; agency_id: string; status: EmailStatus; attempts: number }>(
    `(select id, agency_id, status, attempts from emails e
       where status = 'queued' and created_at < now() - make_interval(secs => $1)
         and not exists (select 1 from email_relay r where r.email_id = e.id)
       order by created_at limit $2)
     union all
     (select id, agency_id, status, attempts from emails
       where status = 'sending' and locked_until < now() - make_interval(secs => $1) order by locked_until limit $2)`,
    [queuedForSeconds, limit],
  );
  return rows;
}

/** How many of these email rows are in each status (ids with no row are not counted). */
export async function countEmailsByStatus(db: Queryable, ids: string[]): Promise<Partial<Record<EmailStatus, number>>> {
  const { rows } = await db.query<{ status: EmailStatus; n: number }>(
    'select status, count(*)::int as n from emails where id = any($1::uuid[]) group by status',
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** The outbox row, in the caller's transaction; its id is what the send-email job carries. */
export async function insertEmail(db: Queryable, input: QueueEmailInput): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into emails (agency_id, kind, to_address, invitation_id, client_id, firm_user_id, token_ciphertext)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [input.agencyId, input.kind, input.to, input.invitationId ?? null, input.clientId ?? null, input.firmUserId ?? null, input.tokenCiphertext ?? null],
  );
  return rows[0]!.id;
}

/** Mail still waiting with an invitation's old link must not go out. */
export async function cancelQueuedInvitationEmails(db: Queryable, invitationId: string): Promise<void> {
  await db.query(`update emails set status = 'cancelled' where invitation_id = $1 and status = 'queued'`, [invitationId]);
}

/** Resend emails of an invitation in the last day, and the oldest of them. */
export async function countRecentResends(db: Queryable, invitationId: string): Promise<{ n: number; oldest: Date | null } | undefined> {
  const { rows } = await db.query<{ n: number; oldest: Date | null }>(
    `select count(*)::int as n, min(created_at) as oldest from emails
        where invitation_id = $1 and kind = 'invitation_resend' and created_at > now() - interval '1 day'`,
    [invitationId],
  );
  return rows[0];
}

/** Queued mail of these invitations is cancelled (used after they are revoked). */
export async function cancelQueuedEmailsOfInvitations(db: Queryable, invitationIds: string[]): Promise<void> {
  await db.query(`update emails set status = 'cancelled' where status = 'queued' and invitation_id = any($1::uuid[])`, [invitationIds]);
}
