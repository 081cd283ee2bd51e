import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { hashToken, randomToken, safeEqual, TokenPurpose, type Deps } from '@onramp/core';
import { cookieSettings, readCookie } from './cookies.js';

export const CSRF_COOKIE = 'onramp_csrf';
export const CSRF_FIELD = 'csrf';

/**
 * A form's CSRF token is HMAC(APP_SECRET, purpose "csrf", context). The context is something a cross-site
 * attacker cannot read: the invitation or reset token in the page's own URL, the session token for
 * signed-in forms, or a random cookie (double submit) for the anonymous login and forgot forms. The
 * context is prefixed by the form's kind, so one form's token is useless on another.
 */
export function csrfToken(deps: Deps, context: string): string {
  return hashToken(deps.appSecret, context, TokenPurpose.csrf).toString('base64url');
}

export function csrfValid(deps: Deps, context: string | undefined, submitted: unknown): boolean {
  if (!context || typeof submitted !== 'string' || submitted.length === 0 || submitted.length > 100) return false;
  return safeEqual(Buffer.from(csrfToken(deps, context), 'utf8'), Buffer.from(submitted, 'utf8'));
}

/** The double-submit cookie for anonymous forms: reused while present, made when missing. */
export function ensureCsrfCookie(req: Request, res: Response, deps: Deps): string {
  const existing = readCookie(req, CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const fresh = randomToken();
  res.cookie(CSRF_COOKIE, fresh, cookieSettings(deps));
  return fresh;
}

/**
 * What a form submitted as its token. Forms post it as the `csrf` field; scripts (fetch) send the
 * `X-CSRF-Token` header; a streamed multipart upload, whose body is read only after the check, carries it
 * in the query string of its action (the query string is never logged, and no page sends a Referer).
 */
export function submittedCsrf(req: Request): unknown {
  const body = req.body as Record<string, unknown> | undefined;
  const field = body?.[CSRF_FIELD];
  if (field !== undefined) return Array.isArray(field) ? field[0] : field;
  const header = req.headers['x-csrf-token'];
  if (typeof header === 'string') return header;
  if (req.is('multipart/form-data')) return req.query[CSRF_FIELD];
  return undefined;
}

/**
 * Middleware: the request's CSRF token must match the context `contextOf` derives from the request (null:
 * no context, so nothing can match). A mismatch is answered by `refuse` and the handler never runs.
 */
export function requireCsrf(
  deps: Deps,
  contextOf: (req: Request, res: Response) => string | undefined,
  refuse: (req: Request, res: Response) => void,
): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (csrfValid(deps, contextOf(req, res), submittedCsrf(req))) return next();
    refuse(req, res);
  };
}
