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

export const RESET_TTL_MINUTES = 60;

/**
 * "Forgot password": one reset link per active client with this address (an address can be a client of
 * several agencies; each gets its own branded email). Says nothing back: the page answers the same
 * whether or not an account exists, and a recipient over their daily email quota is skipped silently.
 */
export async function requestPasswordReset(deps: Deps, rawEmail: string, agencyId: string | null = null): Promise<void> {
  const parsed = emailAddress.safeParse(rawEmail);
  if (!parsed.success) return;
  const { rows: clients } = await deps.pool.query<{ id: string; agency_id: string; email: string }>(
    // From an agency's own page (/a/<slug>/forgot) only that agency; never an agency whose clients have no
    // password at all (client_sign_in = magic_link).
    `select c.id, c.agency_id, c.email from clients c join agencies a on a.id = c.agency_id
      where c.email_normalized = lower(btrim($1)) and c.status = 'active' and a.client_sign_in <> 'magic_link'
        and ($2::uuid is null or c.agency_id = $2)
        and exists (select 1 from memberships m where m.client_id = c.id and m.agency_id = c.agency_id)
      limit 20`,
    [parsed.data, agencyId],
  );
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
      await tx.query(
        `insert into password_resets (token_hash, client_id, agency_id, expires_at)
         values ($1, $2, $3, now() + make_interval(mins => $4))`,
        [hashToken(deps.appSecret, token, TokenPurpose.passwordReset), client.id, client.agency_id, RESET_TTL_MINUTES],
      );
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

interface ResetRow {
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

async function loadReset(db: Queryable, tokenHash: Buffer): Promise<ResetRow | null> {
  const { rows } = await db.query<ResetRow>(
    `select r.token_hash, (r.used_at is null and r.expires_at > now() and c.status = 'active') as live,
            c.id as client_id, c.first_name, c.email,
            a.id as agency_id, coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url, a.slug
       from password_resets r
       join clients c on c.id = r.client_id and c.agency_id = r.agency_id
       join agencies a on a.id = r.agency_id
      where r.token_hash = $1`,
    [tokenHash],
  );
  const row = rows[0];
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
    const used = await tx.query<{ token_hash: Buffer; client_id: string; agency_id: string }>(
      `update password_resets set used_at = now() where token_hash = $1 and used_at is null and expires_at > now()
       returning token_hash, client_id, agency_id`,
      [tokenHash],
    );
    const reset = used.rows[0];
    if (!reset || !safeEqual(reset.token_hash, tokenHash)) throw resetGone();
    const updated = await tx.query(
      `update clients set password_hash = $3, updated_at = now() where id = $1 and agency_id = $2 and status = 'active'`,
      [reset.client_id, reset.agency_id, passwordHash],
    );
    if (!updated.rowCount) throw resetGone();
    await tx.query('update client_sessions set revoked_at = now() where client_id = $1 and revoked_at is null', [reset.client_id]);
    // Other reset links sent earlier die with this one.
    await tx.query('update password_resets set used_at = now() where client_id = $1 and used_at is null', [reset.client_id]);
    const session = await createClientSessionTx(tx, deps.appSecret, { clientId: reset.client_id, agencyId: reset.agency_id });
    return { ...session, clientId: reset.client_id, agencyId: reset.agency_id };
  });
}
