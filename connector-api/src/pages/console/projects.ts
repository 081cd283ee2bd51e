import express, { type Request, type Response, type Router } from 'express';
import {
  addClientToProject,
  AppError,
  assignClientToTask,
  bulkAssignClients,
  createProject,
  getClientName,
  getConsoleProject,
  html,
  inviteClient,
  listClientDirectory,
  suggestEmailCorrection,
  listConsoleMembers,
  listConsoleProjects,
  listInvitationsJson,
  listTasksJson,
  listTemplatesJson,
  notFound,
  removeClientFromProject,
  unassignClientFromTask,
  updateProject,
  type ConsoleMember,
  type ConsoleProject,
  type Deps,
  type DirectoryClient,
  type FieldError,
  type InvitationJson,
  type TaskJson,
} from '@onramp/core';
import { see } from '../cookies.js';
import {
  badge,
  canInvite,
  consoleNotFoundPage,
  consoleOf,
  consolePage,
  csrfInput,
  formatWhen,
  fullName,
  invitationHead,
  invitationRows,
  sendConsolePage,
  type ConsoleLocals,
  type View,
} from './layout.js';
import { describedBy, field, fieldError, flashBlock, flashOf, many, optionalText, plural, redirectWithFlash, refusal, UUID, type Flash } from './kit.js';
import type { ConsoleForm } from './index.js';

const doneNotices: Record<string, (who: string) => string> = {
  invited: (who) => `Invited ${who}. The invitation is pending until they accept.`,
  already_invited: (who) => `${who} already has a pending invitation to this project; nothing new was sent.`,
  added: (who) => `${who} is already an active client and was added to this project without an email.`,
  already_member: (who) => `${who} is already a member of this project.`,
};

interface CreateValues {
  name: string;
  external_id: string;
  template_id: string;
}

/**
 * Projects: the list with a create form, and a project's page: rename and archive, members with their
 * status (remove from the workspace, confirmed first), pending invitations, tasks with their assignees,
 * invite, assign and unassign, bulk-assign, and adding an active client from another workspace without an
 * email. Every change is the API's use case, then a redirect to the page saying what happened.
 */
export function projectsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();
  const projectPath = (id: string) => `/console/projects/${encodeURIComponent(id)}`;

  async function listPage(
    req: Request,
    res: Response,
    extra: { create?: { values: CreateValues; errors: FieldError[]; alert?: string }; status?: number } = {},
  ) {
    const c = consoleOf(res);
    const cursor = optionalText(req.query.cursor)?.slice(0, 200);
    const [page, templates, flash] = await Promise.all([
      listConsoleProjects(deps.pool, c.session.principal.agencyId, { limit: 50, cursor }),
      listTemplatesJson(deps.pool, c.session.principal.agencyId, { limit: 100 }),
      flashOf(deps, req, c),
    ]);
    sendConsolePage(
      res,
      projectsPage(c, {
        items: page.data,
        nextCursor: page.next_cursor,
        cursor,
        templates: templates.data.map((t) => ({ id: t.id, name: t.name })),
        flash,
        create: extra.create,
      }),
      extra.status ?? 200,
    );
  }

  router.get('/console/projects', (req: Request, res: Response) => listPage(req, res));

  router.post('/console/projects', ...form('project-create'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const values: CreateValues = { name: field(req.body, 'name'), external_id: field(req.body, 'external_id'), template_id: field(req.body, 'template_id') };
    try {
      const p = await createProject(deps, c.session.principal, {
        name: values.name,
        external_id: values.external_id.trim() === '' ? null : values.external_id,
        template_id: values.template_id === '' ? null : values.template_id,
      });
      await redirectWithFlash(deps, res, c, projectPath(p.id), {
        notice: p.created
          ? `Created ${p.name}${p.tasks.length ? ` with ${plural(p.tasks.length, 'task')} from its template` : ''}.`
          : `A project with external id ${p.external_id} already exists: this is it. Nothing was changed.`,
      });
    } catch (err) {
      const r = refusal(err);
      await listPage(req, res, { status: r.status, create: { values, errors: r.errors, ...(r.errors.length ? {} : { alert: r.message }) } });
    }
  });

  async function renderProject(req: Request<{ id: string }>, res: Response, extra: ProjectExtra & { status?: number } = {}): Promise<void> {
    const c = consoleOf(res);
    const agencyId = c.session.principal.agencyId;
    const project = await getConsoleProject(deps.pool, agencyId, req.params.id);
    if (!project) return sendConsolePage(res, consoleNotFoundPage(c), 404);
    const addQ = optionalText(req.query.add_q)?.slice(0, 200);
    const [members, pending, invitations, tasks, actives, flash] = await Promise.all([
      listConsoleMembers(deps.pool, agencyId, project.id),
      listInvitationsJson(deps.pool, agencyId, { projectId: project.id, status: 'pending' }, { limit: 200 }),
      listInvitationsJson(deps.pool, agencyId, { projectId: project.id }, { limit: 25 }),
      listTasksJson(deps.pool, agencyId, project.id),
      canInvite(c.session)
        ? listClientDirectory(deps.pool, agencyId, { status: 'active', q: addQ }, { limit: 20 })
        : Promise.resolve({ data: [], next_cursor: null }),
      flashOf(deps, req, c),
    ]);
    const memberIds = new Set(members.map((m) => m.clientId));
    const { status, ...view } = extra;
    sendConsolePage(
      res,
      projectPage(c, {
        project,
        members,
        pending: pending.data,
        invitations: invitations.data,
        moreInvitations: invitations.next_cursor !== null,
        tasks,
        actives: actives.data.filter((a) => !memberIds.has(a.id)),
        addQ,
        flash,
        ...view,
      }),
      status ?? 200,
    );
  }

  router.get('/console/projects/:id', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const done = optionalText(req.query.done);
    const clientId = optionalText(req.query.client);
    let notice: string | undefined;
    if (done && doneNotices[done] && clientId) {
      const found = await getClientName(deps.pool, c.session.principal.agencyId, clientId);
      if (found) notice = doneNotices[done](`${found.firstName} ${found.lastName} (${found.email})`);
      // Issue 16: a likely typo of a common mail domain is pointed out, never refused.
      const typo = found ? suggestEmailCorrection(found.email) : null;
      if (notice && typo) notice += ` Check the address: did you mean ${typo}?`;
    }
    await renderProject(req, res, notice ? { notice } : {});
  });

  router.post('/console/projects/:id/invite', ...form('invite'), async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const body = req.body as Record<string, unknown>;
    const values: InviteFormValues = {
      email: field(body, 'email'),
      first_name: field(body, 'first_name'),
      last_name: field(body, 'last_name'),
      message: field(body, 'message'),
      send_email: body.send_email !== undefined,
    };
    try {
      const out = await inviteClient(deps, c.session.principal, req.params.id, {
        email: values.email!,
        first_name: values.first_name!,
        last_name: values.last_name!,
        message: values.message!.trim() === '' ? null : values.message!.replace(/\r\n/g, '\n'),
        send_email: values.send_email!,
      });
      see(res, `${projectPath(req.params.id)}?done=${out.body.result}&client=${out.body.client.id}`);
    } catch (err) {
      const r = refusal(err);
      await renderProject(req, res, {
        status: r.status,
        values,
        errors: r.errors,
        ...(r.errors.length && err instanceof AppError && err.code === 'validation_failed' ? {} : { alert: r.message }),
      });
    }
  });

  /** A change whose outcome is one line: run it, then back to the project page saying so (or why not). */
  function simple(path: string, kind: string, run: (req: Request<{ id: string }>, c: ConsoleLocals) => Promise<Flash>) {
    router.post(path, ...form(kind), async (req: Request<{ id: string }>, res: Response) => {
      const c = consoleOf(res);
      let flash: Flash;
      try {
        flash = await run(req, c);
      } catch (err) {
        flash = { alert: refusal(err).message };
      }
      await redirectWithFlash(deps, res, c, projectPath(req.params.id), flash);
    });
  }

  simple('/console/projects/:id/rename', 'project-edit', async (req, c) => {
    const p = await updateProject(deps, c.session.principal, req.params.id, { name: field(req.body, 'name') });
    return { notice: `Renamed to ${p.name}.` };
  });

  simple('/console/projects/:id/archive', 'project-edit', async (req, c) => {
    const archived = field(req.body, 'archived') === 'true';
    const p = await updateProject(deps, c.session.principal, req.params.id, { archived });
    return { notice: archived ? `${p.name} is archived: hidden from the API's lists, no new invitations or assignments.` : `${p.name} is active again.` };
  });

  simple('/console/projects/:id/assign', 'assign', async (req, c) => {
    const body = req.body as Record<string, unknown>;
    const first = field(body, 'first_name').trim();
    const last = field(body, 'last_name').trim();
    const out = await assignClientToTask(deps, c.session.principal, req.params.id, field(body, 'task_id'), {
      email: field(body, 'email'),
      ...(first ? { first_name: first } : {}),
      ...(last ? { last_name: last } : {}),
      send_email: body.send_email !== undefined,
    });
    const who = `${fullName(out.body.client.first_name, out.body.client.last_name)} (${out.body.client.email})`;
    const invited =
      out.body.invite_result === 'invited'
        ? ' They were not in the project, so they were invited.'
        : out.body.invite_result === 'added'
          ? ' They were added to the project (active client, no email).'
          : '';
    return { notice: out.body.result === 'assigned' ? `Assigned ${who}.${invited}` : `${who} was already assigned to that task.` };
  });

  simple('/console/projects/:id/unassign', 'assign', async (req, c) => {
    await unassignClientFromTask(deps, c.session.principal, req.params.id, field(req.body, 'task_id'), field(req.body, 'client_id'));
    return { notice: 'Unassigned. The client stays in the project.' };
  });

  simple('/console/projects/:id/assign-bulk', 'assign', async (req, c) => {
    const out = await bulkAssignClients(deps, c.session.principal, req.params.id, {
      clientIds: many(req.body, 'client_ids', 1000),
      taskIds: many(req.body, 'task_ids', 200),
      sendEmails: (req.body as Record<string, unknown>).send_email !== undefined,
    });
    const ok = out.results.filter((r) => r.ok);
    const fresh = ok.filter((r) => r.result === 'assigned').length;
    const failures = [
      ...out.results.filter((r) => !r.ok).map((r) => `${r.email}: ${r.error!.message}`),
      ...out.unknownClientIds.map((id) => `${id}: not a client of this agency`),
    ];
    const summary = `${plural(fresh, 'assignment')} made, ${ok.length - fresh} already there`;
    return failures.length
      ? ok.length
        ? { notice: `Partly done: ${summary}.`, partial: true, details: failures }
        : { alert: `Nothing assigned.`, details: failures }
      : { notice: `${summary}.` };
  });

  simple('/console/projects/:id/members', 'member-add', async (req, c) => {
    const out = await addClientToProject(deps, c.session.principal, req.params.id, field(req.body, 'client_id'));
    const who = `${fullName(out.client.first_name, out.client.last_name)} (${out.client.email})`;
    return { notice: out.result === 'added' ? `Added ${who} to this project, without an email.` : `${who} is already a member.` };
  });

  router.get('/console/projects/:id/remove/:clientId', async (req: Request<{ id: string; clientId: string }>, res: Response) => {
    const c = consoleOf(res);
    const project = await getConsoleProject(deps.pool, c.session.principal.agencyId, req.params.id);
    const who = UUID.test(req.params.clientId) ? await getClientName(deps.pool, c.session.principal.agencyId, req.params.clientId) : null;
    if (!project || !who) throw notFound('Membership');
    const name = `${who.firstName} ${who.lastName}`;
    sendConsolePage(
      res,
      consolePage(c, {
        section: 'projects',
        title: `Remove ${name}`,
        body: html`<div class="card danger-zone"><h1>Remove ${name} from ${project.name}?</h1>
<p>${who.email} leaves this workspace at once: the membership, their task assignments here and any pending invitation to it go. Their other projects are untouched; a client left in no project can no longer open the portal.</p>
${
  canInvite(c.session)
    ? html`<form method="post" action="/console/projects/${project.id}/remove/${req.params.clientId}">${csrfInput(c.csrf('member-remove'))}
<div class="actions"><button type="submit" class="danger" id="confirm-button">Remove from workspace</button><a href="/console/projects/${project.id}">Cancel</a></div></form>`
    : html`<p class="muted">Only owners and admins can do this.</p>`
}</div>`,
      }),
    );
  });

  router.post('/console/projects/:id/remove/:clientId', ...form('member-remove'), async (req: Request<{ id: string; clientId: string }>, res: Response) => {
    const c = consoleOf(res);
    let flash: Flash;
    try {
      const who = UUID.test(req.params.clientId) ? await getClientName(deps.pool, c.session.principal.agencyId, req.params.clientId) : null;
      await removeClientFromProject(deps, c.session.principal, req.params.id, req.params.clientId);
      flash = { notice: `Removed ${who ? `${who.firstName} ${who.lastName} (${who.email})` : 'the client'} from this workspace.` };
    } catch (err) {
      flash = { alert: refusal(err).message };
    }
    await redirectWithFlash(deps, res, c, projectPath(req.params.id), flash);
  });

  return router;
}

function projectsPage(
  c: ConsoleLocals,
  d: {
    items: ConsoleProject[];
    nextCursor: string | null;
    cursor?: string | undefined;
    templates: Array<{ id: string; name: string }>;
    flash: Flash | null;
    create?: { values: CreateValues; errors: FieldError[]; alert?: string } | undefined;
  },
): View {
  const v = d.create?.values;
  const errors = d.create?.errors;
  const rows = d.items.map(
    (p) => html`<tr data-id="${p.id}">
<td data-label="Project"><a href="/console/projects/${p.id}"><strong>${p.name}</strong></a>${p.archived ? html` <span class="badge archived">archived</span>` : ''}${p.externalId ? html`<span class="sub">external id ${p.externalId}</span>` : ''}</td>
<td class="num" data-label="Members">${p.members}</td>
<td class="num" data-label="Pending">${p.pending ? html`<a href="/console?project=${p.id}">${p.pending}</a>` : '0'}</td>
<td data-label="Created">${formatWhen(p.createdAt)}</td>
<td><a href="/console?project=${p.id}&amp;status=all">All invitations</a></td>
</tr>`,
  );
  const createForm = canInvite(c.session)
    ? html`<details class="card" id="create-card"${d.create ? html` open` : ''}><summary><h2 class="inline-h">Create a project</h2></summary>
${d.create?.alert ? html`<div class="alert" role="alert">${d.create.alert}</div>` : ''}
<form method="post" action="/console/projects" class="wide" novalidate>${csrfInput(c.csrf('project-create'))}
<label for="project-name">Name</label><input type="text" id="project-name" name="name" value="${v?.name ?? ''}" maxlength="200" required${describedBy(errors, 'name')}>${fieldError(errors, 'name', 'Name')}
<div class="grid2"><div><label for="project-external">External id <span class="muted">(optional: your CRM's id)</span></label><input type="text" id="project-external" name="external_id" value="${v?.external_id ?? ''}" maxlength="200"${describedBy(errors, 'external_id')}>${fieldError(errors, 'external_id', 'External id')}</div>
<div><label for="project-template">Template</label><select id="project-template" name="template_id"${describedBy(errors, 'template_id')}><option value="">No template (no tasks)</option>${d.templates.map(
        (t) =>
          html`<option value="${t.id}"${v ? (v.template_id === t.id ? html` selected` : '') : t.name === 'Client onboarding' ? html` selected` : ''}>${t.name}</option>`,
      )}</select>${fieldError(errors, 'template_id', 'Template')}</div></div>
<div class="actions"><button type="submit" id="create-project">Create project</button><span class="muted">The template's tasks are copied into the project.</span></div></form></details>`
    : '';
  return consolePage(c, {
    section: 'projects',
    title: 'Projects',
    body: html`<div class="card"><h1>Projects</h1><p class="muted">Every workspace of ${c.session.agency.displayName}, newest first. Open one to see its members and tasks and to invite clients.</p></div>
${flashBlock(d.flash)}
${createForm}
<div class="card flush">${
      d.items.length === 0
        ? html`<p class="empty">No projects yet.</p>`
        : html`<table class="stack"><thead><tr><th>Project</th><th class="num">Members</th><th class="num">Pending</th><th>Created</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    }${
      d.nextCursor || d.cursor
        ? html`<div class="pager">${d.cursor ? html`<a href="/console/projects">« First page</a>` : ''}${
            d.nextCursor ? html`<a href="/console/projects?cursor=${d.nextCursor}" rel="next">Next page »</a>` : ''
          }</div>`
        : ''
    }</div>`,
  });
}

interface InviteFormValues {
  email?: string;
  first_name?: string;
  last_name?: string;
  message?: string;
  send_email?: boolean;
}

interface ProjectExtra {
  values?: InviteFormValues;
  errors?: FieldError[];
  alert?: string | undefined;
  notice?: string | undefined;
}

interface ProjectPageData extends ProjectExtra {
  project: ConsoleProject;
  members: ConsoleMember[];
  pending: InvitationJson[];
  invitations: InvitationJson[];
  moreInvitations: boolean;
  tasks: TaskJson[];
  actives: DirectoryClient[];
  addQ?: string | undefined;
  flash: Flash | null;
}

function projectPage(c: ConsoleLocals, d: ProjectPageData): View {
  const p = d.project;
  const v = d.values ?? { send_email: true };
  const errors = d.errors ?? [];
  const inviter = canInvite(c.session);
  const writable = inviter && !p.archived;
  const inviteForm = !inviter
    ? html`<p class="muted">Only owners and admins can invite clients.</p>`
    : p.archived
      ? html`<p class="muted">This project is archived; unarchive it to invite clients.</p>`
      : html`<form method="post" action="/console/projects/${p.id}/invite" class="invite" novalidate>
${csrfInput(c.csrf('invite'))}
<div class="row"><div><label for="first_name">First name</label><input type="text" id="first_name" name="first_name" value="${v.first_name ?? ''}" maxlength="200" required${describedBy(errors, 'first_name')}>${fieldError(errors, 'first_name', 'First name')}</div>
<div><label for="last_name">Last name</label><input type="text" id="last_name" name="last_name" value="${v.last_name ?? ''}" maxlength="200" required${describedBy(errors, 'last_name')}>${fieldError(errors, 'last_name', 'Last name')}</div></div>
<label for="invite-email">Email</label><input type="email" id="invite-email" name="email" value="${v.email ?? ''}" maxlength="320" required${describedBy(errors, 'email')}>${fieldError(errors, 'email', 'Email')}
<label for="message">Personal message <span class="muted">(optional, shown in the email and on the invitation page)</span></label>
<textarea id="message" name="message" maxlength="2000">${v.message ?? ''}</textarea>${fieldError(errors, 'message', 'Message')}
<label class="inline"><input type="checkbox" name="send_email" value="1"${v.send_email === false ? '' : html` checked`}> Send the invitation email now</label>
<div class="actions"><button type="submit">Invite client</button><span class="muted">An active client is added at once, without an email.</span></div>
</form>`;

  // Everyone in the project (members, then pending invitees), for the bulk-assign checklist.
  const people = [
    ...d.members.map((m) => ({ id: m.clientId, name: fullName(m.firstName, m.lastName), email: m.email, note: 'member' })),
    ...d.pending
      .filter((i) => !d.members.some((m) => m.clientId === i.client.id))
      .map((i) => ({ id: i.client.id, name: fullName(i.client.first_name, i.client.last_name), email: i.email, note: 'invited' })),
  ];

  const members =
    d.members.length === 0
      ? html`<p class="empty">No members yet. Invited clients join when they accept.</p>`
      : html`<table class="stack"><thead><tr><th>Client</th><th>Status</th><th>Joined</th>${inviter ? html`<th></th>` : ''}</tr></thead><tbody>${d.members.map(
          (m) =>
            html`<tr data-client="${m.clientId}"><td data-label="Client"><a href="/console/clients/${m.clientId}"><strong>${fullName(m.firstName, m.lastName)}</strong></a><span class="sub">${m.email}</span></td><td data-label="Status">${badge(m.status)}</td><td data-label="Joined">${formatWhen(m.joinedAt)}</td>${
              inviter
                ? html`<td><a class="button secondary small danger-text" href="/console/projects/${p.id}/remove/${m.clientId}">Remove from workspace…</a></td>`
                : ''
            }</tr>`,
        )}</tbody></table>`;

  const pendingTable =
    d.pending.length === 0
      ? html`<p class="empty">No pending invitations.</p>`
      : html`<table class="stack">${invitationHead({ selectable: false, showProject: false, actions: false })}<tbody>${invitationRows(d.pending, { selectable: false, showProject: false })}</tbody></table>`;

  const unassign = (t: TaskJson, clientId: string, who: string) =>
    inviter
      ? html`<form method="post" action="/console/projects/${p.id}/unassign" class="inline-form">${csrfInput(c.csrf('assign'))}<input type="hidden" name="task_id" value="${t.id}"><input type="hidden" name="client_id" value="${clientId}"><button type="submit" class="link" aria-label="Unassign ${who} from ${t.title}">Unassign</button></form>`
      : '';
  const tasks =
    d.tasks.length === 0
      ? html`<p class="empty">No tasks. A project gets its tasks from its template, or through the API.</p>`
      : html`<table class="stack"><thead><tr><th>Task</th><th>Assignees</th></tr></thead><tbody>${d.tasks.map(
          (
            t,
          ) => html`<tr data-task="${t.id}"><td data-label="Task"><strong>${t.title}</strong>${t.due_date ? html`<span class="sub">due ${t.due_date}</span>` : ''}</td>
<td data-label="Assignees">${
            t.assignees.length
              ? html`<ul class="assignees">${t.assignees.map((a) => html`<li><span>${fullName(a.first_name, a.last_name)} <span class="sub">${a.email}</span></span>${unassign(t, a.client_id, a.email)}</li>`)}</ul>`
              : html`<span class="sub">nobody</span>`
          }</td></tr>`,
        )}</tbody></table>`;

  const assignForms =
    writable && d.tasks.length
      ? html`<div class="card"><h2>Assign a client to a task</h2>
<form method="post" action="/console/projects/${p.id}/assign" class="wide" novalidate id="assign-form">${csrfInput(c.csrf('assign'))}
<div class="grid2"><div><label for="assign-task">Task</label><select id="assign-task" name="task_id" required>${d.tasks.map((t) => html`<option value="${t.id}">${t.title}</option>`)}</select></div>
<div><label for="assign-email">Client email</label><input type="email" id="assign-email" name="email" maxlength="320" required list="project-people"></div></div>
<datalist id="project-people">${people.map((x) => html`<option value="${x.email}">${x.name}</option>`)}</datalist>
<div class="grid2"><div><label for="assign-first">First name <span class="muted">(only for someone not yet in the project)</span></label><input type="text" id="assign-first" name="first_name" maxlength="200"></div>
<div><label for="assign-last">Last name</label><input type="text" id="assign-last" name="last_name" maxlength="200"></div></div>
<label class="inline"><input type="checkbox" name="send_email" value="1" checked> Email the invitation when they are not yet in the project</label>
<div class="actions"><button type="submit">Assign</button><span class="muted">Someone not yet in the project is invited to it first.</span></div></form>
${
  people.length
    ? html`<h2 class="spaced">Assign several clients to several tasks</h2>
<form method="post" action="/console/projects/${p.id}/assign-bulk" id="bulk-assign-form">${csrfInput(c.csrf('assign'))}
<div class="grid2"><fieldset><legend>Clients</legend><ul class="checklist">${people.map(
        (x) =>
          html`<li><label><input type="checkbox" name="client_ids" value="${x.id}"> <span>${x.name} <span class="sub">${x.email} · ${x.note}</span></span></label></li>`,
      )}</ul></fieldset>
<fieldset><legend>Tasks</legend><ul class="checklist">${d.tasks.map((t) => html`<li><label><input type="checkbox" name="task_ids" value="${t.id}"> <span>${t.title}</span></label></li>`)}</ul></fieldset></div>
<div class="actions"><button type="submit">Assign the chosen clients to the chosen tasks</button></div></form>`
    : ''
}</div>`
      : '';

  const addExisting = writable
    ? html`<div class="card"><h2>Add a client from another workspace</h2>
<p class="muted">An active client (one who has accepted an invitation before) joins this project at once, without an email.</p>
<form method="get" action="/console/projects/${p.id}" class="stack-form" role="search"><div><label for="add-q">Find an active client</label><input type="search" id="add-q" name="add_q" value="${d.addQ ?? ''}" maxlength="200" placeholder="name or email, first letters"></div><div><button type="submit" class="secondary">Find</button></div></form>
${
  d.actives.length
    ? html`<ul class="checklist" id="active-clients">${d.actives.map(
        (
          a,
        ) => html`<li><form method="post" action="/console/projects/${p.id}/members" class="stack-form">${csrfInput(c.csrf('member-add'))}<input type="hidden" name="client_id" value="${a.id}">
<span>${fullName(a.first_name, a.last_name)} <span class="sub">${a.email} · in ${plural(a.projects, 'project')}</span></span><button type="submit" class="secondary small" aria-label="Add ${a.email} to this project">Add</button></form></li>`,
      )}</ul>`
    : html`<p class="empty">${d.addQ ? html`No active client outside this project matches “${d.addQ}”.` : 'No active clients outside this project yet.'}</p>`
}</div>`
    : '';

  const edit = inviter
    ? html`<details class="edit"><summary>Rename or archive</summary>
<form method="post" action="/console/projects/${p.id}/rename" class="stack-form">${csrfInput(c.csrf('project-edit'))}<div><label for="rename">New name</label><input type="text" id="rename" name="name" value="${p.name}" maxlength="200" required></div><div><button type="submit" class="secondary">Rename</button></div></form>
<form method="post" action="/console/projects/${p.id}/archive" class="stack-form">${csrfInput(c.csrf('project-edit'))}<input type="hidden" name="archived" value="${p.archived ? 'false' : 'true'}">
<button type="submit" class="secondary small" id="archive-button">${p.archived ? 'Unarchive' : 'Archive'}</button><span class="muted">${
        p.archived ? 'Unarchived, it can take invitations again.' : 'Archived, it takes no new invitations or assignments; members keep their access.'
      }</span></form></details>`
    : '';

  return consolePage(c, {
    section: 'projects',
    title: p.name,
    body: html`<div class="card"><div class="title-row"><h1>${p.name}</h1>${p.archived ? html`<span class="badge archived">archived</span>` : ''}
<a class="right" href="/console?project=${p.id}&amp;status=all">All invitations of this project »</a></div>
${p.externalId ? html`<p class="muted">External id ${p.externalId}</p>` : ''}
<div class="stats"><div><strong>${p.members}</strong>members</div><div><strong>${p.pending}</strong>pending invitations</div><div><strong>${d.tasks.length}</strong>tasks</div><div><strong>${formatWhen(p.createdAt)}</strong>created</div></div>
${edit}</div>
${d.notice ? html`<div class="notice" role="status">${d.notice}</div>` : ''}
${d.alert ? html`<div class="alert" role="alert">${d.alert}</div>` : ''}
${flashBlock(d.flash)}
<div class="card flush"><div class="card-head"><h2>Members</h2></div>${members}</div>
<div class="card flush"><div class="card-head"><h2>Pending invitations</h2></div>${pendingTable}</div>
<div class="card flush"><div class="card-head"><h2>Tasks</h2></div>${tasks}</div>
${assignForms}
<div class="card"><h2>Invite a client</h2>${inviteForm}</div>
${addExisting}
<div class="card flush"><div class="card-head"><h2>Latest invitations</h2></div>${
      d.invitations.length === 0
        ? html`<p class="empty">No invitations yet.</p>`
        : html`<table class="stack">${invitationHead({ selectable: false, showProject: false, actions: false })}<tbody>${invitationRows(d.invitations, { selectable: false, showProject: false })}</tbody></table>`
    }${d.moreInvitations ? html`<div class="pager"><a href="/console?project=${p.id}&amp;status=all">See all on the dashboard »</a></div>` : ''}</div>`,
  });
}
