import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

/**
 * HTML for the client pages is built only with the `html` tag below: every interpolated value goes through
 * escapeHtml unless it is already SafeHtml (the output of another `html` call). There is no other way to
 * put text into a page, so a name or message can never become markup.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

/** The one escape function of the pages: safe in element content and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`=]/g, (c) => ENTITIES[c]!);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Email and password for signing in (client and console): the autocomplete hints let password managers fill them. */
export function signInFields(email: string | undefined): SafeHtml {
  return html`<label for="email">Email</label>
<input type="email" id="email" name="email" value="${email ?? ''}" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>`;
}

export interface Branding {
  name: string;
  brandColor: string;
  logoUrl: string | null;
}

export const DEFAULT_BRAND: Branding = { name: 'Client portal', brandColor: '#4f46e5', logoUrl: null };

const HEX = /^#[0-9a-fA-F]{6}$/;

/** Black or white text, whichever reads better on the brand colour (WCAG relative luminance). */
function textOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return l > 0.4 ? '#111827' : '#ffffff';
}

/** Only https logos (or http on a local dev box would be mixed content anyway): anything else is dropped. */
function safeLogo(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

function styles(brand: string): string {
  // The colour went through HEX above; the stylesheet is otherwise constant.
  const on = textOn(brand);
  return `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;background:#f3f4f6}
header{background:${brand};color:${on};padding:14px 24px;display:flex;align-items:center;gap:12px}
header img{height:32px;width:auto;border-radius:4px;background:#fff}
header .agency{font-weight:600;font-size:18px}
header .who{margin-left:auto;display:flex;align-items:center;gap:12px;font-size:14px}
header .who button{background:transparent;color:${on};border:1px solid ${on};padding:4px 10px;font-size:14px}
main{max-width:640px;margin:32px auto;padding:0 16px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.04);padding:28px;margin-bottom:20px}
h1{font-size:24px;margin:0 0 8px}
h2{font-size:19px;margin:0 0 12px}
p{margin:0 0 14px}
.muted{color:#6b7280;font-size:14px}
.message{white-space:pre-line;border-left:4px solid ${brand};background:#f9fafb;padding:12px 16px;margin:16px 0;border-radius:0 6px 6px 0}
.message .from{display:block;color:#6b7280;font-size:13px;margin-bottom:4px}
label{display:block;font-weight:600;font-size:14px;margin:14px 0 4px}
input[type=password],input[type=email]{width:100%;padding:10px 12px;border:1px solid #d1d5db;border-radius:6px;font-size:16px}
input:focus{outline:2px solid ${brand};outline-offset:1px}
button{background:${brand};color:${on};border:0;border-radius:6px;padding:11px 18px;font-size:16px;font-weight:600;cursor:pointer}
form .actions{margin-top:20px;display:flex;align-items:center;gap:16px}
.error{color:#b91c1c;font-size:14px;margin:4px 0 0}
.alert{background:#fef2f2;color:#991b1b;border:1px solid #fecaca;border-radius:6px;padding:10px 14px;margin-bottom:14px}
.notice{background:#ecfdf5;color:#065f46;border:1px solid #a7f3d0;border-radius:6px;padding:10px 14px;margin-bottom:14px}
a{color:${brand}}
ul.tasks{list-style:none;margin:0;padding:0}
ul.tasks li{border-top:1px solid #e5e7eb;padding:12px 0}
ul.tasks li:first-child{border-top:0}
.task-title{font-weight:600}
.due{display:inline-block;font-size:13px;color:#374151;background:#f3f4f6;border-radius:999px;padding:1px 10px;margin-left:8px}
.archived{font-size:13px;color:#6b7280;font-weight:400}
`;
}

export interface PageOptions {
  title: string;
  brand?: Branding | undefined;
  body: SafeHtml;
  /** Extra markup on the right of the header (the portal's sign-out form). */
  headerExtra?: SafeHtml | undefined;
  /** A constant stylesheet appended to the shared one (the console's wider layout and tables). */
  css?: string | undefined;
}

/** A whole document; the style element carries a per-response nonce so the CSP needs no unsafe-inline. */
export function layout(opts: PageOptions, nonce: string): string {
  const brand = opts.brand ?? DEFAULT_BRAND;
  const colour = HEX.test(brand.brandColor) ? brand.brandColor : DEFAULT_BRAND.brandColor;
  const logo = safeLogo(brand.logoUrl);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>${opts.title} · ${brand.name}</title>
<style nonce="${nonce}">${new SafeHtml(styles(colour) + (opts.css ?? ''))}</style>
</head>
<body>
<header>${logo ? html`<img src="${logo}" alt="">` : ''}<span class="agency">${brand.name}</span>${opts.headerExtra ?? ''}</header>
<main>
${opts.body}
</main>
</body>
</html>`.value;
}

export interface SendPageOptions extends PageOptions {
  status?: number;
  /** Pages whose URL holds a secret (invitation, reset): never send it on as a Referer. */
  tokenInUrl?: boolean;
}

/** Every client page goes out through here, with the same security headers. */
export function sendPage(res: Response, opts: SendPageOptions): void {
  const nonce = randomBytes(16).toString('base64');
  res.status(opts.status ?? 200);
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', opts.tokenInUrl ? 'no-referrer' : 'same-origin');
  res.type('text/html; charset=utf-8').send(layout(opts, nonce));
}

export function formatDueDate(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return date;
  return d.toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
}
