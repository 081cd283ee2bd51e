import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import {
  AppError,
  bulkInvitations,
  BULK_MAX,
  getConsoleProject,
  html,
  invitationEmails,
  invitationLink,
  listInvitationsJson,
  listProjectChoices,
  type BulkItemResult,
  type Deps,
  type InvitationJson,
} from '@onramp/core';
import {
  canInvite,
  consoleMessagePage,
  consoleNotFoundPage,
  consoleOf,
  consolePage,
  csrfInput,
  formatWhen,
  invitationHead,
  invitationRows,
  queryString,
  sendConsolePage,
  type ConsoleLocals,
  type View,
} from './layout.js';
import type { ConsoleForm } from './index.js';

const str = (max: number) => z.string().max(max).optional();
const one = (v: unknown) => (Array.isArray(v) ? v[0] : v);
const optionalText = (v: unknown) => {
  const s = one(v);
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
};

const filtersSchema = z.object({
  status: z.preprocess(one, z.enum(['pending', 'accepted', 'revoked', 'expired', 'all']).catch('pending')).default('pending'),
  project: z.preprocess(optionalText, str(100)),
  email: z.preprocess(optionalText, str(320)),
  cursor: z.preprocess(optionalText, str(200)),
});

const bulkSchema = z.object({
  action: z.enum(['resend', 'revoke']),
  ids: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(100)).max(BULK_MAX)),
});

const INVITATIONS_PER_PAGE = 50;

/**
 * The dashboard: every invitation of the agency across projects, filtered, with bulk resend and revoke and
 * "copy link". Read and changed through the same use cases as the API, as the signed-in firm user.
 */
export function invitationsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();
  // Up to BULK_MAX checkbox values plus the few hidden fields.
  const bulkForm = form('bulk', express.urlencoded({ extended: false, limit: '64kb', parameterLimit: BULK_MAX + 20 }));

  /** The dashboard's data for some filters; a project filter naming no project of this agency is a 404. */
  async function dashboard(c: ConsoleLocals, filters: DashboardFilters, extra: Partial<DashboardData> = {}): Promise<DashboardData | null> {
    const agencyId = c.session.principal.agencyId;
    let projectName: string | undefined;
    if (filters.project) {
      const project = await getConsoleProject(deps.pool, agencyId, filters.project);
      if (!project) return null;
      projectName = project.name;
    }
    const page = await listInvitationsJson(
      deps.pool,
      agencyId,
      { status: filters.status === 'all' ? undefined : filters.status, projectId: filters.project, email: filters.email },
      { limit: INVITATIONS_PER_PAGE, cursor: filters.cursor },
    );
    return {
      filters,
      projects: await listProjectChoices(deps.pool, agencyId),
      projectName,
      items: page.data,
      nextCursor: page.next_cursor,
      ...extra,
    };
  }

  router.get('/console', async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const filters = filtersSchema.parse(req.query);
    const extra: Partial<DashboardData> = {};
    const linkId = optionalText(req.query.link);
    if (linkId && canInvite(c.session)) {
      try {
        const link = await invitationLink(deps, c.session.principal, linkId);
        const emails = await invitationEmails(deps.pool, c.session.principal.agencyId, [linkId]);
        extra.link = { email: emails.get(linkId) ?? '', url: link.url, expiresAt: link.expires_at };
      } catch (err) {
        if (!(err instanceof AppError) || err.code === 'not_found') throw err;
        extra.alert = err.detail ?? err.title;
      }
    }
    const data = await dashboard(c, filters, extra);
    if (!data) return sendConsolePage(res, consoleNotFoundPage(c), 404);
    sendConsolePage(res, dashboardPage(c, data));
  });

  router.post('/console/invitations/bulk', bulkForm, async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const filters = filtersSchema.parse({ status: body.status, project: body.project, email: body.email });
    const parsed = bulkSchema.safeParse(body);
    if (!parsed.success) {
      return sendConsolePage(res, consoleMessagePage('Request not accepted', 'Choose Resend or Revoke, with at most 500 invitations.', c), 422);
    }
    const { action, ids } = parsed.data;
    let extra: Partial<DashboardData>;
    if (ids.length === 0) {
      extra = { alert: 'Select at least one invitation first.' };
    } else {
      // The use case checks the role and scopes every id to this agency: another agency's id is "not found".
      const results = await bulkInvitations(deps, c.session.principal, action, ids);
      const bulk: BulkOutcome = { action, results, emails: await invitationEmails(deps.pool, c.session.principal.agencyId, ids) };
      extra = { bulk };
    }
    const data = await dashboard(c, { ...filters, cursor: undefined }, extra);
    // The results matter more than the filter the form came from: fall back to the unfiltered dashboard.
    sendConsolePage(res, dashboardPage(c, data ?? (await dashboard(c, { status: 'pending' }, extra))!));
  });

  return router;
}


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
  bulk?: BulkOutcome | undefined;
  link?: { email: string; url: string; expiresAt: string } | undefined;
  alert?: string | undefined;
}

function dashboardPage(c: ConsoleLocals, d: DashboardData): View {
  const inviter = canInvite(c.session);
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
${csrfInput(c.csrf('bulk'))}
<input type="hidden" name="status" value="${f.status}">
<input type="hidden" name="project" value="${f.project ?? ''}">
<input type="hidden" name="email" value="${f.email ?? ''}">
${table}
${d.items.length ? html`<div class="toolbar"><button type="submit" name="action" value="resend" class="secondary small">Resend selected</button>
<button type="submit" name="action" value="revoke" class="danger small">Revoke selected</button>
<span class="muted">Resend sends a new link (the old one stops working). Revoke makes the link show “no longer valid”.</span></div>` : ''}
</form>`
    : html`${table}<div class="toolbar"><span class="muted">Read-only: owners and admins can resend, revoke and copy links.</span></div>`;

  return consolePage(c, {
    section: 'invitations',
    title: 'Invitations',
    body: html`<div class="card"><div class="title-row"><h1>Invitations</h1><span class="muted">${
      d.projectName ? html`in ${d.projectName}` : 'across all projects'
    }</span></div>${filters}</div>
${notices}
<div class="card flush">${list}${pager}</div>`,
  });
}
