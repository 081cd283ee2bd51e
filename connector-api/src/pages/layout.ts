import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Express, type Response } from 'express';
import { brandColour, DEFAULT_BRAND_COLOUR, html, safeUrl, SafeHtml, textOn, type PageBranding } from '@onramp/core';
import { contentSecurityPolicy, cspNonce } from '../http/securityHeaders.js';

/**
 * The document every HTML page goes out in (client pages, console, dev mailbox). Stylesheets and scripts
 * are static files under connector-api/static, served at /static with a content hash in the URL (so they
 * can be cached for long); the only inline markup outside the body is the brand colour, as two CSS
 * custom properties in a style element allowed by the response's CSP nonce.
 */
const STATIC_DIR = fileURLToPath(new URL('../../static/', import.meta.url));

const versions = new Map<string, string>();
/** `/static/<file>?v=<hash of its content>`: a changed file gets a new URL, so the long cache never serves a stale one. */
function asset(file: string): string {
  let v = versions.get(file);
  if (!v) {
    v = createHash('sha256')
      .update(readFileSync(`${STATIC_DIR}${file}`))
      .digest('hex')
      .slice(0, 12);
    versions.set(file, v);
  }
  return `/static/${file}?v=${v}`;
}

export function mountStatic(app: Express): void {
  app.use('/static', express.static(STATIC_DIR, { maxAge: '7d', index: false, redirect: false, fallthrough: true }));
}

export const DEFAULT_BRAND: PageBranding = { displayName: 'Client portal', brandColor: DEFAULT_BRAND_COLOUR, logoUrl: null };

export interface PageOptions {
  title: string;
  brand?: PageBranding | undefined;
  body: SafeHtml;
  /** Extra markup on the right of the header (sign-out forms, the console's navigation). */
  headerExtra?: SafeHtml | undefined;
  /** Static stylesheets loaded after pages.css (file names under connector-api/static). */
  styles?: string[] | undefined;
  /** Static scripts (progressive enhancement only: every page works without them). */
  scripts?: string[] | undefined;
  /** A class for <main> (the console's and mailbox's wider layouts). */
  mainClass?: string | undefined;
}

/** A whole document. */
function layout(opts: PageOptions, nonce: string): string {
  const brand = opts.brand ?? DEFAULT_BRAND;
  const colour = brandColour(brand.brandColor);
  const logo = safeUrl(brand.logoUrl);
  // The colour went through brandColour (#rrggbb only): nothing else is interpolated into the style.
  const vars = new SafeHtml(`:root{--brand:${colour};--on-brand:${textOn(colour)}}`);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${opts.title} · ${brand.displayName}</title>
<link rel="stylesheet" href="${asset('pages.css')}">
${(opts.styles ?? []).map((f) => html`<link rel="stylesheet" href="${asset(f)}">`)}
<style nonce="${nonce}">${vars}</style>
${(opts.scripts ?? []).map((f) => html`<script src="${asset(f)}" defer></script>`)}
</head>
<body>
<header>${logo ? html`<img src="${logo}" alt="">` : ''}<span class="agency">${brand.displayName}</span>${opts.headerExtra ?? ''}</header>
<main${opts.mainClass ? html` class="${opts.mainClass}"` : ''}>
${opts.body}
</main>
</body>
</html>`.value;
}

export interface SendPageOptions extends PageOptions {
  status?: number;
  /** The dev mailbox frames its own email view. */
  frameSelf?: boolean;
}

/** Every HTML page goes out through here: the CSP for what this page loads, never cached. */
export function sendPage(res: Response, opts: SendPageOptions): void {
  res.status(opts.status ?? 200);
  res.setHeader(
    'Content-Security-Policy',
    contentSecurityPolicy(res, { page: true, scripts: Boolean(opts.scripts?.length), frameSelf: Boolean(opts.frameSelf) }),
  );
  res.setHeader('Cache-Control', 'no-store');
  res.type('text/html; charset=utf-8').send(layout(opts, cspNonce(res)));
}

/** Email and password for signing in (client and console): the autocomplete hints let password managers fill them. */
export function signInFields(email: string | undefined): SafeHtml {
  return html`<label for="email">Email</label>
<input type="email" id="email" name="email" value="${email ?? ''}" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>`;
}

export function formatDueDate(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  return d.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
}
