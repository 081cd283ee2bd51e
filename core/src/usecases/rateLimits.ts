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

/**
 * Several counters in one round trip and one Redis command: each is incremented (its window's expiry set),
 * and if any went over its limit all are decremented again in the same script, which returns the first
 * one over (1-based), or 0.
 */
const TAKE_SCRIPT = `
local over = 0
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[i * 2])
  if over == 0 and n > tonumber(ARGV[i * 2 - 1]) then over = i end
end
if over > 0 then
  for i = 1, #KEYS do redis.call('DECR', KEYS[i]) end
end
return over`;

type Redis = Pick<Deps, 'redis'>['redis'];
const scripted = new WeakSet<object>();

/** The script as a command of the connection's pipelines: EVALSHA, ioredis loading it when Redis lacks it. */
function withTake(redis: Redis): Redis {
  if (!scripted.has(redis)) {
    redis.defineCommand('onrampTake', { lua: TAKE_SCRIPT });
    scripted.add(redis);
  }
  return redis;
}

interface QueuedTake {
  args: Array<string | number>;
  resolve: (over: number) => void;
  reject: (err: unknown) => void;
}
const queuedTakes = new WeakMap<object, QueuedTake[]>();

/**
 * The script for every take asked in one turn of the event loop goes to Redis in one pipeline: one write
 * and one read for all the requests that arrived together, instead of a write and a read each (under load
 * a tenth of the API's CPU was the system calls of these writes).
 */
function runTake(redis: Redis, args: Array<string | number>): Promise<number> {
  return new Promise((resolve, reject) => {
    let queue = queuedTakes.get(redis);
    if (!queue) {
      queue = [];
      queuedTakes.set(redis, queue);
      setImmediate(() => flushTakes(redis));
    }
    queue.push({ args, resolve, reject });
  });
}

function flushTakes(redis: Redis): void {
  const queue = queuedTakes.get(redis) ?? [];
  queuedTakes.delete(redis);
  const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & { onrampTake(...args: Array<string | number>): unknown };
  for (const t of queue) pipeline.onrampTake(...t.args);
  pipeline.exec().then(
    (results) =>
      queue.forEach((t, i) => {
        const [err, over] = results?.[i] ?? [new Error('Redis answered no reply for a quota script'), null];
        if (err || typeof over !== 'number') t.reject(err ?? new Error(`unexpected reply to a quota script: ${String(over)}`));
        else t.resolve(over);
      }),
    (err: unknown) => queue.forEach((t) => t.reject(err)),
  );
}

async function take(deps: Pick<Deps, 'redis' | 'config'>, windows: Window[]): Promise<Reservation> {
  const now = Math.floor(Date.now() / 1000);
  const keys = windows.map((w) => `${deps.config.redisPrefix}:rl:${w.name}:${Math.floor(now / w.seconds)}`);
  const over = await runTake(withTake(deps.redis), [keys.length, ...keys, ...windows.flatMap((w) => [w.limit, w.seconds + 5])]);
  if (over > 0) {
    const w = windows[over - 1]!;
    const retryAfter = (Math.floor(now / w.seconds) + 1) * w.seconds - now;
    throw new AppError('rate_limited', 'Too many requests', {
      detail: `${w.what} (limit ${w.limit} per ${w.seconds >= 86400 ? 'day' : 'hour'}). Retry after ${retryAfter} s.`,
      retryAfter,
    });
  }
  return {
    give: async () => {
      const m = deps.redis.multi();
      for (const k of keys) m.decr(k);
      await m.exec();
    },
  };
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
