import type { BulkItemResult, ConsoleMember, ConsoleProject, ConsoleSession, FieldError, InvitationJson } from '@onramp/core';
import { html, signInFields, type Branding, type SafeHtml, type SendPageOptions } from './html.js';
import { CSRF_FIELD } from './csrf.js';

type View = Omit<SendPageOptions, 'status' | 'tokenInUrl'>;

/** The console is wider than the client pages and has tables; the colours stay those of html.ts. */
const CSS = `
main{max-width:1200px}
header nav{display:flex;gap:18px;margin-left:28px}
header nav a{color:inherit;text-decoration:none;font-weight:500;opacity:.8;padding:2px 0;border-bottom:2px solid transparent}
header nav a.active{opacity:1;border-bottom-color:currentColor}
header .who .role{opacity:.8}
.card.flush{padding:0;overflow-x:auto}
.card.flush .card-head{padding:20px 24px 4px}
.title-row{display:flex;align-items:baseline;gap:14px;flex-wrap:wrap}
.title-row .right{margin-left:auto}
table{width:100%;border-collapse:collapse;font-size:14px}
th,td{text-align:left;padding:10px 12px;border-top:1px solid #e5e7eb;vertical-align:top}
th{font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.03em;color:#6b7280;background:#f9fafb}
td.num,th.num{text-align:right}
td .sub{display:block;color:#6b7280;font-size:13px}
td.check{width:36px}
.badge{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.pending{background:#fef3c7;color:#92400e}
.badge.accepted,.badge.active,.badge.sent{background:#d1fae5;color:#065f46}
.badge.revoked,.badge.deactivated,.badge.not_sent,.badge.inactive{background:#e5e7eb;color:#374151}
.badge.expired,.badge.failed{background:#fee2e2;color:#991b1b}
.badge.queued,.badge.invited{background:#e0e7ff;color:#3730a3}
.delivery-error{color:#991b1b;font-size:12px;display:block;max-width:220px;overflow-wrap:anywhere}
form.filters{display:flex;gap:14px;align-items:flex-end;flex-wrap:wrap;margin:0}
form.filters label{margin:0 0 4px}
select,input[type=text],input[type=search],textarea{padding:9px 11px;border:1px solid #d1d5db;border-radius:6px;font-size:15px;font-family:inherit;background:#fff}
form.filters input{width:260px}
form.invite input[type=text],form.invite input[type=email],form.invite textarea{width:100%}
form.invite .row{display:flex;gap:14px}
form.invite .row>div{flex:1}
textarea{min-height:90px;resize:vertical}
label.inline{display:flex;align-items:center;gap:8px;font-weight:400}
button.secondary,a.button.secondary{background:#fff;color:#374151;border:1px solid #d1d5db}
button.danger{background:#b91c1c;color:#fff}
button.small,a.button.small{padding:6px 12px;font-size:14px}
a.button{display:inline-block;border-radius:6px;text-decoration:none;font-weight:600;white-space:nowrap}
td.num .sub{white-space:nowrap}
form+p.muted{margin-top:18px}
.toolbar{display:flex;gap:10px;align-items:center;padding:12px 24px;border-top:1px solid #e5e7eb}
.toolbar .muted{margin-left:auto}
.pager{display:flex;gap:16px;padding:14px 24px;border-top:1px solid #e5e7eb;font-size:14px}
.linkbox input{width:100%;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:14px;margin:6px 0}
.results{margin:8px 0 0;padding-left:20px;font-size:14px}
.empty{padding:28px 24px;color:#6b7280}
.stats{display:flex;gap:28px;margin-top:8px}
.stats div{font-size:14px;color:#6b7280}
.stats strong{display:block;font-size:22px;color:#111827}
`;

const csrfInput = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

const brandOf = (s: ConsoleSession): Branding => ({ name: `${s.agency.name} · Console`, brandColor: s.agency.brandColor, logoUrl: s.agency.logoUrl });

const CONSOLE_BRAND: Branding = { name: 'Onramp console', brandColor: '#1f2937', logoUrl: null };

export type Section = 'invitations' | 'projects';

function chrome(s: ConsoleSession, section: Section | null, logoutCsrf: string): SafeHtml {
  const p = s.principal;
  return html`<nav><a href="/console"${section === 'invitations' ? html` class="active"` : ''}>Invitations</a>
<a href="/console/projects"${section === 'projects' ? html` class="active"` : ''}>Projects</a></nav>
<span class="who"><span>${p.userName ?? p.userEmail} <span class="role">(${p.role})</span></span>
<form method="post" action="/console/logout">${csrfInput(logoutCsrf)}<button type="submit">Sign out</button></form></span>`;
}

export interface Frame {
  session: ConsoleSession;
  logoutCsrf: string;
}

function page(f: Frame, section: Section | null, title: string, body: SafeHtml): View {
  return { title, brand: brandOf(f.session), headerExtra: chrome(f.session, section, f.logoutCsrf), css: CSS, body };
}

export const canInvite = (s: ConsoleSession): boolean => s.principal.role === 'owner' || s.principal.role === 'admin';

export function formatWhen(value: string | Date | null): string {
  if (!value) return '—';
  const d = value instanceof Date ? value : new Date(value);
  return `${d.toLocaleString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' })} UTC`;
}

const fullName = (first: string, last: string) => `${first} ${last}`.trim();

const badge = (status: string) => html`<span class="badge ${status}">${status.replace('_', ' ')}</span>`;

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
    css: `${CSS}main{max-width:460px}`,
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

export function consoleMessagePage(title: string, message: string, frame?: Frame): View {
  const body = html`<div class="card"><h1>${title}</h1><p>${message}</p><p><a href="/console">Back to the dashboard</a></p></div>`;
  return frame ? page(frame, null, title, body) : { title, brand: CONSOLE_BRAND, css: CSS, body };
}

export const consoleNotFoundPage = (frame?: Frame) => consoleMessagePage('Not found', 'There is nothing here, or it belongs to another agency.', frame);
export const consoleForbiddenFormPage = (frame?: Frame) =>
  consoleMessagePage('This form has expired', 'For your security the form could not be accepted. Go back, reload the page and try again.', frame);

// ---------- invitations table ----------

function invitationRows(items: InvitationJson[], opts: { selectable: boolean; linkHref?: (id: string) => string; showProject: boolean }): SafeHtml {
  return html`${items.map((i) => {
    const selectable = opts.selectable && (i.status === 'pending' || i.status === 'expired');
    return html`<tr data-id="${i.id}">
${opts.selectable ? html`<td class="check">${selectable ? html`<input type="checkbox" name="ids" value="${i.id}" aria-label="Select ${i.email}">` : ''}</td>` : ''}
<td><strong>${fullName(i.client.first_name, i.client.last_name)}</strong><span class="sub">${i.email}</span></td>
${opts.showProject ? html`<td><a href="/console/projects/${i.project.id}">${i.project.name}</a></td>` : ''}
<td>${badge(i.status)}</td>
<td>${i.status === 'pending' || i.status === 'expired' ? formatWhen(i.expires_at) : i.status === 'accepted' ? html`<span class="sub">accepted ${formatWhen(i.accepted_at)}</span>` : i.status === 'revoked' ? html`<span class="sub">revoked ${formatWhen(i.revoked_at)}</span>` : '—'}</td>
<td class="num">${i.send_count}<span class="sub">${i.last_sent_at ? formatWhen(i.last_sent_at) : 'never'}</span></td>
<td>${badge(i.delivery_status)}${i.delivery_error ? html`<span class="delivery-error">${i.delivery_error}</span>` : ''}</td>
<td>${i.created_by ? (i.created_by.name ?? i.created_by.email) : html`<span class="sub">—</span>`}</td>
${opts.linkHref ? html`<td>${i.status === 'pending' ? html`<a class="button secondary small" href="${opts.linkHref(i.id)}">Copy link</a>` : ''}</td>` : ''}
</tr>`;
  })}`;
}

function invitationHead(opts: { selectable: boolean; showProject: boolean; actions: boolean }): SafeHtml {
  return html`<thead><tr>${opts.selectable ? html`<th class="check"></th>` : ''}<th>Client</th>${opts.showProject ? html`<th>Project</th>` : ''}<th>Status</th><th>Expires</th>
<th class="num">Sent</th><th>Last delivery</th><th>Created by</th>${opts.actions ? html`<th></th>` : ''}</tr></thead>`;
}

// ---------- dashboard ----------

export interface DashboardFilters {
  status: 'pending' | 'accepted' | 'revoked' | 'expired' | 'all';
  project?: string | undefined;
  email?: string | undefined;
  cursor?: string | undefined;
}

export interface BulkOutcome {
  action: 'resend' | 'revoke';
  results: BulkItemResult[];
  /** The agency's own invitations among the ids, to name them; other ids stay bare. */
  emails: Map<string, string>;
}

const errorLabels: Record<string, string> = {
  not_found: 'not found',
  invitation_not_pending: 'not pending',
  rate_limited: 'rate limited',
  client_deactivated: 'client deactivated',
};

/** "3 resent, 1 not found": the counts first, then one line per item that did not go through. */
export function bulkSummary(outcome: BulkOutcome): string {
  const parts: string[] = [];
  const ok = outcome.results.filter((r) => r.ok).length;
  if (ok) parts.push(`${ok} ${outcome.action === 'resend' ? 'resent' : 'revoked'}`);
  const failed = new Map<string, number>();
  for (const r of outcome.results) if (!r.ok) failed.set(errorLabels[r.error!.code] ?? r.error!.code.replace(/_/g, ' '), (failed.get(errorLabels[r.error!.code] ?? r.error!.code.replace(/_/g, ' ')) ?? 0) + 1);
  for (const [label, n] of failed) parts.push(`${n} ${label}`);
  return parts.join(', ');
}

export interface DashboardData {
  filters: DashboardFilters;
  projects: Array<{ id: string; name: string }>;
  projectName?: string | undefined;
  items: InvitationJson[];
  nextCursor: string | null;
  csrf: string;
  bulk?: BulkOutcome | undefined;
  link?: { email: string; url: string; expiresAt: string } | undefined;
  alert?: string | undefined;
}

export function dashboardPage(frame: Frame, d: DashboardData): View {
  const inviter = canInvite(frame.session);
  const f = d.filters;
  const base = { status: f.status === 'pending' ? undefined : f.status, project: f.project, email: f.email };
  const here = (extra: Record<string, string | undefined> = {}) => `/console${queryString({ ...base, cursor: f.cursor, ...extra })}`;
  const statusOptions = ['pending', 'expired', 'accepted', 'revoked', 'all'] as const;
  const projectChoices = d.projects.some((p) => p.id === f.project) || !f.project ? d.projects : [{ id: f.project, name: d.projectName ?? f.project }, ...d.projects];

  const filters = html`<form class="filters" method="get" action="/console">
<div><label for="status">Status</label><select id="status" name="status">${statusOptions.map(
    (s) => html`<option value="${s}"${f.status === s ? html` selected` : ''}>${s === 'all' ? 'All statuses' : s[0]!.toUpperCase() + s.slice(1)}</option>`,
  )}</select></div>
<div><label for="project">Project</label><select id="project" name="project"><option value="">All projects</option>${projectChoices.map(
    (p) => html`<option value="${p.id}"${f.project === p.id ? html` selected` : ''}>${p.name}</option>`,
  )}</select></div>
<div><label for="email">Client email</label><input type="email" id="email" name="email" value="${f.email ?? ''}" placeholder="exact address"></div>
<div><button type="submit" class="secondary">Filter</button></div>
${f.project || f.email || f.status !== 'pending' ? html`<div><a href="/console">Clear</a></div>` : ''}
</form>`;

  const notices = html`${d.alert ? html`<div class="alert" role="alert">${d.alert}</div>` : ''}
${
  d.bulk
    ? html`<div class="${d.bulk.results.some((r) => !r.ok) ? 'alert' : 'notice'}" role="status" id="bulk-results"><strong>${bulkSummary(d.bulk) || 'Nothing selected.'}</strong>
${
  d.bulk.results.some((r) => !r.ok)
    ? html`<ul class="results">${d.bulk.results
        .filter((r) => !r.ok)
        .map((r) => html`<li>${d.bulk!.emails.get(r.id) ?? r.id}: ${r.error!.message}</li>`)}</ul>`
    : ''
}</div>`
    : ''
}
${
  d.link
    ? html`<div class="notice linkbox" id="invite-link-box"><label for="invite-link">Invite link for ${d.link.email}</label>
<input type="text" id="invite-link" readonly value="${d.link.url}">
<span class="muted">Select it and copy. Anyone holding this link can join as this client until ${formatWhen(d.link.expiresAt)}. Resending replaces it.</span></div>`
    : ''
}`;

  const table =
    d.items.length === 0
      ? html`<p class="empty">No ${f.status === 'all' ? '' : `${f.status} `}invitations${d.projectName ? html` in ${d.projectName}` : ''}${f.email ? html` for ${f.email}` : ''}.</p>`
      : html`<table>${invitationHead({ selectable: inviter, showProject: true, actions: inviter })}<tbody>${invitationRows(d.items, {
          selectable: inviter,
          showProject: true,
          ...(inviter ? { linkHref: (id: string) => here({ link: id }) } : {}),
        })}</tbody></table>`;

  const pager =
    d.nextCursor || f.cursor
      ? html`<div class="pager">${f.cursor ? html`<a href="${here({ cursor: undefined })}">« First page</a>` : ''}${
          d.nextCursor ? html`<a href="${here({ cursor: d.nextCursor })}" rel="next">Next page »</a>` : ''
        }</div>`
      : '';

  const list = inviter
    ? html`<form method="post" action="/console/invitations/bulk" id="bulk">
${csrfInput(d.csrf)}
<input type="hidden" name="status" value="${f.status}">
<input type="hidden" name="project" value="${f.project ?? ''}">
<input type="hidden" name="email" value="${f.email ?? ''}">
${table}
${d.items.length ? html`<div class="toolbar"><button type="submit" name="action" value="resend" class="secondary small">Resend selected</button>
<button type="submit" name="action" value="revoke" class="danger small">Revoke selected</button>
<span class="muted">Resend sends a new link (the old one stops working). Revoke makes the link show “no longer valid”.</span></div>` : ''}
</form>`
    : html`${table}<div class="toolbar"><span class="muted">Read-only: owners and admins can resend, revoke and copy links.</span></div>`;

  return page(
    frame,
    'invitations',
    'Invitations',
    html`<div class="card"><div class="title-row"><h1>Invitations</h1><span class="muted">${
      d.projectName ? html`in ${d.projectName}` : 'across all projects'
    }</span></div>${filters}</div>
${notices}
<div class="card flush">${list}${pager}</div>`,
  );
}

// ---------- projects ----------

export function projectsPage(frame: Frame, d: { items: ConsoleProject[]; nextCursor: string | null; cursor?: string | undefined }): View {
  const rows = d.items.map(
    (p) => html`<tr>
<td><a href="/console/projects/${p.id}"><strong>${p.name}</strong></a>${p.archived ? html` <span class="badge revoked">archived</span>` : ''}${p.externalId ? html`<span class="sub">external id ${p.externalId}</span>` : ''}</td>
<td class="num">${p.members}</td>
<td class="num">${p.pending ? html`<a href="/console?project=${p.id}">${p.pending}</a>` : '0'}</td>
<td>${formatWhen(p.createdAt)}</td>
<td><a href="/console?project=${p.id}&amp;status=all">All invitations</a></td>
</tr>`,
  );
  return page(
    frame,
    'projects',
    'Projects',
    html`<div class="card"><h1>Projects</h1><p class="muted">Every workspace of ${frame.session.agency.name}, newest first. Open one to see its members and invite a client.</p></div>
<div class="card flush">${
      d.items.length === 0
        ? html`<p class="empty">No projects yet. Create them through the API, a CSV import or Zapier.</p>`
        : html`<table><thead><tr><th>Project</th><th class="num">Members</th><th class="num">Pending</th><th>Created</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    }${
      d.nextCursor || d.cursor
        ? html`<div class="pager">${d.cursor ? html`<a href="/console/projects">« First page</a>` : ''}${
            d.nextCursor ? html`<a href="/console/projects?cursor=${d.nextCursor}" rel="next">Next page »</a>` : ''
          }</div>`
        : ''
    }</div>`,
  );
}

export interface InviteFormValues {
  email?: string;
  first_name?: string;
  last_name?: string;
  message?: string;
  send_email?: boolean;
}

const fieldLabels: Record<string, string> = { email: 'Email', first_name: 'First name', last_name: 'Last name', message: 'Message' };

function fieldError(errors: FieldError[], field: string): SafeHtml | '' {
  const e = errors.find((x) => x.field === field);
  return e ? html`<p class="error" id="${field}-error">${fieldLabels[field] ?? field} ${e.message}</p>` : '';
}

export interface ProjectPageData {
  project: ConsoleProject;
  members: ConsoleMember[];
  invitations: InvitationJson[];
  moreInvitations: boolean;
  csrf: string;
  values?: InviteFormValues;
  errors?: FieldError[];
  alert?: string | undefined;
  notice?: string | undefined;
}

export function projectPage(frame: Frame, d: ProjectPageData): View {
  const p = d.project;
  const v = d.values ?? { send_email: true };
  const errors = d.errors ?? [];
  const unplaced = errors.filter((e) => !(e.field in fieldLabels));
  const inviter = canInvite(frame.session);
  const inviteForm = !inviter
    ? html`<p class="muted">Only owners and admins can invite clients.</p>`
    : p.archived
      ? html`<p class="muted">This project is archived; unarchive it to invite clients.</p>`
      : html`<form method="post" action="/console/projects/${p.id}/invite" class="invite" novalidate>
${csrfInput(d.csrf)}
<div class="row"><div><label for="first_name">First name</label><input type="text" id="first_name" name="first_name" value="${v.first_name ?? ''}" maxlength="200" required>${fieldError(errors, 'first_name')}</div>
<div><label for="last_name">Last name</label><input type="text" id="last_name" name="last_name" value="${v.last_name ?? ''}" maxlength="200" required>${fieldError(errors, 'last_name')}</div></div>
<label for="invite-email">Email</label><input type="email" id="invite-email" name="email" value="${v.email ?? ''}" maxlength="320" required>${fieldError(errors, 'email')}
<label for="message">Personal message <span class="muted">(optional, shown in the email and on the invitation page)</span></label>
<textarea id="message" name="message" maxlength="2000">${v.message ?? ''}</textarea>${fieldError(errors, 'message')}
<label class="inline"><input type="checkbox" name="send_email" value="1"${v.send_email === false ? '' : html` checked`}> Send the invitation email now</label>
${unplaced.length ? html`<ul class="results">${unplaced.map((e) => html`<li class="error">${e.field}: ${e.message}</li>`)}</ul>` : ''}
<div class="actions"><button type="submit">Invite client</button><span class="muted">An active client is added at once, without an email.</span></div>
</form>`;

  const members =
    d.members.length === 0
      ? html`<p class="empty">No members yet. Invited clients join when they accept.</p>`
      : html`<table><thead><tr><th>Client</th><th>Status</th><th>Joined</th></tr></thead><tbody>${d.members.map(
          (m) => html`<tr><td><strong>${fullName(m.firstName, m.lastName)}</strong><span class="sub">${m.email}</span></td><td>${badge(m.status)}</td><td>${formatWhen(m.joinedAt)}</td></tr>`,
        )}</tbody></table>`;

  const invitations =
    d.invitations.length === 0
      ? html`<p class="empty">No invitations yet.</p>`
      : html`<table>${invitationHead({ selectable: false, showProject: false, actions: false })}<tbody>${invitationRows(d.invitations, { selectable: false, showProject: false })}</tbody></table>`;

  return page(
    frame,
    'projects',
    p.name,
    html`<div class="card"><div class="title-row"><h1>${p.name}</h1>${p.archived ? html`<span class="badge revoked">archived</span>` : ''}
<a class="right" href="/console?project=${p.id}&amp;status=all">All invitations of this project »</a></div>
${p.externalId ? html`<p class="muted">External id ${p.externalId}</p>` : ''}
<div class="stats"><div><strong>${p.members}</strong>members</div><div><strong>${p.pending}</strong>pending invitations</div><div><strong>${formatWhen(p.createdAt)}</strong>created</div></div></div>
${d.notice ? html`<div class="notice" role="status">${d.notice}</div>` : ''}
${d.alert ? html`<div class="alert" role="alert">${d.alert}</div>` : ''}
<div class="card"><h2>Invite a client</h2>${inviteForm}</div>
<div class="card flush"><div class="card-head"><h2>Invitations</h2></div>${invitations}${
      d.moreInvitations ? html`<div class="pager"><a href="/console?project=${p.id}&amp;status=all">See all on the dashboard »</a></div>` : ''
    }</div>
<div class="card flush"><div class="card-head"><h2>Members</h2></div>${members}</div>`,
  );
}
