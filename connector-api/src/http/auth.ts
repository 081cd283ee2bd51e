import type { Request, Response } from 'express';
import { authenticateApiKey, type Deps, type Principal } from '@onramp/core';

// Per-process throttle: last_used_at needs minute precision, not a Redis round trip per request.
const lastTouched = new Map<string, number>();
const TOUCH_EVERY_MS = 60_000;

export async function authenticate(req: Request, res: Response, deps: Deps): Promise<Principal> {
  const cached = res.locals.principal as Principal | undefined;
  if (cached) return cached;
  const principal = await authenticateApiKey(deps.pool, req.headers.authorization, deps.principals);
  res.locals.principal = principal;
  const now = Date.now();
  if ((lastTouched.get(principal.apiKeyId) ?? 0) + TOUCH_EVERY_MS < now) {
    lastTouched.set(principal.apiKeyId, now);
    // Off the request path: a slow Redis must not slow the request; a failure is logged, not swallowed.
    deps.jobs
      .enqueue('touch-api-key', { apiKeyId: principal.apiKeyId, usedAt: new Date(now).toISOString() })
      .catch((err: unknown) => deps.logger.warn({ err }, 'could not enqueue touch-api-key'));
  }
  return principal;
}
