import type { Deps } from '../context.js';
import type { Pool } from '../db/pool.js';
import { withTransaction } from '../db/pool.js';
import { burnPasswordCheck, hashPassword, newPasswordSchema, PASSWORD_MAX, verifyPassword } from '../crypto/passwords.js';
import { hashToken, randomToken, safeEqual, TokenPurpose } from '../crypto/tokens.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { setOperatorPasswordHash } from '../sql/firmUsers.js';
import {
  findFirmPasswordCandidates,
  findLiveConsoleSession,
  insertConsoleSession,
  revokeConsoleSession,
  revokeConsoleSessionsOfUser,
} from '../sql/sessions.js';
import { findSingleFirmUserByEmail } from './agencies.js';
import type { Principal } from './apiKeys.js';
import { takeLoginAttempt, type NewSession } from './clientSessions.js';
import { brandingOf, type AgencyBranding } from './accept.js';
import { z } from 'zod';

export const CONSOLE_COOKIE = 'onramp_console';
/** A working day: a firm user's session is worth more than a client's, so it lives much shorter. */
export const CONSOLE_SESSION_HOURS = 12;

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface ConsoleSession {
  /** The signed-in firm user in the shape every use case takes. There is no API key behind a console session. */
  principal: Principal;
  agency: AgencyBranding;
  expiresAt: Date;
}

/**
 * The operator CLI sets a firm user's console password. Every open console session of that user ends, so
 * a password changed because it leaked also locks out whoever used it.
 */
export async function setFirmUserPassword(pool: Pool, email: string, password: string): Promise<{ userId: string; agencyId: string; email: string }> {
  const checked = parseOrThrow(z.object({ password: newPasswordSchema }), { password });
  const user = await findSingleFirmUserByEmail(pool, email);
  const hash = await hashPassword(checked.password);
  await withTransaction(pool, async (tx) => {
    await setOperatorPasswordHash(tx, user.agency_id, user.id, hash);
    await revokeConsoleSessionsOfUser(tx, user.id);
  });
  return { userId: user.id, agencyId: user.agency_id, email: user.email };
}

async function createConsoleSession(deps: Pick<Deps, 'pool' | 'appSecret'>, who: { userId: string; agencyId: string }): Promise<NewSession> {
  const token = randomToken();
  const row = await insertConsoleSession(deps.pool, {
    tokenHash: hashToken(deps.appSecret, token, TokenPurpose.consoleSession),
    userId: who.userId,
    agencyId: who.agencyId,
    hours: CONSOLE_SESSION_HOURS,
  });
  return { token, expiresAt: row.expires_at };
}

/**
 * Firm emails are unique per agency only, so every firm user of this address with a password is a
 * candidate and the first whose password verifies is signed in. No candidate costs the same argon2 work
 * as a wrong password. Attempts are counted per address in Redis (10 per 15 minutes), like the client login.
 */
export async function loginFirmUser(
  deps: Pick<Deps, 'pool' | 'appSecret' | 'redis' | 'config'>,
  input: { email: string; password: string },
): Promise<(NewSession & { userId: string; agencyId: string }) | null> {
  const email = input.email.trim();
  await takeLoginAttempt(deps, email, 'console-login');
  if (!email || email.length > 320 || !input.password || input.password.length > PASSWORD_MAX) {
    await burnPasswordCheck(input.password.slice(0, PASSWORD_MAX));
    return null;
  }
  const rows = await findFirmPasswordCandidates(deps.pool, email);
  if (rows.length === 0) {
    await burnPasswordCheck(input.password);
    return null;
  }
  for (const u of rows) {
    if (await verifyPassword(u.password_hash, input.password)) {
      const session = await createConsoleSession(deps, { userId: u.id, agencyId: u.agency_id });
      return { ...session, userId: u.id, agencyId: u.agency_id };
    }
  }
  return null;
}

/**
 * Checked on every console request: the session must be live and the user still there (deleting a user
 * cascades to their sessions). The role is read fresh each time, so a demotion takes effect at once.
 */
export async function resolveConsoleSession(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string | undefined): Promise<ConsoleSession | null> {
  if (!token || !TOKEN_SHAPE.test(token)) return null;
  const tokenHash = hashToken(deps.appSecret, token, TokenPurpose.consoleSession);
  const row = await findLiveConsoleSession(deps.pool, tokenHash);
  if (!row || !safeEqual(row.token_hash, tokenHash)) return null;
  return {
    principal: {
      apiKeyId: '',
      agencyId: row.agency_id,
      agencyName: row.agency_name,
      userId: row.user_id,
      userEmail: row.user_email,
      userName: row.user_name,
      role: row.role,
    },
    agency: brandingOf({ agency_id: row.agency_id, agency_name: row.display_name, brand_color: row.brand_color, logo_url: row.logo_url }),
    expiresAt: row.expires_at,
  };
}

export async function endConsoleSession(deps: Pick<Deps, 'pool' | 'appSecret'>, token: string | undefined): Promise<void> {
  if (!token || !TOKEN_SHAPE.test(token)) return;
  await revokeConsoleSession(deps.pool, hashToken(deps.appSecret, token, TokenPurpose.consoleSession));
}
