import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import {
  AppError,
  countClients,
  createClient,
  deactivateClient,
  getClientDetailJson,
  html,
  inviteClient,
  listClientDirectory,
  listInvitationsJson,
  listProjectChoices,
  notFound,
  reactivateClient,
  type ClientDetailJson,
  type Deps,
  type DirectoryClient,
  type FieldError,
  type InvitationJson,
} from '@onramp/core';
import {
  badge,
  canInvite,
  consoleOf,
  consolePage,
  csrfInput,
  formatWhen,
  fullName,
  invitationHead,
  invitationRows,
  queryString,
  sendConsolePage,
  type ConsoleLocals,
  type View,
} from './layout.js';
import {
  describedBy,
  field,
  fieldError,
  flashBlock,
  flashOf,
  inviteNotice,
  one,
  optionalText,
  plural,
  redirectWithFlash,
  refusal,
  UUID,
  type Flash,
} from './kit.js';
import type { ConsoleForm } from './index.js';

const STATUSES = ['inactive', 'invited', 'active', 'deactivated'] as const;
const directoryQuery = z.object({
  q: z.preprocess(optionalText, z.string().max(200).optional()),
  status: z.preprocess(one, z.enum(STATUSES).optional().catch(undefined)),
  cursor: z.preprocess(optionalText, z.string().max(200).optional()),
});
type DirectoryQuery = z.infer<typeof directoryQuery>;

const PER_PAGE = 50;

interface AddValues {
  first_name: string;
  last_name: string;
  email: string;
  project: string;
  send_email: boolean;
}

/**
 * The client directory (search by name or email prefix, filter by status, paged), adding a client with or
 * without an invitation, and a client's page: projects, invitations with delivery status, tasks, invite
 * to a project, deactivate and reactivate (each confirmed on a page that says what it does).
 */
export function clientsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  async function directory(
    req: Request,
    res: Response,
    extra: { add?: { values: AddValues; errors: FieldError[]; alert?: string }; status?: number } = {},
  ): Promise<void> {
    const c = consoleOf(res);
    const agencyId = c.session.principal.agencyId;
    const query = directoryQuery.parse(req.query);
    const filters = { q: query.q, status: query.status };
    const [page, count, projects, flash] = await Promise.all([
      listClientDirectory(deps.pool, agencyId, filters, { limit: PER_PAGE, cursor: query.cursor }),
      countClients(deps.pool, agencyId, filters),
      listProjectChoices(deps.pool, agencyId),
      flashOf(deps, req, c),
    ]);
    sendConsolePage(
      res,
      directoryPage(c, { query, items: page.data, nextCursor: page.next_cursor, count, projects, flash, add: extra.add }),
      extra.status ?? 200,
    );
  }

  router.get('/console/clients', (req: Request, res: Response) => directory(req, res));

  router.post('/console/clients', ...form('client-add'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const body = req.body as Record<string, unknown>;
    const values: AddValues = {
      first_name: field(body, 'first_name'),
      last_name: field(body, 'last_name'),
      email: field(body, 'email'),
      project: field(body, 'project'),
      send_email: body.send_email !== undefined,
    };
    try {
      if (!values.project) {
        const client = await createClient(deps, c.session.principal, { email: values.email, first_name: values.first_name, last_name: values.last_name });
        return await redirectWithFlash(deps, res, c, `/console/clients/${client.id}`, {
          notice: `Added ${fullName(client.first_name, client.last_name)} (${client.email}) without an invitation. They are Inactive until invited to a project.`,
        });
      }
      const out = await inviteClient(deps, c.session.principal, values.project, {
        email: values.email,
        first_name: values.first_name,
        last_name: values.last_name,
        send_email: values.send_email,
      });
      const who = `${fullName(out.body.client.first_name, out.body.client.last_name)} (${out.body.client.email})`;
      await redirectWithFlash(deps, res, c, `/console/clients/${out.body.client.id}`, { notice: inviteNotice(out.body.result, who, out.body.project.name) });
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        return directory(req, res, { add: { values, errors: [{ field: 'project', message: 'is not a project of this agency' }] }, status: 404 });
      }
      const r = refusal(err);
      const existing = err instanceof AppError && typeof err.extra?.client_id === 'string' ? err.extra.client_id : undefined;
      await directory(req, res, {
        status: r.status,
        add: {
          values,
          errors: r.errors,
          ...(r.errors.length && err instanceof AppError && err.code === 'validation_failed'
            ? {}
            : { alert: existing ? `${r.message} Open their page to invite them.` : r.message }),
        },
      });
    }
  });

  async function clientOr404(c: ConsoleLocals, id: string): Promise<ClientDetailJson> {
    const client = UUID.test(id) ? await getClientDetailJson(deps.pool, c.session.principal.agencyId, id) : null;
    if (!client) throw notFound('Client');
    return client;
  }

  async function clientPage(
    req: Request<{ id: string }>,
    res: Response,
    extra: { invite?: { values: InviteValues; errors: FieldError[]; alert?: string }; status?: number } = {},
  ): Promise<void> {
    const c = consoleOf(res);
    const client = await clientOr404(c, req.params.id);
    const [invitations, projects, flash] = await Promise.all([
      listInvitationsJson(deps.pool, c.session.principal.agencyId, { clientId: client.id }, { limit: 50 }),
      listProjectChoices(deps.pool, c.session.principal.agencyId),
      flashOf(deps, req, c),
    ]);
    sendConsolePage(
      res,
      clientView(c, { client, invitations: invitations.data, moreInvitations: invitations.next_cursor !== null, projects, flash, invite: extra.invite }),
      extra.status ?? 200,
    );
  }

  router.get('/console/clients/:id', (req: Request<{ id: string }>, res: Response) => clientPage(req, res));

  router.post('/console/clients/:id/invite', ...form('client-invite'), async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const client = await clientOr404(c, req.params.id);
    const body = req.body as Record<string, unknown>;
    const values: InviteValues = { project: field(body, 'project'), message: field(body, 'message'), send_email: body.send_email !== undefined };
    try {
      if (!values.project)
        throw new AppError('validation_failed', 'Validation failed', { errors: [{ field: 'project', message: 'is required: choose a project' }] });
      const out = await inviteClient(deps, c.session.principal, values.project, {
        email: client.email,
        first_name: client.first_name,
        last_name: client.last_name,
        message: values.message.trim() === '' ? null : values.message.replace(/\r\n/g, '\n'),
        send_email: values.send_email,
      });
      await redirectWithFlash(deps, res, c, `/console/clients/${client.id}`, {
        notice: inviteNotice(out.body.result, fullName(client.first_name, client.last_name), out.body.project.name),
      });
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        return clientPage(req, res, { invite: { values, errors: [{ field: 'project', message: 'is not a project of this agency' }] }, status: 404 });
      }
      const r = refusal(err);
      await clientPage(req, res, { status: r.status, invite: { values, errors: r.errors, ...(r.errors.length ? {} : { alert: r.message }) } });
    }
  });

  for (const action of ['deactivate', 'reactivate'] as const) {
    router.get(`/console/clients/:id/${action}`, async (req: Request<{ id: string }>, res: Response) => {
      const c = consoleOf(res);
      const client = await clientOr404(c, req.params.id);
      sendConsolePage(res, confirmView(c, client, action));
    });
    router.post(`/console/clients/:id/${action}`, ...form(`client-${action}`), async (req: Request<{ id: string }>, res: Response) => {
      const c = consoleOf(res);
      const here = `/console/clients/${encodeURIComponent(req.params.id)}`;
      try {
        const client =
          action === 'deactivate'
            ? await deactivateClient(deps, c.session.principal, req.params.id)
            : await reactivateClient(deps, c.session.principal, req.params.id);
        await redirectWithFlash(deps, res, c, here, {
          notice:
            action === 'deactivate'
              ? `${fullName(client.first_name, client.last_name)} is deactivated: signed out, pending invitations revoked, no access to any project.`
              : `${fullName(client.first_name, client.last_name)} is reactivated (now ${client.status}).${client.status === 'inactive' ? ' Invite them to a project to give them access again.' : ''}`,
        });
      } catch (err) {
        const r = refusal(err);
        await redirectWithFlash(deps, res, c, here, { alert: r.message });
      }
    });
  }

  return router;
}

interface InviteValues {
  project: string;
  message: string;
  send_email: boolean;
}

function directoryPage(
  c: ConsoleLocals,
  d: {
    query: DirectoryQuery;
    items: DirectoryClient[];
    nextCursor: string | null;
    count: number;
    projects: Array<{ id: string; name: string }>;
    flash: Flash | null;
    add?: { values: AddValues; errors: FieldError[]; alert?: string } | undefined;
  },
): View {
  const q = d.query;
  const base = { q: q.q, status: q.status };
  const v = d.add?.values;
  const errors = d.add?.errors;
  const addForm = canInvite(c.session)
    ? html`<details class="card" id="add-card"${d.add ? html` open` : ''}><summary><h2 class="inline-h">Add a client</h2> <span class="muted">with or without an invitation</span></summary>
${d.add?.alert ? html`<div class="alert" role="alert">${d.add.alert}</div>` : ''}
<form method="post" action="/console/clients" class="wide" novalidate>${csrfInput(c.csrf('client-add'))}
<div class="grid2"><div><label for="add-first">First name</label><input type="text" id="add-first" name="first_name" value="${v?.first_name ?? ''}" maxlength="200" required${describedBy(errors, 'first_name')}>${fieldError(errors, 'first_name', 'First name')}</div>
<div><label for="add-last">Last name</label><input type="text" id="add-last" name="last_name" value="${v?.last_name ?? ''}" maxlength="200" required${describedBy(errors, 'last_name')}>${fieldError(errors, 'last_name', 'Last name')}</div></div>
<label for="add-email">Email</label><input type="email" id="add-email" name="email" value="${v?.email ?? ''}" maxlength="320" required${describedBy(errors, 'email')}>${fieldError(errors, 'email', 'Email')}
<label for="add-project">Invite to a project</label>
<select id="add-project" name="project"${describedBy(errors, 'project')}><option value="">Don't invite yet (the client stays Inactive)</option>${d.projects.map(
        (p) => html`<option value="${p.id}"${v?.project === p.id ? html` selected` : ''}>${p.name}</option>`,
      )}</select>${fieldError(errors, 'project', 'Project')}
<label class="inline"><input type="checkbox" name="send_email" value="1"${v && !v.send_email ? '' : html` checked`}> Send the invitation email now (when inviting)</label>
<div class="actions"><button type="submit" id="add-client">Add client</button></div></form></details>`
    : '';

  const rows = d.items.map(
    (cl) => html`<tr data-id="${cl.id}">
<td data-label="Client"><a href="/console/clients/${cl.id}"><strong>${fullName(cl.first_name, cl.last_name)}</strong></a><span class="sub">${cl.email}</span></td>
<td data-label="Status">${badge(cl.status)}</td>
<td class="num" data-label="Projects">${cl.projects}</td>
<td class="num" data-label="Pending invitations">${cl.pending ? html`<a href="/console?q=${cl.email}">${cl.pending}</a>` : '0'}</td>
<td data-label="Added">${formatWhen(cl.created_at)}</td>
</tr>`,
  );
  return consolePage(c, {
    section: 'clients',
    title: 'Clients',
    body: html`<div class="card"><div class="title-row"><h1>Clients</h1><span class="muted" id="client-count">${plural(d.count, 'client')}${d.count >= 100_000 ? '+' : ''}${q.q || q.status ? ' matching' : ''}</span></div>
<form class="filters" method="get" action="/console/clients" role="search">
<div><label for="client-q">Search</label><input type="search" id="client-q" name="q" value="${q.q ?? ''}" maxlength="200" placeholder="name or email, first letters"></div>
<div><label for="client-status">Status</label><select id="client-status" name="status"><option value="">All statuses</option>${STATUSES.map(
      (s) => html`<option value="${s}"${q.status === s ? html` selected` : ''}>${s[0]!.toUpperCase() + s.slice(1)}</option>`,
    )}</select></div>
<div><button type="submit" class="secondary">Search</button></div>${q.q || q.status ? html`<div><a href="/console/clients">Clear</a></div>` : ''}
</form></div>
${flashBlock(d.flash)}
${addForm}
<div class="card flush">${
      d.items.length === 0
        ? html`<p class="empty">No clients${q.q ? html` matching “${q.q}”` : ''}${q.status ? html` with status ${q.status}` : ''}.</p>`
        : html`<table class="stack"><thead><tr><th>Client</th><th>Status</th><th class="num">Projects</th><th class="num">Pending</th><th>Added</th></tr></thead><tbody>${rows}</tbody></table>`
    }${
      d.nextCursor || q.cursor
        ? html`<div class="pager">${q.cursor ? html`<a href="/console/clients${queryString(base)}">« First page</a>` : ''}${
            d.nextCursor ? html`<a href="/console/clients${queryString({ ...base, cursor: d.nextCursor })}" rel="next">Next page »</a>` : ''
          }</div>`
        : ''
    }</div>`,
  });
}

function clientView(
  c: ConsoleLocals,
  d: {
    client: ClientDetailJson;
    invitations: InvitationJson[];
    moreInvitations: boolean;
    projects: Array<{ id: string; name: string }>;
    flash: Flash | null;
    invite?: { values: InviteValues; errors: FieldError[]; alert?: string } | undefined;
  },
): View {
  const cl = d.client;
  const inviter = canInvite(c.session);
  const name = fullName(cl.first_name, cl.last_name);
  const errors = d.invite?.errors;
  const member = cl.projects.filter((p) => p.membership === 'member').length;
  const taskCount = cl.projects.reduce((n, p) => n + p.tasks.length, 0);
  const projects =
    cl.projects.length === 0
      ? html`<p class="empty">In no project yet.</p>`
      : html`<table class="stack"><thead><tr><th>Project</th><th>In it as</th><th>Tasks assigned</th></tr></thead><tbody>${cl.projects.map(
          (
            p,
          ) => html`<tr><td data-label="Project"><a href="/console/projects/${p.id}">${p.name}</a>${p.archived ? html` <span class="badge archived">archived</span>` : ''}</td>
<td data-label="In it as">${badge(p.membership === 'member' ? 'active' : p.membership === 'invited' ? 'invited' : 'inactive')} <span class="sub">${p.membership === 'member' ? 'member' : p.membership === 'invited' ? 'pending invitation' : 'tasks only'}</span></td>
<td data-label="Tasks assigned">${p.tasks.length ? html`<ul class="assignees">${p.tasks.map((t) => html`<li>${t.title}</li>`)}</ul>` : html`<span class="sub">none</span>`}</td></tr>`,
        )}</tbody></table>`;
  const invitations =
    d.invitations.length === 0
      ? html`<p class="empty">No invitations.</p>`
      : html`<table class="stack">${invitationHead({ selectable: false, showProject: true, actions: false })}<tbody>${invitationRows(d.invitations, { selectable: false, showProject: true })}</tbody></table>`;
  const inviteForm =
    inviter && cl.status !== 'deactivated'
      ? html`<div class="card"><h2>Invite to a project</h2>
${d.invite?.alert ? html`<div class="alert" role="alert">${d.invite.alert}</div>` : ''}
<form method="post" action="/console/clients/${cl.id}/invite" class="wide" novalidate>${csrfInput(c.csrf('client-invite'))}
<label for="client-invite-project">Project</label>
<select id="client-invite-project" name="project" required${describedBy(errors, 'project')}><option value="">Choose a project…</option>${d.projects.map(
          (p) => html`<option value="${p.id}"${d.invite?.values.project === p.id ? html` selected` : ''}>${p.name}</option>`,
        )}</select>${fieldError(errors, 'project', 'Project')}
<label for="client-invite-message">Personal message <span class="muted">(optional)</span></label>
<textarea id="client-invite-message" name="message" maxlength="2000">${d.invite?.values.message ?? ''}</textarea>${fieldError(errors, 'message', 'Message')}
<label class="inline"><input type="checkbox" name="send_email" value="1"${d.invite && !d.invite.values.send_email ? '' : html` checked`}> Send the invitation email now</label>
<div class="actions"><button type="submit">${cl.status === 'active' ? 'Add to the project' : 'Invite'}</button><span class="muted">${
          cl.status === 'active' ? 'An active client joins at once, without an email.' : 'They get an invitation link to accept.'
        }</span></div></form></div>`
      : '';
  const lifecycle = inviter
    ? cl.status === 'deactivated'
      ? html`<a class="button secondary small" href="/console/clients/${cl.id}/reactivate" id="reactivate-link">Reactivate…</a>`
      : html`<a class="button secondary small danger-text" href="/console/clients/${cl.id}/deactivate" id="deactivate-link">Deactivate…</a>`
    : '';
  return consolePage(c, {
    section: 'clients',
    title: name,
    body: html`<div class="card"><div class="title-row"><h1>${name}</h1>${badge(cl.status)}<span class="right">${lifecycle}</span></div>
<p class="muted">${cl.email} · added ${formatWhen(cl.created_at)}</p>
<div class="stats"><div><strong>${member}</strong>projects</div><div><strong>${cl.projects.length - member}</strong>invited to / tasks only</div><div><strong>${taskCount}</strong>tasks</div></div></div>
${flashBlock(d.flash)}
${inviteForm}
<div class="card flush"><div class="card-head"><h2>Projects and tasks</h2></div>${projects}</div>
<div class="card flush"><div class="card-head"><h2>Invitations</h2></div>${invitations}${
      d.moreInvitations ? html`<div class="pager"><a href="/console?status=all&amp;email=${cl.email}">All invitations of this client »</a></div>` : ''
    }</div>`,
  });
}

function confirmView(c: ConsoleLocals, cl: ClientDetailJson, action: 'deactivate' | 'reactivate'): View {
  const name = fullName(cl.first_name, cl.last_name);
  const member = cl.projects.filter((p) => p.membership === 'member').length;
  const pending = cl.projects.filter((p) => p.membership === 'invited').length;
  const body =
    action === 'deactivate'
      ? html`<h1>Deactivate ${name}?</h1>
<p>${cl.email} loses access at once:</p>
<ul><li>signed out of the portal everywhere, and cannot sign in;</li>
<li>${plural(pending, 'pending invitation')} revoked (the links show “no longer valid”, queued emails are cancelled);</li>
<li>their ${plural(member, 'project membership', 'project memberships')} and task assignments are kept but suspended;</li>
<li>nobody can invite or add them again until they are reactivated.</li></ul>
<p class="muted">Reactivating later restores the kept memberships (if they had accepted before); revoked invitations are not restored.</p>`
      : html`<h1>Reactivate ${name}?</h1>
<p>${cl.email} can be invited and added to projects again. ${
          cl.projects.some((p) => p.membership === 'member')
            ? 'If they had accepted an invitation before, they are active again in the projects they kept and can sign in.'
            : 'They never accepted an invitation, so they return to Inactive: invite them to a project to give them access.'
        }</p>
<p class="muted">Invitations revoked at deactivation stay revoked.</p>`;
  return consolePage(c, {
    section: 'clients',
    title: `${action === 'deactivate' ? 'Deactivate' : 'Reactivate'} ${name}`,
    body: html`<div class="card danger-zone">${body}
${
  canInvite(c.session)
    ? html`<form method="post" action="/console/clients/${cl.id}/${action}">${csrfInput(c.csrf(`client-${action}`))}
<div class="actions"><button type="submit" class="${action === 'deactivate' ? 'danger' : ''}" id="confirm-button">${action === 'deactivate' ? 'Deactivate' : 'Reactivate'} ${name}</button><a href="/console/clients/${cl.id}">Cancel</a></div></form>`
    : html`<p class="muted">Only owners and admins can do this.</p>`
}</div>`,
  });
}
