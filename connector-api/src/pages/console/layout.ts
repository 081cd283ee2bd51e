import type { ConsoleSession, InvitationJson } from '@onramp/core';
import { html, type PageBranding, type SafeHtml } from '@onramp/core';
import type { Response } from 'express';
import { sendPage, signInFields, type PageOptions } from '../layout.js';
import { CSRF_FIELD } from '../csrf.js';

/**
 * The console's frame: navigation, who is signed in, the shared bits of its views (badges, dates, the
 * invitations table). A console feature is one file in this folder (see index.ts); its pages are built
 * with `consolePage()` and sent with `sendConsolePage()`.
 */
export type View = PageOptions;

/** The signed-in firm user of a console request, set by the session middleware in index.ts. */
export interface ConsoleLocals {
  session: ConsoleSession;
  /** The session token (the CSRF context of signed-in forms). */
  token: string;
  /** The CSRF token of one kind of form: `csrfInput(c.csrf('invite'))`. */
  csrf: (kind: string) => string;
}

export const consoleOf = (res: Response): ConsoleLocals => res.locals.console as ConsoleLocals;

/** One entry per console section, in menu order. A new feature adds its line here. */
const NAV = [
  { section: 'invitations', href: '/console', label: 'Invitations' },
  { section: 'projects', href: '/console/projects', label: 'Projects' },
  { section: 'clients', href: '/console/clients', label: 'Clients' },
  { section: 'templates', href: '/console/templates', label: 'Templates' },
  { section: 'imports', href: '/console/imports', label: 'Imports' },
  { section: 'team', href: '/console/team', label: 'Team' },
  { section: 'api-keys', href: '/console/api-keys', label: 'API keys' },
  { section: 'settings', href: '/console/settings', label: 'Settings' },
] as const;

/** The own profile is reached from the signed-in user's name in the header, not from the menu. */
type Section = (typeof NAV)[number]['section'] | 'profile';

export const csrfInput = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

const brandOf = (s: ConsoleSession): PageBranding => ({
  displayName: `${s.agency.displayName} · Console`,
  brandColor: s.agency.brandColor,
  logoUrl: s.agency.logoUrl,
});

const CONSOLE_BRAND: PageBranding = { displayName: 'Onramp console', brandColor: '#1f2937', logoUrl: null };

const STYLES = ['console.css'];

function chrome(c: ConsoleLocals, section: Section | null): SafeHtml {
  const p = c.session.principal;
  return html`<nav aria-label="Console">${NAV.map(
    (n) => html`<a href="${n.href}"${section === n.section ? html` class="active" aria-current="page"` : ''}>${n.label}</a>`,
  )}</nav>
<span class="who"><a class="me${section === 'profile' ? ' active' : ''}" href="/console/profile" title="Your profile">${p.userName ?? p.userEmail} <span class="role">(${p.role})</span></a>
<form method="post" action="/console/logout">${csrfInput(c.csrf('logout'))}<button type="submit">Sign out</button></form></span>`;
}

export interface ConsolePageOptions {
  section: Section | null;
  title: string;
  body: SafeHtml;
  /** Static scripts for progressive enhancement (files under connector-api/static). */
  scripts?: string[];
}

/** A page in the console's frame, for the signed-in user. */
export function consolePage(c: ConsoleLocals, opts: ConsolePageOptions): View {
  return {
    title: opts.title,
    brand: brandOf(c.session),
    headerExtra: chrome(c, opts.section),
    styles: STYLES,
    scripts: opts.scripts,
    mainClass: 'console',
    body: opts.body,
  };
}

export function sendConsolePage(res: Response, view: View, status = 200): void {
  sendPage(res, { ...view, status });
}

export const canInvite = (s: ConsoleSession): boolean => s.principal.role === 'owner' || s.principal.role === 'admin';

export function formatWhen(value: string | Date | null): string {
  if (!value) return '—';
  const d = value instanceof Date ? value : new Date(value);
  return `${d.toLocaleString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })} UTC`;
}

export const fullName = (first: string, last: string) => `${first} ${last}`.trim();

export const badge = (status: string) => html`<span class="badge ${status}">${status.replace('_', ' ')}</span>`;

/** A query string from the non-empty values; the html tag escapes it when it goes into an attribute. */
export function queryString(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// ---------- sign in ----------

export function consoleLoginPage(opts: { csrf: string; email?: string; error?: string }): View {
  return {
    title: 'Sign in',
    brand: CONSOLE_BRAND,
    styles: STYLES,
    mainClass: 'narrow',
    body: html`<div class="card"><h1>Sign in to the console</h1>
<p class="muted">For agency owners, admins and members. Clients sign in at <a href="/login">/login</a>.</p>
${opts.error ? html`<div class="alert" role="alert">${opts.error}</div>` : ''}
<form method="post" action="/console/login" novalidate>
${csrfInput(opts.csrf)}
${signInFields(opts.email)}
<div class="actions"><button type="submit">Sign in</button></div>
</form>
<p class="muted">No password yet? Your operator sets one with <code>onramp user password --email you@agency</code>.</p></div>`,
  };
}

export function consoleMessagePage(title: string, message: string, c?: ConsoleLocals): View {
  const body = html`<div class="card"><h1>${title}</h1><p>${message}</p><p><a href="/console">Back to the dashboard</a></p></div>`;
  return c ? consolePage(c, { section: null, title, body }) : { title, brand: CONSOLE_BRAND, styles: STYLES, mainClass: 'console', body };
}

export const consoleNotFoundPage = (c?: ConsoleLocals) => consoleMessagePage('Not found', 'There is nothing here, or it belongs to another agency.', c);
export const consoleForbiddenFormPage = (c?: ConsoleLocals) =>
  consoleMessagePage('This form has expired', 'For your security the form could not be accepted. Go back, reload the page and try again.', c);

// ---------- invitations table ----------

export function invitationRows(items: InvitationJson[], opts: { selectable: boolean; linkHref?: (id: string) => string; showProject: boolean }): SafeHtml {
  return html`${items.map((i) => {
    const selectable = opts.selectable && (i.status === 'pending' || i.status === 'expired');
    return html`<tr data-id="${i.id}">
${opts.selectable ? html`<td class="check">${selectable ? html`<input type="checkbox" name="ids" value="${i.id}" aria-label="Select ${i.email}">` : ''}</td>` : ''}
<td data-label="Client"><strong>${fullName(i.client.first_name, i.client.last_name)}</strong><span class="sub">${i.email}</span></td>
${opts.showProject ? html`<td data-label="Project"><a href="/console/projects/${i.project.id}">${i.project.name}</a></td>` : ''}
<td data-label="Status">${badge(i.status)}</td>
<td data-label="Expires">${i.status === 'pending' || i.status === 'expired' ? formatWhen(i.expires_at) : i.status === 'accepted' ? html`<span class="sub">accepted ${formatWhen(i.accepted_at)}</span>` : i.status === 'revoked' ? html`<span class="sub">revoked ${formatWhen(i.revoked_at)}</span>` : '—'}</td>
<td class="num" data-label="Sent">${i.send_count}<span class="sub">${i.last_sent_at ? formatWhen(i.last_sent_at) : 'never'}</span></td>
<td data-label="Last delivery">${badge(i.delivery_status)}${i.delivery_error ? html`<span class="delivery-error">${i.delivery_error}</span>` : ''}</td>
<td data-label="Created by">${i.created_by ? (i.created_by.name ?? i.created_by.email) : html`<span class="sub">—</span>`}</td>
${opts.linkHref ? html`<td>${i.status === 'pending' ? html`<a class="button secondary small" href="${opts.linkHref(i.id)}">Copy link</a>` : ''}</td>` : ''}
</tr>`;
  })}`;
}

export function invitationHead(opts: { selectable: boolean; showProject: boolean; actions: boolean }): SafeHtml {
  return html`<thead><tr>${opts.selectable ? html`<th class="check"></th>` : ''}<th>Client</th>${opts.showProject ? html`<th>Project</th>` : ''}<th>Status</th><th>Expires</th>
<th class="num">Sent</th><th>Last delivery</th><th>Created by</th>${opts.actions ? html`<th></th>` : ''}</tr></thead>`;
}
