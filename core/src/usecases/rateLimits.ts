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

async function take(deps: Pick<Deps, 'redis' | 'config'>, name: string, limit: number, windowSeconds: number, what: string): Promise<Reservation> {
  const window = Math.floor(Date.now() / 1000 / windowSeconds);
  const key = `${deps.config.redisPrefix}:rl:${name}:${window}`;
  const results = await deps.redis.multi().incr(key).expire(key, windowSeconds + 5).exec();
  const count = Number(results?.[0]?.[1] ?? 0);
  if (count > limit) {
    await deps.redis.decr(key);
    const retryAfter = (window + 1) * windowSeconds - Math.floor(Date.now() / 1000);
    throw new AppError('rate_limited', 'Too many requests', {
      detail: `${what} (limit ${limit} per ${windowSeconds >= 86400 ? 'day' : 'hour'}). Retry after ${retryAfter} s.`,
      retryAfter,
    });
  }
  return {
    give: async () => {
      await deps.redis.decr(key);
    },
  };
}

export function takeInviteQuota(deps: Pick<Deps, 'redis' | 'config'>, agencyId: string): Promise<Reservation> {
  return take(deps, `invites:${agencyId}`, deps.config.limits.invitesPerAgencyPerHour, 3600, 'Too many invitations created for this agency');
}

export function takeRecipientQuota(deps: Pick<Deps, 'redis' | 'config'>, agencyId: string, email: string): Promise<Reservation> {
  // Hashed so recipient addresses never sit in Redis keys.
  const who = createHash('sha256').update(`${agencyId}:${email.trim().toLowerCase()}`).digest('base64url').slice(0, 22);
  return take(deps, `recipient:${who}`, deps.config.limits.emailsPerRecipientPerDay, 86400, 'Too many emails to this recipient today');
}
