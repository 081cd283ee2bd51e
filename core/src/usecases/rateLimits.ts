import { createHash } from 'node:crypto';
import type { Deps } from '../context.js';
import { AppError } from '../errors/AppError.js';

/**
 * Fixed-window counters in Redis, shared by every API process (nothing in-process: Onramp may run many).
 * `take` reserves one unit; `give` returns it when the work turned out not to count (e.g. the invitation
 * already existed).
 */
export interface Reservation {
  give(): Promise<void>;
}

interface Window {
  name: string;
  limit: number;
  seconds: number;
  what: string;
}

/** Several counters in one round trip; if any is over its limit, all are given back and the first says why. */
async function take(deps: Pick<Deps, 'redis' | 'config'>, windows: Window[]): Promise<Reservation> {
  const now = Math.floor(Date.now() / 1000);
  const keys = windows.map((w) => `${deps.config.redisPrefix}:rl:${w.name}:${Math.floor(now / w.seconds)}`);
  const multi = deps.redis.multi();
  windows.forEach((w, i) => multi.incr(keys[i]!).expire(keys[i]!, w.seconds + 5));
  const results = await multi.exec();
  const giveAll = async () => {
    const m = deps.redis.multi();
    for (const k of keys) m.decr(k);
    await m.exec();
  };
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i]!;
    const count = Number(results?.[i * 2]?.[1] ?? 0);
    if (count > w.limit) {
      await giveAll();
      const retryAfter = (Math.floor(now / w.seconds) + 1) * w.seconds - now;
      throw new AppError('rate_limited', 'Too many requests', {
        detail: `${w.what} (limit ${w.limit} per ${w.seconds >= 86400 ? 'day' : 'hour'}). Retry after ${retryAfter} s.`,
        retryAfter,
      });
    }
  }
  return { give: giveAll };
}

const recipientKey = (agencyId: string, email: string) =>
  // Hashed so recipient addresses never sit in Redis keys.
  `recipient:${createHash('sha256').update(`${agencyId}:${email.trim().toLowerCase()}`).digest('base64url').slice(0, 22)}`;

const inviteWindow = (deps: Pick<Deps, 'config'>, agencyId: string): Window => ({
  name: `invites:${agencyId}`,
  limit: deps.config.limits.invitesPerAgencyPerHour,
  seconds: 3600,
  what: 'Too many invitations created for this agency',
});

const recipientWindow = (deps: Pick<Deps, 'config'>, agencyId: string, email: string): Window => ({
  name: recipientKey(agencyId, email),
  limit: deps.config.limits.emailsPerRecipientPerDay,
  seconds: 86400,
  what: 'Too many emails to this recipient today',
});

/** One invitation created: the agency's hourly quota, and the recipient's daily quota when an email goes out. */
export function takeInviteQuotas(deps: Pick<Deps, 'redis' | 'config'>, agencyId: string, emailTo: string | null): Promise<Reservation> {
  return take(deps, [inviteWindow(deps, agencyId), ...(emailTo ? [recipientWindow(deps, agencyId, emailTo)] : [])]);
}

export function takeRecipientQuota(deps: Pick<Deps, 'redis' | 'config'>, agencyId: string, email: string): Promise<Reservation> {
  return take(deps, [recipientWindow(deps, agencyId, email)]);
}

/** Sign-in links asked for one address per hour, and asked from one agency's page per hour. */
export const SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR = 5;
export const SIGN_IN_LINKS_PER_AGENCY_PER_HOUR = 500;

/**
 * "Email me a sign-in link": per address (hashed, across agencies) and per agency. Taken whether or not the
 * address has an account, so a 429 reveals nothing about accounts.
 */
export function takeSignInLinkQuota(deps: Pick<Deps, 'redis' | 'config'>, email: string | null, agencyId: string | null): Promise<Reservation> {
  const windows: Window[] = [];
  if (email) {
    windows.push({
      name: `signin-link:${createHash('sha256').update(email.trim().toLowerCase()).digest('base64url').slice(0, 22)}`,
      limit: SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR,
      seconds: 3600,
      what: 'Too many sign-in links asked for this address',
    });
  }
  if (agencyId) {
    windows.push({
      name: `signin-link-agency:${agencyId}`,
      limit: SIGN_IN_LINKS_PER_AGENCY_PER_HOUR,
      seconds: 3600,
      what: 'Too many sign-in links asked for this agency',
    });
  }
  return take(deps, windows);
}
