import { randomBytes } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import helmet from 'helmet';
import type { Config } from '@onramp/core';

/**
 * Every response's security headers come from here: helmet for the fixed ones (nosniff, framing,
 * Referrer-Policy, cross-origin isolation, HSTS), and one Content-Security-Policy builder for the pages.
 *
 * Helmet's own CSP middleware is not used, for a stated reason: the policy differs per page in ways a
 * request-level middleware cannot know up front (a page with scripts gets `script-src 'self'`, the dev
 * mailbox frames its own email view, an email's HTML runs sandboxed), so the page that renders decides,
 * through `contentSecurityPolicy()` below, and every variant is built from the same strict base.
 */
export function securityHeaders(config: Pick<Config, 'isProduction' | 'publicBaseUrl'>): RequestHandler {
  const https = config.publicBaseUrl.startsWith('https:');
  const base = helmet({
    contentSecurityPolicy: false,
    // Links with tokens (invitations, resets) must never leak through a Referer; nothing needs one.
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // HSTS only where clients reach Onramp over https in production: on http it would be ignored at best,
    // and a developer's localhost must not be pinned to https.
    strictTransportSecurity: config.isProduction && https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  // Helmet's headers depend on the configuration only, never on the request: they are recorded once from
  // helmet itself and set from the list, instead of running its eleven middlewares on every request.
  const fixed = recordHeaders(base);
  const none = contentSecurityPolicy({ locals: {} } as Response);
  return (_req, res, next) => {
    // The nonce is drawn only for a response that asks for it (a page), not for every JSON answer.
    let nonce: string | undefined;
    Object.defineProperty(res.locals, 'cspNonce', {
      configurable: true,
      enumerable: true,
      get: () => (nonce ??= randomBytes(16).toString('base64')),
    });
    // Until a page says otherwise, nothing may load: JSON, CSV and errors never need anything.
    res.setHeader('Content-Security-Policy', none);
    for (const [name, value] of fixed) res.setHeader(name, value);
    next();
  };
}

/** The headers a helmet middleware sets, and that it removes (X-Powered-By), read off one run of it. */
function recordHeaders(middleware: RequestHandler): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  const res = {
    setHeader: (name: string, value: string) => void headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let called = false;
  middleware({} as never, res as never, () => (called = true));
  if (!called) throw new Error('helmet did not call next(): the fixed security headers could not be recorded');
  return headers;
}

export interface CspOptions {
  /** Static scripts from /static (progressive enhancement); pages without them get no script-src at all. */
  scripts?: boolean;
  /** The dev mailbox shows an email's HTML in a frame of its own origin. */
  frameSelf?: boolean;
  /** An email's own HTML: sandboxed, no scripts, no same-origin. */
  sandboxedEmail?: boolean;
}

/** The one CSP builder: a per-response nonce for the page's inline brand style, static CSS and scripts. */
export function contentSecurityPolicy(res: Response, opts: CspOptions & { page?: boolean } = {}): string {
  if (opts.sandboxedEmail) {
    return "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: https:";
  }
  if (!opts.page) return "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
  const nonce = String(res.locals.cspNonce);
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}' 'self'`,
    ...(opts.scripts ? ["script-src 'self'", "connect-src 'self'"] : []),
    "img-src 'self' https: data:",
    ...(opts.frameSelf ? ["frame-src 'self'"] : []),
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export const cspNonce = (res: Response): string => String(res.locals.cspNonce);
