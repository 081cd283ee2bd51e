import type { Queryable } from '../db/pool.js';

/** How an agency's clients sign in (agencies.client_sign_in). */
export type ClientSignIn = 'password' | 'magic_link' | 'either';

export interface ClientAccessRow {
  client_sign_in: ClientSignIn;
  reminder_hours_before: number[];
}

export async function getClientAccess(db: Queryable, agencyId: string): Promise<ClientAccessRow | null> {
  const { rows } = await db.query<ClientAccessRow>('select client_sign_in, reminder_hours_before from agencies where id = $1', [agencyId]);
  return rows[0] ?? null;
}

export async function updateClientAccess(db: Queryable, agencyId: string, patch: Partial<ClientAccessRow>): Promise<ClientAccessRow | null> {
  const { rows } = await db.query<ClientAccessRow>(
    `update agencies set client_sign_in = coalesce($2, client_sign_in), reminder_hours_before = coalesce($3::int[], reminder_hours_before)
      where id = $1 returning client_sign_in, reminder_hours_before`,
    [agencyId, patch.client_sign_in ?? null, patch.reminder_hours_before ?? null],
  );
  return rows[0] ?? null;
}

/** What an agency-aware page shows: its branding columns, its slug and its sign-in mode. */
export interface AgencyPageRow {
  agency_id: string;
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  slug: string;
  client_sign_in: ClientSignIn;
}

const pageColumns = `a.id as agency_id, coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url, a.slug, a.client_sign_in`;

export async function getAgencyPageBySlug(db: Queryable, slug: string): Promise<AgencyPageRow | null> {
  const { rows } = await db.query<AgencyPageRow>(`select ${pageColumns} from agencies a where a.slug = $1`, [slug]);
  return rows[0] ?? null;
}

export async function getAgencyPageById(db: Queryable, agencyId: string): Promise<AgencyPageRow | null> {
  const { rows } = await db.query<AgencyPageRow>(`select ${pageColumns} from agencies a where a.id = $1`, [agencyId]);
  return rows[0] ?? null;
}

/** A dead invitation link (revoked, expired, replaced): whose it was, never a way to redeem it. */
export async function findDeadInvitationLink(db: Queryable, tokenHash: Buffer): Promise<(AgencyPageRow & { token_hash: Buffer; client_id: string }) | null> {
  const { rows } = await db.query<AgencyPageRow & { token_hash: Buffer; client_id: string }>(
    `select d.token_hash, d.client_id, ${pageColumns}
       from invitation_dead_links d join agencies a on a.id = d.agency_id
      where d.token_hash = $1`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

// --- sign-in links -------------------------------------------------------------------------------------

export interface SignInCandidate {
  id: string;
  agency_id: string;
  email: string;
}

/**
 * Active clients with this address who may sign in by link: their agency allows it and they still belong
 * to a project (no portal otherwise). One agency when the page named one, else every agency.
 */
export async function findSignInLinkCandidates(db: Queryable, email: string, agencyId: string | null): Promise<SignInCandidate[]> {
  const { rows } = await db.query<SignInCandidate>(
    `select c.id, c.agency_id, c.email from clients c join agencies a on a.id = c.agency_id
      where c.email_normalized = lower(btrim($1)) and c.status = 'active' and a.client_sign_in in ('magic_link', 'either')
        and ($2::uuid is null or c.agency_id = $2)
        and exists (select 1 from memberships m where m.client_id = c.id and m.agency_id = c.agency_id)
      limit 20`,
    [email, agencyId],
  );
  return rows;
}

export async function insertSignInLink(db: Queryable, input: { tokenHash: Buffer; clientId: string; agencyId: string; ttlMinutes: number }): Promise<void> {
  await db.query(`insert into sign_in_links (token_hash, client_id, agency_id, expires_at) values ($1, $2, $3, now() + make_interval(mins => $4))`, [
    input.tokenHash,
    input.clientId,
    input.agencyId,
    input.ttlMinutes,
  ]);
}

export interface SignInLinkRow extends AgencyPageRow {
  token_hash: Buffer;
  live: boolean;
  client_id: string;
  first_name: string;
  email: string;
  expires_at: Date;
  used_at: Date | null;
}

export async function getSignInLink(db: Queryable, tokenHash: Buffer): Promise<SignInLinkRow | null> {
  const { rows } = await db.query<SignInLinkRow>(
    `select l.token_hash, l.expires_at, l.used_at, c.id as client_id, c.first_name, c.email,
            (l.used_at is null and l.expires_at > now() and c.status = 'active') as live, ${pageColumns}
       from sign_in_links l
       join clients c on c.id = l.client_id and c.agency_id = l.agency_id
       join agencies a on a.id = l.agency_id
      where l.token_hash = $1`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** The single use: a compare-and-set on used_at, so of two concurrent clicks exactly one signs in. */
export async function useSignInLink(db: Queryable, tokenHash: Buffer): Promise<{ token_hash: Buffer; client_id: string; agency_id: string } | null> {
  const { rows } = await db.query<{ token_hash: Buffer; client_id: string; agency_id: string }>(
    `update sign_in_links l set used_at = now()
       from clients c
      where l.token_hash = $1 and l.used_at is null and l.expires_at > now()
        and c.id = l.client_id and c.agency_id = l.agency_id and c.status = 'active'
      returning l.token_hash, l.client_id, l.agency_id`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** Links expired over a day ago are of no use to anyone, not even to tell their page apart. */
export async function purgeSignInLinks(db: Queryable): Promise<number> {
  const { rowCount } = await db.query("delete from sign_in_links where expires_at < now() - interval '1 day'");
  return rowCount ?? 0;
}

// --- reminders -----------------------------------------------------------------------------------------

export interface DueReminder {
  id: string;
  agency_id: string;
  client_id: string;
  email: string;
  project_id: string;
  token_ciphertext: Buffer;
  /** Every schedule step now due and not yet claimed, smallest (closest to expiry) first. */
  steps: number[];
}

/**
 * Pending, emailed invitations with a live link inside one of their agency's reminder windows, whose step is
 * not claimed yet. An invitation last sent after the reminder point (a short expiry, a recent resend) is not
 * reminded for that step: the client has just had an email.
 */
export async function findDueReminders(db: Queryable, limit: number): Promise<DueReminder[]> {
  const { rows } = await db.query<DueReminder>(
    // The widest step of any agency bounds the scan of the pending-expiry index: with the default 24 hours
    // only invitations expiring within a day are read, not every pending one.
    `with bound as (select coalesce(max(h), 0) as hours from agencies, unnest(reminder_hours_before) as h)
     select i.id, i.agency_id, i.client_id, i.email, i.project_id, i.token_ciphertext,
            array_agg(h.hours order by h.hours) as steps
       from bound, invitations i
       join agencies a on a.id = i.agency_id
       join clients c on c.id = i.client_id and c.agency_id = i.agency_id
       cross join lateral unnest(a.reminder_hours_before) as h(hours)
      where i.status = 'pending' and i.expires_at > now() and i.expires_at <= now() + make_interval(hours => bound.hours)
        and i.token_hash is not null and i.token_ciphertext is not null and i.send_count > 0
        and c.status <> 'deactivated'
        and i.expires_at <= now() + make_interval(hours => h.hours)
        and i.last_sent_at < i.expires_at - make_interval(hours => h.hours)
        and not exists (select 1 from invitation_reminders r where r.invitation_id = i.id and r.hours_before = h.hours)
      group by i.id, bound.hours
      order by min(i.expires_at)
      limit $1`,
    [limit],
  );
  return rows;
}

/**
 * Claims schedule steps of one invitation. The primary key (invitation, step) makes this the single
 * decision between concurrent sweeps: a second claimer waits for the first transaction and then inserts
 * nothing. Returns the steps this caller claimed.
 */
export async function claimReminderSteps(db: Queryable, agencyId: string, invitationId: string, steps: number[]): Promise<number[]> {
  const { rows } = await db.query<{ hours_before: number }>(
    `insert into invitation_reminders (invitation_id, hours_before, agency_id)
     select $2, h, $1 from unnest($3::int[]) as h
     on conflict (invitation_id, hours_before) do nothing
     returning hours_before`,
    [agencyId, invitationId, steps],
  );
  return rows.map((r) => r.hours_before);
}

/** The invitation, still pending with the same link, counts the reminder; null when it changed meanwhile. */
export async function markReminded(
  db: Queryable,
  agencyId: string,
  invitationId: string,
  tokenCiphertext: Buffer,
): Promise<{ reminders_sent: number; last_reminded_at: Date } | null> {
  const { rows } = await db.query<{ reminders_sent: number; last_reminded_at: Date }>(
    `update invitations set reminders_sent = reminders_sent + 1, last_reminded_at = now(), updated_at = now()
      where agency_id = $1 and id = $2 and status = 'pending' and expires_at > now() and token_ciphertext = $3
      returning reminders_sent, last_reminded_at`,
    [agencyId, invitationId, tokenCiphertext],
  );
  return rows[0] ?? null;
}

export async function setReminderEmail(db: Queryable, invitationId: string, hours: number, emailId: string): Promise<void> {
  await db.query('update invitation_reminders set email_id = $3 where invitation_id = $1 and hours_before = $2', [invitationId, hours, emailId]);
}
