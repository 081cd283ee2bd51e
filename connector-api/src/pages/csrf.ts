import type { Request, Response } from 'express';
import { hashToken, randomToken, safeEqual, TokenPurpose, SESSION_COOKIE, type Deps } from '@onramp/core';

export const CSRF_COOKIE = 'onramp_csrf';
export const CSRF_FIELD = 'csrf';

/** The Cookie header, parsed by hand: only our own simple base64url values matter here. */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export interface CookieSettings {
  httpOnly: true;
  sameSite: 'lax';
  path: '/';
  secure: boolean;
}

/** Secure follows the scheme clients use (PUBLIC_BASE_URL), never the request: a proxy may end TLS. */
export function cookieSettings(deps: Deps): CookieSettings {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: deps.config.publicBaseUrl.startsWith('https:') };
}

export function setSessionCookie(res: Response, deps: Deps, token: string, expires: Date): void {
  res.cookie(SESSION_COOKIE, token, { ...cookieSettings(deps), expires });
}

export function clearSessionCookie(res: Response, deps: Deps): void {
  res.clearCookie(SESSION_COOKIE, cookieSettings(deps));
}

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
