import { createHash } from 'node:crypto';
import type { Deps } from '../context.js';
import type { Queryable } from '../db/pool.js';
import { AppError } from '../errors/AppError.js';
import { burnPasswordCheck, verifyPassword } from '../crypto/passwords.js';
import { hashToken, randomToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { findClientPasswordCandidates, findLiveClientSession, insertClientSession, revokeClientSession } from '../sql/sessions.js';

export const SESSION_DAYS = 30;
export const SESSION_COOKIE = 'onramp_session';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface NewSession {
  /** Goes into the cookie; only its HMAC is stored. */
  token: string;
  expiresAt: Date;
}

export interface ClientSession {
  clientId: string;
  agencyId: string;
  expiresAt: Date;
}

export async function createClientSessionTx(db: Queryable, appSecret: string, who: { clientId: string; agencyId: string }): Promise<NewSession> {
  const token = randomToken();
  const row = await insertClientSession(db, {
    tokenHash: hashToken(appSecret, token, TokenPurpose.session),
    clientId: who.clientId,
    agencyId: who.agencyId,
    days: SESSION_DAYS,
  });
  return { token, expiresAt: row.expires_at };
}

/**
 * Checked on every portal request, so access ends at once: the session must be live, the client active,
 * and still a member of at least one project (removed from every project = no portal).
 */
export async function resolveClientSession(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string | undefined): Promise<ClientSession | null> {
  if (!token || !TOKEN_SHAPE.test(token)) return null;
  const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.session);
  const row = await findLiveClientSession(deps.pool, tokenHash);
  if (!row || !safeEqual(row.token_hash, tokenHash)) return null;
  return { clientId: row.client_id, agencyId: row.agency_id, expiresAt: row.expires_at };
}

export async function endClientSession(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string | undefined): Promise<void> {
  if (!token || !TOKEN_SHAPE.test(token)) return;
  await revokeClientSession(deps.pool, hashToken(deps.appSecret, token, TokenPurpose.session));
}

/**
 * Client emails are unique per agency, not globally: every active client with this email, a password and
 * a project is a candidate, and the first whose password verifies is signed in. No match (or no
 * candidate at all, via a decoy hash) costs the same argon2 work, so timing says nothing about accounts.
 */
export async function loginClient(
  deps: Pick<Deps, 'pool' | 'appSecret' | 'redis' | 'config'>,
  input: { email: string; password: string; agencyId?: string | null },
): Promise<(NewSession & { clientId: string; agencyId: string }) | null> {
  const email = input.email.trim();
  await takeLoginAttempt(deps, email);
  if (!email || email.length > 320 || !input.password || input.password.length > 200) {
    await burnPasswordCheck(input.password.slice(0, 200));
    return null;
  }
  const rows = await findClientPasswordCandidates(deps.pool, email, input.agencyId ?? null);
  if (rows.length === 0) {
    await burnPasswordCheck(input.password);
    return null;
  }
  for (const c of rows) {
    if (await verifyPassword(c.password_hash, input.password)) {
      const session = await createClientSessionTx(deps.pool, deps.appSecret, { clientId: c.id, agencyId: c.agency_id });
      return { ...session, clientId: c.id, agencyId: c.agency_id };
    }
  }
  return null;
}

export const LOGIN_ATTEMPTS_PER_WINDOW = 10;
const LOGIN_WINDOW_SECONDS = 900;

/**
 * Guessing passwords: at most 10 tries per email address per 15 minutes, counted in Redis so every API
 * process shares the count. The address is hashed so it never sits in a Redis key. The console counts
 * under its own scope, so a client and a firm user sharing an address do not lock each other out.
 */
export async function takeLoginAttempt(deps: Pick<Deps, 'redis' | 'config'>, email: string, scope: 'login' | 'console-login' = 'login'): Promise<void> {
  const who = createHash('sha256').update(`${scope}:${email.toLowerCase()}`).digest('base64url').slice(0, 22);
  const window = Math.floor(Date.now() / 1000 / LOGIN_WINDOW_SECONDS);
  const key = `${deps.config.redisPrefix}:rl:${scope}:${who}:${window}`;
  const results = await deps.redis
    .multi()
    .incr(key)
    .expire(key, LOGIN_WINDOW_SECONDS + 5)
    .exec();
  if (Number(results?.[0]?.[1] ?? 0) > LOGIN_ATTEMPTS_PER_WINDOW) {
    const retryAfter = (window + 1) * LOGIN_WINDOW_SECONDS - Math.floor(Date.now() / 1000);
    throw new AppError('rate_limited', 'Too many sign-in attempts', {
      detail: `Too many sign-in attempts for this address. Try again in ${Math.ceil(retryAfter / 60)} minutes.`,
      retryAfter,
    });
  }
}
