import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { hashPassword, newPasswordSchema } from '../crypto/passwords.js';
import { encryptToken, hashToken, randomToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { AppError, validationError } from '../errors/AppError.js';
import { emailAddress } from './inputs.js';
import { brandingOf, isTokenShaped, type AgencyBranding } from './accept.js';
import { createClientSessionTx, type NewSession } from './clientSessions.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { takeRecipientQuota } from './rateLimits.js';
import { setActiveClientPassword } from '../sql/clients.js';
import {
  burnPasswordResetsOfClient,
  findPasswordReset,
  findResettableClients,
  insertPasswordReset,
  usePasswordReset,
  type PasswordResetRow,
} from '../sql/passwordResets.js';
import { revokeClientSessionsOfClient } from '../sql/sessions.js';

export const RESET_TTL_MINUTES = 60;

/**
 * "Forgot password": one reset link per active client with this address (an address can be a client of
 * several agencies; each gets its own branded email). Says nothing back: the page answers the same
 * whether or not an account exists, and a recipient over their daily email quota is skipped silently.
 */
export async function requestPasswordReset(deps: Deps, rawEmail: string, agencyId: string | null = null): Promise<void> {
  const parsed = emailAddress.safeParse(rawEmail);
  if (!parsed.success) return;
  const clients = await findResettableClients(deps.pool, parsed.data, agencyId);
  const emailIds: string[] = [];
  for (const client of clients) {
    try {
      await takeRecipientQuota(deps, client.agency_id, client.email);
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') continue;
      throw err;
    }
    const token = randomToken();
    const id = await withTransaction(deps.pool, async (tx) => {
      await insertPasswordReset(tx, {
        tokenHash: hashToken(deps.appSecret, token, TokenPurpose.passwordReset),
        clientId: client.id,
        agencyId: client.agency_id,
        ttlMinutes: RESET_TTL_MINUTES,
      });
      return queueEmailTx(tx, {
        agencyId: client.agency_id,
        kind: 'password_reset',
        to: client.email,
        clientId: client.id,
        tokenCiphertext: encryptToken(deps.appSecret, token),
      });
    });
    emailIds.push(id);
  }
  await enqueueEmails(deps, emailIds);
}

export interface ResetView {
  agency: AgencyBranding;
  client: { id: string; firstName: string; email: string };
}

export type ResetLookup = { valid: true; view: ResetView } | { valid: false; agency: AgencyBranding | null };

async function loadReset(db: Queryable, tokenHash: Buffer): Promise<PasswordResetRow | null> {
  const row = await findPasswordReset(db, tokenHash);
  if (!row || !safeEqual(row.token_hash, tokenHash)) return null;
  return row;
}

/** Read-only, like the invitation page: opening a reset link never uses it up. */
export async function lookupResetToken(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<ResetLookup> {
  if (!isTokenShaped(token)) return { valid: false, agency: null };
  const row = await loadReset(deps.pool, hashToken(deps.appSecret, token, TokenPurpose.passwordReset));
  if (!row) return { valid: false, agency: null };
  const agency = brandingOf(row);
  if (!row.live) return { valid: false, agency };
  return { valid: true, view: { agency, client: { id: row.client_id, firstName: row.first_name, email: row.email } } };
}

export const resetGone = (): AppError =>
  new AppError('gone', 'Reset link no longer valid', { detail: 'This password reset link is no longer valid. Ask for a new one.' });

/**
 * Single use by compare-and-set on used_at. A new password ends every other session of the client (the
 * reason people reset is often that someone else may be signed in) and signs this browser in.
 */
export async function resetPassword(deps: Deps, input: { token: string; newPassword: unknown }): Promise<NewSession & { clientId: string; agencyId: string }> {
  if (!isTokenShaped(input.token)) throw resetGone();
  const tokenHash = hashToken(deps.appSecret, input.token, TokenPurpose.passwordReset);
  const found = await loadReset(deps.pool, tokenHash);
  if (!found || !found.live) throw resetGone();
  const parsed = newPasswordSchema.safeParse(input.newPassword ?? '');
  if (!parsed.success) throw validationError([{ field: 'new_password', message: parsed.error.issues[0]!.message }]);
  const passwordHash = await hashPassword(parsed.data);
  return withTransaction(deps.pool, async (tx) => {
    const reset = await usePasswordReset(tx, tokenHash);
    if (!reset || !safeEqual(reset.token_hash, tokenHash)) throw resetGone();
    if (!(await setActiveClientPassword(tx, reset.agency_id, reset.client_id, passwordHash))) throw resetGone();
    await revokeClientSessionsOfClient(tx, reset.client_id);
    // Other reset links sent earlier die with this one.
    await burnPasswordResetsOfClient(tx, reset.client_id);
    const session = await createClientSessionTx(tx, deps.appSecret, { clientId: reset.client_id, agencyId: reset.agency_id });
    return { ...session, clientId: reset.client_id, agencyId: reset.agency_id };
  });
}
