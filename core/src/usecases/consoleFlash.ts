import { randomBytes } from 'node:crypto';
import type { Deps } from '../context.js';

/**
 * What a console form did, kept for the page it redirects to (Post/Redirect/Get): a bulk action's
 * per-item summary is too long for a query string, and a refresh of the result page must not repeat the
 * action. Kept in Redis, shared by every API process, for ten minutes, readable only by the firm user who
 * made it (the key names the user; the id in the URL is random).
 */
const TTL_SECONDS = 600;
const ID = /^[A-Za-z0-9_-]{16,32}$/;

const keyOf = (deps: Pick<Deps, 'config'>, userId: string, id: string) => `${deps.config.redisPrefix}:console-flash:${userId}:${id}`;

export async function saveConsoleFlash(deps: Pick<Deps, 'redis' | 'config'>, userId: string, payload: unknown): Promise<string> {
  const id = randomBytes(12).toString('base64url');
  await deps.redis.set(keyOf(deps, userId, id), JSON.stringify(payload), 'EX', TTL_SECONDS);
  return id;
}

/** The payload, or null when it expired, never existed or is another user's. Reading it again works (a reload shows it again). */
export async function readConsoleFlash<T>(deps: Pick<Deps, 'redis' | 'config'>, userId: string, id: string | undefined): Promise<T | null> {
  if (!id || !ID.test(id)) return null;
  const raw = await deps.redis.get(keyOf(deps, userId, id));
  return raw ? (JSON.parse(raw) as T) : null;
}
