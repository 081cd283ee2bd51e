import { parse } from 'cookie';
import type { Request, Response } from 'express';
import { SESSION_COOKIE, type Deps } from '@onramp/core';

/** One cookie of the request, parsed by the `cookie` package (quoting, encoding and duplicates as browsers send them). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  return parse(header)[name] ?? undefined;
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

/** A 303 to a page (Post/Redirect/Get): a refresh of the result never re-submits the form. */
export function see(res: Response, location: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, location);
}
