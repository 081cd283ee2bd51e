// Named builders for states a test cannot reach through the API in reasonable time (an expiry passing, a
// row left by a crash) or that another actor produces (a client accepting): one function per state, so a
// test says what it sets up, and the columns that state involves are written together in one place.
import type { Queryable } from '@onramp/core';

type Interval = `${number} ${'second' | 'seconds' | 'minute' | 'minutes' | 'hour' | 'hours' | 'day' | 'days'}`;

/** The invitation's expiry passed `ago` (it stays pending: what the sweep or the next invite will find). */
export async function expireInvitation(db: Queryable, invitationId: string, ago: Interval = '1 second'): Promise<void> {
  await db.query(`update invitations set expires_at = now() - $2::interval where id = $1`, [invitationId, ago]);
}

/** The invitation was last sent `ago` (past the resend throttle). */
export async function lastSentAgo(db: Queryable, invitationId: string, ago: Interval): Promise<void> {
  await db.query(`update invitations set last_sent_at = now() - $2::interval where id = $1`, [invitationId, ago]);
}

/** The client accepted (without the membership or the event: for tests of what reads the invitation). */
export async function markInvitationAccepted(db: Queryable, invitationId: string, opts: { burnLink?: boolean } = {}): Promise<void> {
  await db.query(`update invitations set status = 'accepted', accepted_at = now(), token_hash = case when $2 then null else token_hash end where id = $1`, [
    invitationId,
    opts.burnLink ?? false,
  ]);
}

/** The invitation was revoked (its link burnt). */
export async function markInvitationRevoked(db: Queryable, invitationId: string): Promise<void> {
  await db.query(`update invitations set status = 'revoked', revoked_at = now(), token_hash = null where id = $1`, [invitationId]);
}

/** The client is active (as after accepting an invitation). */
export async function activateClient(db: Queryable, clientId: string, opts: { stampActivatedAt?: boolean } = {}): Promise<void> {
  await db.query(`update clients set status = 'active', activated_at = case when $2 then now() else activated_at end where id = $1`, [
    clientId,
    opts.stampActivatedAt ?? true,
  ]);
}

/** The client of this email in the agency is active. */
export async function activateClientByEmail(db: Queryable, agencyId: string, emailNormalized: string): Promise<void> {
  await db.query(`update clients set status = 'active' where agency_id = $1 and email_normalized = $2`, [agencyId, emailNormalized]);
}

/** The client is deactivated; `endSessions` also revokes their portal sessions, as deactivating does. */
export async function deactivateClient(db: Queryable, clientId: string, opts: { stampDeactivatedAt?: boolean; endSessions?: boolean } = {}): Promise<void> {
  await db.query(`update clients set status = 'deactivated', deactivated_at = case when $2 then now() else deactivated_at end where id = $1`, [
    clientId,
    opts.stampDeactivatedAt ?? false,
  ]);
  if (opts.endSessions) await db.query('update client_sessions set revoked_at = now() where client_id = $1', [clientId]);
}

/** The outbox email is in this state (as a crash or a finished job could leave it). */
export async function setEmailStatus(db: Queryable, emailId: string, status: 'queued' | 'cancelled'): Promise<void> {
  await db.query('update emails set status = $2 where id = $1', [emailId, status]);
}

/** The outbox email was written `ago` (older than the sweep's grace period). */
export async function ageEmail(db: Queryable, emailId: string, ago: Interval): Promise<void> {
  await db.query('update emails set created_at = now() - $2::interval where id = $1', [emailId, ago]);
}

/** The project is archived. */
export async function archiveProject(db: Queryable, projectId: string): Promise<void> {
  await db.query('update projects set archived_at = now() where id = $1', [projectId]);
}

/** The client's password-reset links have expired. */
export async function expirePasswordResets(db: Queryable, clientId: string): Promise<void> {
  await db.query(`update password_resets set expires_at = now() - interval '1 second' where client_id = $1`, [clientId]);
}

/** An active firm user added straight to the agency (a teammate who has joined), with no password yet. */
export async function addFirmUser(
  db: Queryable,
  input: { agencyId: string; email: string; role: 'owner' | 'admin' | 'member'; name?: string; firstName?: string; lastName?: string },
): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `insert into firm_users (agency_id, email, name, first_name, last_name, role, status) values ($1, $2, $3, $4, $5, $6, 'active') returning id`,
    [input.agencyId, input.email.trim(), input.name ?? null, input.firstName ?? null, input.lastName ?? null, input.role],
  );
  return rows[0]!;
}

/** The agency's branding as its owner would set it, without the settings API's checks (names a test wants hostile). */
export async function setAgencyBranding(
  db: Queryable,
  agencyId: string,
  branding: { display_name?: string; sender_name?: string; brand_color?: string },
): Promise<void> {
  await db.query(
    `update agencies set display_name = coalesce($2, display_name), sender_name = coalesce($3, sender_name), brand_color = coalesce($4, brand_color),
            updated_at = now() where id = $1`,
    [agencyId, branding.display_name ?? null, branding.sender_name ?? null, branding.brand_color ?? null],
  );
}

/**
 * An event as a change would have written it (through the event catalog's checks): for tests of what reads
 * events (webhook fan-out, feeds) that need events the API would take long to produce, or in a given order.
 */
export { appendEvent as recordEvent } from '../../core/src/sql/events.js';
