import { z } from 'zod';
import { brandColour, safeUrl, type PageBranding } from '../html.js';
import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { hashPassword, newPasswordSchema, verifyPassword, PASSWORD_MAX } from '../crypto/passwords.js';
import { hashToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { AppError, validationError } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { appendEvent } from '../sql/events.js';
import { activeOwnerEmails, getFirmUserEmailStatus } from '../sql/firmUsers.js';
import { activateClient, getClientPasswordHash, lockClientForAccept } from '../sql/clients.js';
import { acceptPendingInvitation, findInvitationByTokenHash, type InvitationTokenRow } from '../sql/invitations.js';
import { insertMembership } from '../sql/memberships.js';
import { findDeadInvitationLink, type ClientSignIn } from '../sql/clientAccess.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { createClientSessionTx, takeLoginAttempt, type NewSession } from './clientSessions.js';

/** randomToken() output: 32 bytes as unpadded base64url. Anything else is junk and never reaches the database. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
export const isTokenShaped = (token: unknown): token is string => typeof token === 'string' && TOKEN_SHAPE.test(token);

/** What a client-facing page may show of an agency. */
export interface AgencyBranding extends PageBranding {
  id: string;
  /** The agency's sign-in pages live at /a/<slug>/login (issue 16). */
  slug?: string | undefined;
}

export interface InvitationView {
  invitationId: string;
  agency: AgencyBranding;
  project: { id: string; name: string };
  /** The inviter's custom message, as typed (escape it when rendering). */
  message: string | null;
  client: { id: string; firstName: string; email: string; hasPassword: boolean };
  expiresAt: Date;
  /** How the agency's clients sign in: the accept page offers a password, a passwordless join, or both. */
  signIn: ClientSignIn;
}

/** Either a live invitation, or why not in the only terms a page may show: which agency to ask, when known. */
export type InvitationLookup =
  | { valid: true; view: InvitationView }
  /** clientId: whose link it was, so the page can send that client, when signed in, to their portal. */
  | { valid: false; agency: AgencyBranding | null; clientId?: string | undefined };

async function loadByTokenHash(db: Queryable, tokenHash: Buffer): Promise<InvitationTokenRow | null> {
  const row = await findInvitationByTokenHash(db, tokenHash);
  // The unique index found the row; the constant-time compare is what decides.
  if (!row || !safeEqual(row.token_hash, tokenHash)) return null;
  return row;
}

export const brandingOf = (r: { agency_id: string; agency_name: string; brand_color: string; logo_url: string | null; slug?: string }): AgencyBranding => ({
  id: r.agency_id,
  displayName: r.agency_name,
  brandColor: brandColour(r.brand_color),
  logoUrl: safeUrl(r.logo_url),
  ...(r.slug ? { slug: r.slug } : {}),
});

/**
 * Read-only: opening a link never changes anything (mail scanners pre-open links). Unknown, revoked,
 * replaced, accepted and expired tokens, and deactivated clients, all answer "not valid" alike.
 */
export async function lookupInvitationToken(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<InvitationLookup> {
  if (!isTokenShaped(token)) return { valid: false, agency: null };
  const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.invitation);
  const row = await loadByTokenHash(deps.pool, tokenHash);
  if (!row) {
    // Revoked, expired or replaced links keep their hash only in invitation_dead_links (migration 0120):
    // enough to name the agency and the client, never to redeem (acceptance matches invitations.token_hash).
    const dead = await findDeadInvitationLink(deps.pool, tokenHash);
    if (!dead || !safeEqual(dead.token_hash, tokenHash)) return { valid: false, agency: null };
    return { valid: false, agency: brandingOf(dead), clientId: dead.client_id };
  }
  if (!row.live) return { valid: false, agency: brandingOf(row), clientId: row.client_id };
  return {
    valid: true,
    view: {
      invitationId: row.id,
      agency: brandingOf(row),
      project: { id: row.project_id, name: row.project_name },
      message: row.message,
      client: { id: row.client_id, firstName: row.first_name, email: row.client_email, hasPassword: row.has_password },
      expiresAt: row.expires_at,
      signIn: row.client_sign_in,
    },
  };
}

export async function findInvitationByToken(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<InvitationView | null> {
  const found = await lookupInvitationToken(deps, token);
  return found.valid ? found.view : null;
}

export const acceptInput = z.object({
  token: z.string(),
  password: z.string().max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`).optional(),
  newPassword: z.string().optional(),
  /** Join without a password (agencies whose clients sign in by email link: `magic_link` or `either`). */
  passwordless: z.boolean().optional(),
});
export type AcceptInput = z.input<typeof acceptInput>;

export interface AcceptResult {
  invitationId: string;
  clientId: string;
  agencyId: string;
  projectId: string;
  /** A portal session for the client who just accepted (created in the same transaction). */
  session: NewSession;
}

export const invitationGone = (): AppError =>
  new AppError('gone', 'Invitation no longer valid', { detail: 'This invitation link is no longer valid. Ask the agency to send a new one.' });

/**
 * The one way an invitation becomes accepted: a compare-and-set from pending, so of two concurrent
 * accepts exactly one wins (one membership, one event, one notification). The password is checked
 * before the transaction, so a wrong one leaves the invitation pending and holds no row lock while
 * argon2 runs.
 */
export async function acceptInvitation(deps: Deps, raw: AcceptInput): Promise<AcceptResult> {
  const input = parseOrThrow(acceptInput, raw);
  if (!isTokenShaped(input.token)) throw invitationGone();
  const tokenHash = hashToken(deps.appSecret, input.token, TokenPurpose.invitation);
  const found = await loadByTokenHash(deps.pool, tokenHash);
  if (!found || !found.live) throw invitationGone();

  let newHash: string | null = null;
  // magic_link: never a password, the link in the email is the proof. either: the client chose to go without.
  // Holding the invitation link proves the address the same way a sign-in link does.
  const passwordless = found.client_sign_in === 'magic_link' || (found.client_sign_in === 'either' && input.passwordless === true);
  if (passwordless) {
    // Nothing to check or set.
  } else if (found.has_password) {
    if (!input.password) throw validationError([{ field: 'password', message: 'is required' }]);
    // A password check like the sign-in page's, so it shares that page's budget: otherwise a forwarded
    // invitation link would allow unlimited guesses at the client's password.
    await takeLoginAttempt(deps, found.client_email.trim());
    const current = await getClientPasswordHash(deps.pool, found.agency_id, found.client_id);
    if (!current || !(await verifyPassword(current.password_hash, input.password))) {
      throw validationError([{ field: 'password', message: 'is incorrect' }]);
    }
  } else {
    const parsed = newPasswordSchema.safeParse(input.newPassword ?? '');
    if (!parsed.success) throw validationError([{ field: 'new_password', message: parsed.error.issues[0]!.message }]);
    newHash = await hashPassword(parsed.data);
  }

  const { result, emailIds } = await withTransaction(deps.pool, async (tx) => {
    const inv = await acceptPendingInvitation(tx, tokenHash);
    if (!inv || !safeEqual(inv.token_hash, tokenHash)) throw invitationGone();
    const client = await lockClientForAccept(tx, inv.agency_id, inv.client_id);
    // Deactivated between the check and now: the rollback leaves the invitation as it was.
    if (!client || client.status === 'deactivated') throw invitationGone();
    if (!passwordless && client.has_password !== found.has_password) {
      // Another invitation of this client set a password meanwhile; never overwrite it silently.
      throw validationError([{ field: 'password', message: 'was set meanwhile; reload the page and enter it' }]);
    }
    await activateClient(tx, inv.agency_id, inv.client_id, newHash);
    await insertMembership(tx, { projectId: inv.project_id, clientId: inv.client_id, agencyId: inv.agency_id });
    await appendEvent(tx, {
      agencyId: inv.agency_id,
      type: 'invitation.accepted',
      subjectId: inv.id,
      data: { project_id: inv.project_id, client_id: inv.client_id },
    });
    const emailIds: string[] = [];
    if (inv.created_by) {
      // The firm user who sent the invitation is told. If they have been deactivated, the agency's active
      // owners are told instead, so an acceptance never lands in a mailbox nobody at the agency reads.
      const inviter = await getFirmUserEmailStatus(tx, inv.agency_id, inv.created_by);
      const recipients =
        inviter && inviter.status === 'active' ? [{ id: inv.created_by, email: inviter.email }] : inviter ? await activeOwnerEmails(tx, inv.agency_id) : [];
      for (const r of recipients) {
        emailIds.push(
          await queueEmailTx(tx, {
            agencyId: inv.agency_id,
            kind: 'invitation_accepted',
            to: r.email,
            invitationId: inv.id,
            clientId: inv.client_id,
            firmUserId: r.id,
          }),
        );
      }
    }
    const session = await createClientSessionTx(tx, deps.appSecret, { clientId: inv.client_id, agencyId: inv.agency_id });
    return {
      result: { invitationId: inv.id, clientId: inv.client_id, agencyId: inv.agency_id, projectId: inv.project_id, session },
      emailIds,
    };
  });
  await enqueueEmails(deps, emailIds);
  return result;
}
