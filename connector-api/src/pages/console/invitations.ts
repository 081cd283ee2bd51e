import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import {
  AppError,
  bulkInvitations,
  bulkInvitationsMatching,
  BULK_MAX,
  BULK_MATCHING_MAX,
  countInvitations,
  getConsoleProject,
  html,
  invitationEmails,
  invitationLink,
  inviteClient,
  listInvitationsJson,
  listProjectChoices,
  type BulkItemResult,
  type BulkMatchingSummary,
  type Deps,
  type FieldError,
  type InvitationFilters,
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
import { describedBy, field, fieldError, flashBlock, flashOf, inviteNotice, optionalText, one, plural, redirectWithFlash, refusal, type Flash } from './kit.js';
import type { ConsoleForm } from './index.js';

const str = (max: number) => z.string().max(max).optional();

const filtersSchema = z.object({
  status: z.preprocess(one, z.enum(['pending', 'accepted', 'revoked', 'expired', 'all']).catch('pending')).default('pending'),
  project: z.preprocess(optionalText, str(100)),
  email: z.preprocess(optionalText, str(320)),
  q: z.preprocess(optionalText, str(200)),
  cursor: z.preprocess(optionalText, str(200)),
});

const bulkSchema = z.object({
  action: z.enum(['resend', 'revoke']),
  ids: z.preprocess((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]), z.array(z.string().max(100)).max(BULK_MAX)),
});

const matchingSchema = z.object({
  action: z.preprocess(one, z.enum(['resend', 'revoke'])),
  through: z.preprocess(optionalText, z.coerce.number().int().min(0).optional()),
});

const INVITATIONS_PER_PAGE = 50;

const toCore = (f: DashboardFilters): InvitationFilters => ({
  status: f.status === 'all' ? undefined : f.status,
  projectId: f.project,
  email: f.email,
  q: f.q,
});
const filterQuery = (f: DashboardFilters) => queryString({ status: f.status === 'pending' ? undefined : f.status, project: f.project, email: f.email, q: f.q });

const errorLabels: Record<string, string> = {
  not_found: 'not found',
  invitation_not_pending: 'not pending',
  rate_limited: 'rate limited',
  client_deactivated: 'client deactivated',
};
const label = (code: string) => errorLabels[code] ?? code.replace(/_/g, ' ');
const done = (action: 'resend' | 'revoke') => (action === 'resend' ? 'resent' : 'revoked');

/** "3 resent, 1 not found": the counts first; the page lists each item that did not go through. */
function bulkSummary(action: 'resend' | 'revoke', results: BulkItemResult[]): string {
  const parts: string[] = [];
  const ok = results.filter((r) => r.ok).length;
  if (ok) parts.push(`${ok} ${done(action)}`);
  const failed = new Map<string, number>();
  for (const r of results) if (!r.ok) failed.set(label(r.error!.code), (failed.get(label(r.error!.code)) ?? 0) + 1);
  for (const [l, n] of failed) parts.push(`${n} ${l}`);
  return parts.join(', ');
}

/** A bulk outcome as the page shows it: all done is a notice, partly done a notice with a warning, nothing done an alert. */
function bulkFlash(summary: string, ok: number, failures: string[]): Flash {
  if (failures.length === 0) return { notice: summary };
  if (ok > 0) return { notice: `Partly done: ${summary}.`, details: failures, partial: true };
  return { alert: `Nothing was changed: ${summary}.`, details: failures };
}

function matchingFlash(s: BulkMatchingSummary): Flash {
  const parts = [`${s.succeeded.toLocaleString('en-US')} ${done(s.action)}`];
  for (const [code, n] of Object.entries(s.failedByCode)) parts.push(`${n.toLocaleString('en-US')} ${label(code)}`);
  let summary = `${parts.join(', ')} (of ${plural(s.attempted, 'matching invitation')})`;
  if (s.leftOver)
    summary += `; ${plural(s.leftOver, 'more match', 'more match')} (at most ${BULK_MATCHING_MAX.toLocaleString('en-US')} per action: run it again)`;
  const details = s.failures.map((f) => `${f.email}: ${f.message}`);
  const more = s.attempted - s.succeeded - s.failures.length;
  if (more > 0) details.push(`…and ${plural(more, 'more')} not shown`);
  return bulkFlash(summary, s.succeeded, details);
}

/**
 * The dashboard: every invitation of the agency across projects, filtered and searched, with bulk resend
 * and revoke of the ticked rows or of every match of the filter, "copy link", and an invite form. Read and
 * changed through the same use cases as the API, as the signed-in firm user; every change redirects
 * (Post/Redirect/Get) to a page that says what happened.
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
    const [page, matching, projects] = await Promise.all([
      listInvitationsJson(deps.pool, agencyId, toCore(filters), { limit: INVITATIONS_PER_PAGE, cursor: filters.cursor }),
      countInvitations(deps.pool, agencyId, toCore(filters)),
      listProjectChoices(deps.pool, agencyId),
    ]);
    return { filters, projects, projectName, items: page.data, nextCursor: page.next_cursor, matching, ...extra };
  }

  async function render(req: Request, res: Response, extra: Partial<DashboardData> = {}, status = 200): Promise<void> {
    const c = consoleOf(res);
    const filters = filtersSchema.parse(req.query);
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
    const data = await dashboard(c, filters, { flash: await flashOf(deps, req, c), ...extra });
    if (!data) return sendConsolePage(res, consoleNotFoundPage(c), 404);
    sendConsolePage(res, dashboardPage(c, data), status);
  }

  router.get('/console', (req: Request, res: Response) => render(req, res));

  /** A revoke is confirmed on a page of its own first; resend needs no confirmation. */
  function confirmPage(c: ConsoleLocals, opts: { action: string; title: string; text: string; hidden: Array<[string, string]>; cancel: string }): View {
    return consolePage(c, {
      section: 'invitations',
      title: opts.title,
      body: html`<div class="card danger-zone"><h1>${opts.title}</h1><p>${opts.text}</p>
<form method="post" action="${opts.action}">${csrfInput(c.csrf('bulk'))}${opts.hidden.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<input type="hidden" name="confirm" value="yes">
<div class="actions"><button type="submit" class="danger" id="confirm-button">${opts.title}</button><a href="${opts.cancel}">Cancel, go back</a></div></form></div>`,
    });
  }

  router.post('/console/invitations/bulk', ...bulkForm, async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const filters = filtersSchema.parse({ status: body.status, project: body.project, email: body.email, q: body.q });
    const back = `/console${filterQuery(filters)}`;
    const parsed = bulkSchema.safeParse(body);
    if (!parsed.success) {
      return sendConsolePage(res, consoleMessagePage('Request not accepted', 'Choose Resend or Revoke, with at most 500 invitations.', c), 422);
    }
    const { action, ids } = parsed.data;
    if (ids.length === 0) return redirectWithFlash(deps, res, c, back, { alert: 'Select at least one invitation first.' });
    if (action === 'revoke' && field(body, 'confirm') !== 'yes') {
      return sendConsolePage(
        res,
        confirmPage(c, {
          action: '/console/invitations/bulk',
          title: `Revoke ${plural(ids.length, 'invitation')}`,
          text: `The ${ids.length === 1 ? 'link stops' : 'links stop'} working at once and show “invitation no longer valid”. A revoked invitation cannot be resent; invite the client again instead.`,
          hidden: [
            ['action', 'revoke'],
            ...ids.map((id): [string, string] => ['ids', id]),
            ['status', filters.status],
            ['project', filters.project ?? ''],
            ['email', filters.email ?? ''],
            ['q', filters.q ?? ''],
          ],
          cancel: back,
        }),
      );
    }
    // The use case checks the role and scopes every id to this agency: another agency's id is "not found".
    const results = await bulkInvitations(deps, c.session.principal, action, ids);
    const emails = await invitationEmails(deps.pool, c.session.principal.agencyId, ids);
    const failures = results.filter((r) => !r.ok).map((r) => `${emails.get(r.id) ?? r.id}: ${r.error!.message}`);
    await redirectWithFlash(deps, res, c, back, bulkFlash(bulkSummary(action, results), results.filter((r) => r.ok).length, failures));
  });

  router.post('/console/invitations/matching', ...form('bulk'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const filters = filtersSchema.parse({ status: body.status, project: body.project, email: body.email, q: body.q });
    const back = `/console${filterQuery(filters)}`;
    const parsed = matchingSchema.safeParse(body);
    if (!parsed.success) return sendConsolePage(res, consoleMessagePage('Request not accepted', 'Choose Resend or Revoke.', c), 422);
    const { action, through } = parsed.data;
    if (filters.project && !(await getConsoleProject(deps.pool, c.session.principal.agencyId, filters.project))) {
      return sendConsolePage(res, consoleNotFoundPage(c), 404);
    }
    if (action === 'revoke' && field(body, 'confirm') !== 'yes') {
      const { count } = await countInvitations(deps.pool, c.session.principal.agencyId, toCore(filters), { through: through ?? null });
      return sendConsolePage(
        res,
        confirmPage(c, {
          action: '/console/invitations/matching',
          title: `Revoke all ${plural(count, 'matching invitation')}`,
          text: `Every pending invitation matching this filter is revoked (at most ${BULK_MATCHING_MAX.toLocaleString('en-US')}): their links stop working at once. Others (accepted, already revoked) are left as they are and counted as not pending.`,
          hidden: [
            ['action', 'revoke'],
            ['through', String(through ?? '')],
            ['status', filters.status],
            ['project', filters.project ?? ''],
            ['email', filters.email ?? ''],
            ['q', filters.q ?? ''],
          ],
          cancel: back,
        }),
      );
    }
    const summary = await bulkInvitationsMatching(deps, c.session.principal, action, toCore(filters), { through: through ?? null });
    await redirectWithFlash(deps, res, c, back, matchingFlash(summary));
  });

  router.post('/console/invitations/invite', ...form('invite'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const body = req.body as Record<string, unknown>;
    const values: InviteValues = {
      project: field(body, 'project'),
      email: field(body, 'email'),
      first_name: field(body, 'first_name'),
      last_name: field(body, 'last_name'),
      message: field(body, 'message'),
      send_email: body.send_email !== undefined,
    };
    try {
      if (!values.project)
        throw new AppError('validation_failed', 'Validation failed', {
          errors: [{ field: 'project', message: 'is required: choose the project to invite to' }],
        });
      const out = await inviteClient(deps, c.session.principal, values.project, {
        email: values.email,
        first_name: values.first_name,
        last_name: values.last_name,
        message: values.message.trim() === '' ? null : values.message.replace(/\r\n/g, '\n'),
        send_email: values.send_email,
      });
      const who = `${out.body.client.first_name} ${out.body.client.last_name} (${out.body.client.email})`;
      await redirectWithFlash(deps, res, c, '/console', { notice: inviteNotice(out.body.result, who, out.body.project.name) });
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        return render(req, res, { invite: { values, errors: [{ field: 'project', message: 'is not a project of this agency' }] } }, 404);
      }
      const r = refusal(err);
      await render(
        req,
        res,
        {
          invite: { values, errors: r.errors, ...(r.errors.length && err instanceof AppError && err.code === 'validation_failed' ? {} : { alert: r.message }) },
        },
        r.status,
      );
    }
  });

  return router;
}

interface DashboardFilters {
  status: 'pending' | 'accepted' | 'revoked' | 'expired' | 'all';
  project?: string | undefined;
  email?: string | undefined;
  q?: string | undefined;
  cursor?: string | undefined;
}

interface InviteValues {
  project: string;
  email: string;
  first_name: string;
  last_name: string;
  message: string;
  send_email: boolean;
}

interface DashboardData {
  filters: DashboardFilters;
  projects: Array<{ id: string; name: string }>;
  projectName?: string | undefined;
  items: InvitationJson[];
  nextCursor: string | null;
  matching: { count: number; newestSeq: number | null };
  flash?: Flash | null;
  link?: { email: string; url: string; expiresAt: string } | undefined;
  alert?: string | undefined;
  invite?: { values: InviteValues; errors: FieldError[]; alert?: string } | undefined;
}

function inviteCard(c: ConsoleLocals, d: DashboardData): ReturnType<typeof html> {
  const v = d.invite?.values;
  const errors = d.invite?.errors;
  return html`<details class="card" id="invite-card"${d.invite ? html` open` : ''}><summary><h2 class="inline-h">Invite a client</h2> <span class="muted">to any project</span></summary>
${d.invite?.alert ? html`<div class="alert" role="alert">${d.invite.alert}</div>` : ''}
<form method="post" action="/console/invitations/invite" class="invite wide" novalidate>
${csrfInput(c.csrf('invite'))}
<label for="invite-project">Project</label>
<select id="invite-project" name="project" required${describedBy(errors, 'project')}><option value="">Choose a project…</option>${d.projects.map(
    (p) => html`<option value="${p.id}"${v?.project === p.id || (!v && d.filters.project === p.id) ? html` selected` : ''}>${p.name}</option>`,
  )}</select>${fieldError(errors, 'project', 'Project')}
<div class="grid2"><div><label for="invite-first">First name</label><input type="text" id="invite-first" name="first_name" value="${v?.first_name ?? ''}" maxlength="200" required${describedBy(errors, 'first_name')}>${fieldError(errors, 'first_name', 'First name')}</div>
<div><label for="invite-last">Last name</label><input type="text" id="invite-last" name="last_name" value="${v?.last_name ?? ''}" maxlength="200" required${describedBy(errors, 'last_name')}>${fieldError(errors, 'last_name', 'Last name')}</div></div>
<label for="invite-email">Email</label><input type="email" id="invite-email" name="email" value="${v?.email ?? ''}" maxlength="320" required${describedBy(errors, 'email')}>${fieldError(errors, 'email', 'Email')}
<label for="invite-message">Personal message <span class="muted">(optional)</span></label>
<textarea id="invite-message" name="message" maxlength="2000">${v?.message ?? ''}</textarea>${fieldError(errors, 'message', 'Message')}
<label class="inline"><input type="checkbox" name="send_email" value="1"${v && !v.send_email ? '' : html` checked`}> Send the invitation email now</label>
<div class="actions"><button type="submit">Invite client</button><span class="muted">An active client is added at once, without an email.</span></div>
</form></details>`;
}

function dashboardPage(c: ConsoleLocals, d: DashboardData): View {
  const inviter = canInvite(c.session);
  const f = d.filters;
  const base = { status: f.status === 'pending' ? undefined : f.status, project: f.project, email: f.email, q: f.q };
  const here = (extra: Record<string, string | undefined> = {}) => `/console${queryString({ ...base, cursor: f.cursor, ...extra })}`;
  const statusOptions = ['pending', 'expired', 'accepted', 'revoked', 'all'] as const;
  const projectChoices =
    d.projects.some((p) => p.id === f.project) || !f.project ? d.projects : [{ id: f.project, name: d.projectName ?? f.project }, ...d.projects];
  const hiddenFilters = html`<input type="hidden" name="status" value="${f.status}">
<input type="hidden" name="project" value="${f.project ?? ''}">
<input type="hidden" name="email" value="${f.email ?? ''}">
<input type="hidden" name="q" value="${f.q ?? ''}">`;

  const filters = html`<form class="filters" method="get" action="/console" role="search">
<div><label for="status">Status</label><select id="status" name="status">${statusOptions.map(
    (s) => html`<option value="${s}"${f.status === s ? html` selected` : ''}>${s === 'all' ? 'All statuses' : s[0]!.toUpperCase() + s.slice(1)}</option>`,
  )}</select></div>
<div><label for="project">Project</label><select id="project" name="project"><option value="">All projects</option>${projectChoices.map(
    (p) => html`<option value="${p.id}"${f.project === p.id ? html` selected` : ''}>${p.name}</option>`,
  )}</select></div>
<div><label for="q">Client</label><input type="search" id="q" name="q" value="${f.q ?? ''}" maxlength="200" placeholder="name or email, first letters"></div>
${f.email ? html`<input type="hidden" name="email" value="${f.email}">` : ''}
<div><button type="submit" class="secondary">Filter</button></div>
${f.project || f.email || f.q || f.status !== 'pending' ? html`<div><a href="/console">Clear</a></div>` : ''}
</form>`;

  const notices = html`${d.alert ? html`<div class="alert" role="alert">${d.alert}</div>` : ''}
${flashBlock(d.flash)}
${
  d.link
    ? html`<div class="notice linkbox" id="invite-link-box"><label for="invite-link">Invite link for ${d.link.email}</label>
<input type="text" id="invite-link" readonly value="${d.link.url}" data-copy="the invite link for ${d.link.email}">
<span class="muted">Select it and copy. Anyone holding this link can join as this client until ${formatWhen(d.link.expiresAt)}. Resending replaces it.</span></div>`
    : ''
}`;

  const n = d.matching.count;
  const what = `${f.status === 'all' ? '' : `${f.status} `}invitation${n === 1 ? '' : 's'}`;
  const table =
    d.items.length === 0
      ? html`<p class="empty">No ${f.status === 'all' ? '' : `${f.status} `}invitations${d.projectName ? html` in ${d.projectName}` : ''}${f.q ? html` for “${f.q}”` : ''}${f.email ? html` for ${f.email}` : ''}.</p>`
      : html`<table class="stack">${invitationHead({ selectable: inviter, showProject: true, actions: inviter })}<tbody>${invitationRows(d.items, {
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

  const actionable = f.status === 'pending' || f.status === 'expired' || f.status === 'all';
  const list = inviter
    ? html`${
        n > 0 && actionable
          ? html`<form method="post" action="/console/invitations/matching" class="matching top" id="matching">
${csrfInput(c.csrf('bulk'))}${hiddenFilters}<input type="hidden" name="through" value="${d.matching.newestSeq ?? ''}">
<span><strong id="matching-count">All ${n.toLocaleString('en-US')}${n >= 100_000 ? '+' : ''} ${what}</strong> matching this filter${d.nextCursor || f.cursor ? ', on every page' : ''}:</span>
<button type="submit" name="action" value="resend" class="secondary small">Resend all ${n.toLocaleString('en-US')}</button>
<button type="submit" name="action" value="revoke" class="danger small">Revoke all ${n.toLocaleString('en-US')}…</button>
<span class="muted">Done in batches on the server; each invitation keeps its resend limits.</span>
</form>`
          : ''
      }<form method="post" action="/console/invitations/bulk" id="bulk">
${csrfInput(c.csrf('bulk'))}
${hiddenFilters}
${d.items.length ? html`<div class="toolbar select-all" hidden><label class="inline"><input type="checkbox" id="select-all" data-select-all="ids"> Select all on this page</label></div>` : ''}
${table}
${
  d.items.length
    ? html`<div class="toolbar"><button type="submit" name="action" value="resend" class="secondary small">Resend selected</button>
<button type="submit" name="action" value="revoke" class="danger small">Revoke selected</button>
<span class="muted">Resend sends a new link (the old one stops working). Revoke makes the link show “no longer valid”.</span></div>`
    : ''
}
</form>`
    : html`${table}<div class="toolbar"><span class="muted">Read-only: owners and admins can invite, resend, revoke and copy links.</span></div>`;

  return consolePage(c, {
    section: 'invitations',
    title: 'Invitations',
    scripts: ['console.js'],
    body: html`<div class="card"><div class="title-row"><h1>Invitations</h1><span class="muted">${
      d.projectName ? html`in ${d.projectName}` : 'across all projects'
    } · ${n.toLocaleString('en-US')}${n >= 100_000 ? '+' : ''} matching</span></div>${filters}</div>
${notices}
${inviter ? inviteCard(c, d) : ''}
<div class="card flush">${list}${pager}</div>`,
  });
}
