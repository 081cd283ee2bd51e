import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction } from '../db/pool.js';
import { decryptToken, hashToken, openToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { getAgency } from '../sql/agencies.js';
import { findTeammateInvitationByHash } from '../sql/teammateInvitations.js';
import { getSignInLink } from '../sql/clientAccess.js';
import * as sql from '../sql/emails.js';
import type { EmailRow } from '../sql/emails.js';
import { brandingFromAgency, renderEmail, type EmailView } from './templates.js';
import type { OutgoingEmail } from './transport.js';

/** A failure no retry can fix (bad address, undecryptable link): the worker fails the job for good. */
export class PermanentEmailError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentEmailError';
  }
}

export type Composed = { send: OutgoingEmail } | { cancel: string };

// Reminders carry the invitation's link like the others; only invitation and resend set its delivery status.
const invitationKinds = new Set(['invitation', 'invitation_resend', 'invitation_reminder']);
export const isInvitationKind = (kind: string): boolean => invitationKinds.has(kind);

const address = z.email();

/**
 * Rebuilds an email from the ids on its row, as of now: the link from the stored ciphertext and
 * PUBLIC_BASE_URL (never a request's Host), the branding from the agency. Anything that makes the email
 * pointless or its link dead (invitation no longer pending, expired, rotated by a resend, reset already
 * used) cancels it instead: a stale link is never mailed.
 */
export async function composeEmail(deps: Pick<Deps, 'pool' | 'config' | 'appSecret'>, email: EmailRow, now = new Date()): Promise<Composed> {
  const db = deps.pool;
  const agency = await getAgency(db, email.agency_id);
  if (!agency) return { cancel: 'the agency no longer exists' };
  if (!address.safeParse(email.to_address).success) {
    throw new PermanentEmailError(`the recipient address ${JSON.stringify(email.to_address)} is not a valid email address`);
  }
  const branding = brandingFromAgency(agency);
  const base = deps.config.publicBaseUrl;
  // Every client email ends with the agency's own sign-in page.
  const signInUrl = agency.slug ? `${base}/a/${encodeURIComponent(agency.slug)}/login` : null;
  let view: EmailView;
  let toName: string;

  switch (email.kind) {
    case 'invitation':
    case 'invitation_resend':
    case 'invitation_reminder': {
      if (!email.invitation_id) throw new PermanentEmailError('the email names no invitation');
      const inv = await sql.getInvitationForEmail(db, email.agency_id, email.invitation_id);
      if (!inv) return { cancel: 'the invitation no longer exists' };
      if (inv.status !== 'pending') return { cancel: `the invitation is ${inv.status}` };
      if (inv.expires_at.getTime() <= now.getTime()) return { cancel: 'the invitation expired before the email was sent' };
      if (!email.token_ciphertext || !inv.token_ciphertext || !safeEqual(email.token_ciphertext, inv.token_ciphertext)) {
        return { cancel: 'the invitation link was replaced (resent) after this email was queued' };
      }
      if (!inv.token_hash) return { cancel: 'the invitation has no live link' };
      const token = decrypt(() => openToken(deps.appSecret, email.token_ciphertext!, inv.token_hash!, TokenPurpose.invitation));
      toName = `${inv.client_first_name} ${inv.client_last_name}`;
      view = {
        kind: email.kind,
        branding,
        recipientName: toName,
        inviterName: inv.inviter_name,
        projectName: inv.project_name,
        message: inv.message,
        link: `${base}/invite/${encodeURIComponent(token)}`,
        expiresAt: inv.expires_at,
        signInUrl,
      };
      break;
    }
    case 'invitation_accepted': {
      if (!email.invitation_id) throw new PermanentEmailError('the email names no invitation');
      const inv = await sql.getInvitationForEmail(db, email.agency_id, email.invitation_id);
      if (!inv) return { cancel: 'the invitation no longer exists' };
      const user = email.firm_user_id ? await sql.getFirmUserName(db, email.agency_id, email.firm_user_id) : null;
      // An owner told in place of a deactivated inviter (core/src/usecases/accept.ts) reads whose invitation it was.
      const onBehalf = email.firm_user_id !== null && inv.created_by !== null && email.firm_user_id !== inv.created_by;
      toName = user?.name ?? (onBehalf ? '' : (inv.inviter_name ?? ''));
      view = {
        ...(onBehalf ? { onBehalfOf: inv.inviter_name ?? inv.inviter_email ?? 'a former teammate' } : {}),
        kind: 'invitation_accepted',
        branding,
        recipientName: toName || null,
        clientName: `${inv.client_first_name} ${inv.client_last_name}`,
        clientEmail: inv.client_email,
        projectName: inv.project_name,
        acceptedAt: inv.accepted_at ?? email.created_at,
        link: `${base}/console`,
      };
      break;
    }
    case 'password_reset': {
      if (!email.token_ciphertext || !email.client_id) throw new PermanentEmailError('the email names no client or reset link');
      const token = decrypt(() => decryptToken(deps.appSecret, email.token_ciphertext!));
      const reset = await sql.getPasswordReset(db, email.agency_id, hashToken(deps.appSecret, token, TokenPurpose.passwordReset));
      if (!reset || reset.client_id !== email.client_id) return { cancel: 'the password reset no longer exists' };
      if (reset.used_at) return { cancel: 'the password reset link was already used' };
      if (reset.expires_at.getTime() <= now.getTime()) return { cancel: 'the password reset link expired before the email was sent' };
      const client = await sql.getClientName(db, email.agency_id, email.client_id);
      if (!client) return { cancel: 'the client no longer exists' };
      toName = `${client.first_name} ${client.last_name}`;
      view = {
        kind: 'password_reset',
        branding,
        recipientName: toName,
        link: `${base}/reset/${encodeURIComponent(token)}`,
        expiresAt: reset.expires_at,
        signInUrl,
      };
      break;
    }
    case 'sign_in_link': {
      if (!email.token_ciphertext || !email.client_id) throw new PermanentEmailError('the email names no client or sign-in link');
      const token = decrypt(() => decryptToken(deps.appSecret, email.token_ciphertext!));
      const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.signInLink);
      const link = await getSignInLink(db, tokenHash);
      if (!link || link.client_id !== email.client_id || link.agency_id !== email.agency_id) return { cancel: 'the sign-in link no longer exists' };
      if (link.used_at) return { cancel: 'the sign-in link was already used' };
      if (link.expires_at.getTime() <= now.getTime()) return { cancel: 'the sign-in link expired before the email was sent' };
      const client = await sql.getClientName(db, email.agency_id, email.client_id);
      if (!client) return { cancel: 'the client no longer exists' };
      toName = `${client.first_name} ${client.last_name}`;
      view = {
        kind: 'sign_in_link',
        branding,
        recipientName: toName,
        link: `${base}/signin/${encodeURIComponent(token)}`,
        expiresAt: link.expires_at,
        signInUrl,
      };
      break;
    }
    case 'teammate_invitation': {
      if (!email.token_ciphertext || !email.firm_user_id) throw new PermanentEmailError('the email names no teammate or link');
      const token = decrypt(() => decryptToken(deps.appSecret, email.token_ciphertext!));
      const inv = await findTeammateInvitationByHash(db, hashToken(deps.appSecret, token, TokenPurpose.teammateInvitation));
      if (!inv || inv.user_id !== email.firm_user_id || inv.agency_id !== email.agency_id) {
        return { cancel: 'the teammate invitation link was replaced (resent) or revoked after this email was queued' };
      }
      if (!inv.live) return { cancel: `the teammate invitation is ${inv.status === 'pending' ? 'expired' : inv.status}` };
      toName = [inv.user_first_name, inv.user_last_name].filter(Boolean).join(' ');
      view = {
        kind: 'teammate_invitation',
        branding,
        recipientName: toName || null,
        inviterName: inv.inviter_name,
        role: inv.role,
        link: `${base}/console/join/${encodeURIComponent(token)}`,
        expiresAt: inv.expires_at,
      };
      break;
    }
    default:
      throw new PermanentEmailError(`unknown email kind ${JSON.stringify(email.kind)}`);
  }

  const rendered = renderEmail(view);
  return {
    send: {
      emailId: email.id,
      to: { name: toName, address: email.to_address },
      fromName: rendered.fromName,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
    },
  };
}

function decrypt(open: () => string): string {
  try {
    return open();
  } catch {
    throw new PermanentEmailError('the link in this email cannot be rebuilt: APP_SECRET changed since it was queued; resend the invitation');
  }
}

/** Sent: the row, and the invitation's delivery status when this is still its newest email. */
export async function recordEmailSent(deps: Pick<Deps, 'pool'>, email: EmailRow, messageId: string): Promise<void> {
  await sql.markEmailSent(deps.pool, email.agency_id, email.id, messageId, email.invitation_id && isInvitationKind(email.kind) ? email.invitation_id : null);
}

/** Failed for good: the reason goes on the row and on the invitation, where the API shows it. */
export async function recordEmailFailed(
  deps: Pick<Deps, 'pool'>,
  email: Pick<EmailRow, 'id' | 'agency_id' | 'kind' | 'invitation_id'>,
  reason: string,
): Promise<void> {
  await withTransaction(deps.pool, async (tx) => {
    const changed = await sql.markEmailFinished(tx, email.agency_id, email.id, 'failed', reason);
    if (changed && email.invitation_id && isInvitationKind(email.kind)) {
      await sql.setInvitationDelivery(tx, email.agency_id, email.invitation_id, email.id, 'failed', reason);
    }
  });
}

export async function recordEmailCancelled(deps: Pick<Deps, 'pool'>, email: Pick<EmailRow, 'id' | 'agency_id'>, reason: string): Promise<void> {
  await sql.markEmailFinished(deps.pool, email.agency_id, email.id, 'cancelled', reason);
}
