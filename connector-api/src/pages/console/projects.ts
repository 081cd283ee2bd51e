import express, { type Request, type Response, type Router } from 'express';
import {
  AppError,
  getClientName,
  getConsoleProject,
  html,
  inviteClient,
  suggestEmailCorrection,
  listConsoleMembers,
  listConsoleProjects,
  listInvitationsJson,
  type ConsoleMember,
  type ConsoleProject,
  type Deps,
  type FieldError,
  type InvitationJson,
  type SafeHtml,
} from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
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
import type { ConsoleForm } from './index.js';

const optionalText = (v: unknown) => {
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
};

const doneNotices: Record<string, (who: string) => string> = {
  invited: (who) => `Invited ${who}. The invitation is pending until they accept.`,
  already_invited: (who) => `${who} already has a pending invitation to this project; nothing new was sent.`,
  added: (who) => `${who} is already an active client and was added to this project without an email.`,
  already_member: (who) => `${who} is already a member of this project.`,
};

/** The project list and a project page with its members, invitations and invite form. */
export function projectsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();
  const inviteForm = form('invite');

  router.get('/console/projects', async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const cursor = optionalText(req.query.cursor);
    const page = await listConsoleProjects(deps.pool, c.session.principal.agencyId, { limit: 50, cursor: cursor?.slice(0, 200) });
    sendConsolePage(res, projectsPage(c, { items: page.data, nextCursor: page.next_cursor, cursor }));
  });

  async function renderProject(
    res: Response,
    projectId: string,
    extra: { status?: number; values?: InviteFormValues; errors?: FieldError[]; alert?: string; notice?: string } = {},
  ): Promise<void> {
    const c = consoleOf(res);
    const agencyId = c.session.principal.agencyId;
    const project = await getConsoleProject(deps.pool, agencyId, projectId);
    if (!project) return sendConsolePage(res, consoleNotFoundPage(c), 404);
    const [members, invitations] = await Promise.all([
      listConsoleMembers(deps.pool, agencyId, project.id),
      listInvitationsJson(deps.pool, agencyId, { projectId: project.id }, { limit: 25 }),
    ]);
    const { status, ...view } = extra;
    sendConsolePage(res, projectPage(c, { project, members, invitations: invitations.data, moreInvitations: invitations.next_cursor !== null, ...view }), status ?? 200);
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
    await renderProject(res, req.params.id, notice ? { notice } : {});
  });

  router.post('/console/projects/:id/invite', inviteForm, async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const values: InviteFormValues = {
      email: text('email'),
      first_name: text('first_name'),
      last_name: text('last_name'),
      message: text('message'),
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
      see(res, `/console/projects/${encodeURIComponent(req.params.id)}?done=${out.body.result}&client=${out.body.client.id}`);
    } catch (err) {
      if (!(err instanceof AppError) || err.code === 'not_found' || err.code === 'internal') throw err;
      const fieldErrors = err.errors;
      await renderProject(res, req.params.id, {
        status: statusByCode[err.code],
        values,
        errors: fieldErrors,
        ...(fieldErrors.length && err.code === 'validation_failed' ? {} : { alert: err.detail ?? err.title }),
      });
    }
  });

  return router;
}


function projectsPage(c: ConsoleLocals, d: { items: ConsoleProject[]; nextCursor: string | null; cursor?: string | undefined }): View {
  const rows = d.items.map(
    (p) => html`<tr>
<td><a href="/console/projects/${p.id}"><strong>${p.name}</strong></a>${p.archived ? html` <span class="badge revoked">archived</span>` : ''}${p.externalId ? html`<span class="sub">external id ${p.externalId}</span>` : ''}</td>
<td class="num">${p.members}</td>
<td class="num">${p.pending ? html`<a href="/console?project=${p.id}">${p.pending}</a>` : '0'}</td>
<td>${formatWhen(p.createdAt)}</td>
<td><a href="/console?project=${p.id}&amp;status=all">All invitations</a></td>
</tr>`,
  );
  return consolePage(c, {
    section: 'projects',
    title: 'Projects',
    body: html`<div class="card"><h1>Projects</h1><p class="muted">Every workspace of ${c.session.agency.displayName}, newest first. Open one to see its members and invite a client.</p></div>
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
  });
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
  values?: InviteFormValues;
  errors?: FieldError[];
  alert?: string | undefined;
  notice?: string | undefined;
}

function projectPage(c: ConsoleLocals, d: ProjectPageData): View {
  const p = d.project;
  const v = d.values ?? { send_email: true };
  const errors = d.errors ?? [];
  const unplaced = errors.filter((e) => !(e.field in fieldLabels));
  const inviter = canInvite(c.session);
  const inviteForm = !inviter
    ? html`<p class="muted">Only owners and admins can invite clients.</p>`
    : p.archived
      ? html`<p class="muted">This project is archived; unarchive it to invite clients.</p>`
      : html`<form method="post" action="/console/projects/${p.id}/invite" class="invite" novalidate>
${csrfInput(c.csrf('invite'))}
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

  return consolePage(c, {
    section: 'projects',
    title: p.name,
    body: html`<div class="card"><div class="title-row"><h1>${p.name}</h1>${p.archived ? html`<span class="badge revoked">archived</span>` : ''}
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
  });
}
