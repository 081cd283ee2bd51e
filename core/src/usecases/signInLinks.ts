import type { Deps } from '../context.js';
import { withTransaction } from '../db/pool.js';
import { encryptToken, hashToken, randomToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { AppError } from '../errors/AppError.js';
import * as sql from '../sql/clientAccess.js';
import { emailAddress } from './inputs.js';
import { isTokenShaped } from './accept.js';
import { agencyPageOf, type AgencyPage } from './agencyPages.js';
import { createClientSessionTx, type NewSession } from './clientSessions.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { takeRecipientQuota, takeSignInLinkQuota } from './rateLimits.js';

/** A sign-in link works once, for this long. */
export const SIGN_IN_LINK_TTL_MINUTES = 15;

/**
 * "Email me a sign-in link", for clients of agencies whose clients sign in by link (`magic_link` or
 * `either`). Says nothing back: the page answers the same whether or not the address has an account.
 * The per-address and per-agency limits (Redis) are taken before anything is looked up, so a 429 cannot tell
 * an address with an account from one without. From an agency's page (agencyId) only that agency's client
 * gets a link; from the neutral page every agency's client with that address does, each in its own email.
 */
export async function requestSignInLink(deps: Deps, input: { email: string; agencyId: string | null }): Promise<void> {
  const parsed = emailAddress.safeParse(input.email);
  if (!parsed.success) return;
  await takeSignInLinkQuota(deps, parsed.data, input.agencyId);
  const candidates = await sql.findSignInLinkCandidates(deps.pool, parsed.data, input.agencyId);
  const emailIds: string[] = [];
  for (const client of candidates) {
    try {
      // The neutral page took no agency's quota above; it counts here, silently like the recipient quota.
      if (!input.agencyId) await takeSignInLinkQuota(deps, null, client.agency_id);
      await takeRecipientQuota(deps, client.agency_id, client.email);
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') continue;
      throw err;
    }
    const token = randomToken();
    const id = await withTransaction(deps.pool, async (tx) => {
      await sql.insertSignInLink(tx, {
        tokenHash: hashToken(deps.appSecret, token, TokenPurpose.signInLink),
        clientId: client.id,
        agencyId: client.agency_id,
        ttlMinutes: SIGN_IN_LINK_TTL_MINUTES,
      });
      return queueEmailTx(tx, {
        agencyId: client.agency_id,
        kind: 'sign_in_link',
        to: client.email,
        clientId: client.id,
        tokenCiphertext: encryptToken(deps.appSecret, token),
      });
    });
    emailIds.push(id);
  }
  await enqueueEmails(deps, emailIds);
}

export interface SignInLinkView {
  agency: AgencyPage;
  client: { id: string; firstName: string; email: string };
  expiresAt: Date;
}

export type SignInLinkLookup = { valid: true; view: SignInLinkView } | { valid: false; agency: AgencyPage | null };

/** Read-only: opening the link (a mail scanner does) shows a button; only the POST signs in. */
export async function lookupSignInLink(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<SignInLinkLookup> {
  if (!isTokenShaped(token)) return { valid: false, agency: null };
  const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.signInLink);
  const row = await sql.getSignInLink(deps.pool, tokenHash);
  if (!row || !safeEqual(row.token_hash, tokenHash)) return { valid: false, agency: null };
  const agency = agencyPageOf(row);
  if (!row.live) return { valid: false, agency };
  return { valid: true, view: { agency, client: { id: row.client_id, firstName: row.first_name, email: row.email }, expiresAt: row.expires_at } };
}

export const signInLinkGone = (): AppError =>
  new AppError('gone', 'Sign-in link no longer valid', { detail: 'This sign-in link was already used or has expired. Ask for a new one.' });

/** Uses the link (once: a compare-and-set on used_at) and opens a portal session in the same transaction. */
export async function redeemSignInLink(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string): Promise<NewSession & { clientId: string; agencyId: string }> {
  if (!isTokenShaped(token)) throw signInLinkGone();
  const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.signInLink);
  return withTransaction(deps.pool, async (tx) => {
    const used = await sql.useSignInLink(tx, tokenHash);
    if (!used || !safeEqual(used.token_hash, tokenHash)) throw signInLinkGone();
    const session = await createClientSessionTx(tx, deps.appSecret, { clientId: used.client_id, agencyId: used.agency_id });
    return { ...session, clientId: used.client_id, agencyId: used.agency_id };
  });
}

/** The sweep: used and expired sign-in links are deleted; the count. */
export async function purgeSignInLinks(deps: Pick<Deps, 'pool'>): Promise<number> {
  return sql.purgeSignInLinks(deps.pool);
}
