import express, { type Request, type Response, type Router } from 'express';
import {
  AppError,
  deactivateUser,
  getUser,
  html,
  inviteTeammate,
  listUsers,
  resendTeammateInvitation,
  updateUser,
  type ConsoleSession,
  type Deps,
  type FieldError,
  type UserJson,
} from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
import { see } from '../cookies.js';
import { alert, fieldError, formText, notice, otherErrors } from './forms.js';
import type { ConsoleForm } from './index.js';
import { badge, canInvite, consoleOf, consolePage, csrfInput, formatWhen, sendConsolePage, type ConsoleLocals, type View } from './layout.js';

const NOTICES: Record<string, string> = {
  invited: 'Invitation sent. The teammate chooses a name and password over the emailed link.',
  already: 'That address is already invited; nothing new was sent. Use "Send a new link" to send another.',
  role: 'Role changed. It applies from their next page or API call.',
  deactivated: 'Deactivated. Their console sessions have ended and their API keys no longer work.',
  resent: 'A new link was sent; the previous one no longer works.',
};

/** Can this signed-in user deactivate that teammate (the same rule the use case enforces)? */
const mayDeactivate = (s: ConsoleSession, u: UserJson) => canInvite(s) && u.status !== 'deactivated' && (u.role === 'member' || s.principal.role === 'owner');

/**
 * Team: the firm users of the agency, inviting a teammate, changing a role (owners), sending a new link,
 * and deactivating with a confirmation page. Members see the list only; every write is checked again by
 * the use case, so a hand-made POST gets the same 403 the API gives.
 */
export function teamConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  async function render(res: Response, extra: Omit<TeamData, 'users'> = {}, status = 200) {
    const c = consoleOf(res);
    sendConsolePage(res, teamPage(c, { users: await listUsers(deps, c.session.principal), ...extra }), status);
  }

  /** A refused write: field errors go next to the invite form, anything else above the list. */
  async function refused(res: Response, err: unknown, values?: InviteValues) {
    if (!(err instanceof AppError) || err.code === 'internal' || err.code === 'not_found') throw err;
    await render(
      res,
      {
        values,
        errors: err.code === 'validation_failed' || err.errors.length ? err.errors : [],
        alert: err.code === 'validation_failed' ? undefined : (err.detail ?? err.title),
      },
      statusByCode[err.code],
    );
  }

  router.get('/console/team', async (req: Request, res: Response) => {
    const done = typeof req.query.done === 'string' ? NOTICES[req.query.done] : undefined;
    await render(res, { notice: done });
  });

  router.post('/console/team/invite', form('team'), async (req: Request, res: Response) => {
    const values: InviteValues = {
      email: formText(req.body, 'email'),
      role: formText(req.body, 'role'),
      first_name: formText(req.body, 'first_name'),
      last_name: formText(req.body, 'last_name'),
    };
    try {
      const out = await inviteTeammate(deps, consoleOf(res).session.principal, {
        email: values.email,
        role: values.role,
        ...(values.first_name.trim() ? { first_name: values.first_name } : {}),
        ...(values.last_name.trim() ? { last_name: values.last_name } : {}),
      });
      see(res, `/console/team?done=${out.created ? 'invited' : 'already'}`);
    } catch (err) {
      await refused(res, err, values);
    }
  });

  router.post('/console/team/:id/role', form('team'), async (req: Request<{ id: string }>, res: Response) => {
    try {
      await updateUser(deps, consoleOf(res).session.principal, req.params.id, { role: formText(req.body, 'role') });
      see(res, '/console/team?done=role');
    } catch (err) {
      await refused(res, err);
    }
  });

  router.post('/console/team/:id/resend', form('team'), async (req: Request<{ id: string }>, res: Response) => {
    try {
      await resendTeammateInvitation(deps, consoleOf(res).session.principal, req.params.id);
      see(res, '/console/team?done=resent');
    } catch (err) {
      await refused(res, err);
    }
  });

  // Deactivation asks first, on a page of its own (no JavaScript needed); the POST does it.
  router.get('/console/team/:id/deactivate', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const user = await getUser(deps, c.session.principal, req.params.id);
    if (!mayDeactivate(c.session, user)) throw new AppError('forbidden', 'Forbidden', { detail: 'You cannot deactivate this teammate.' });
    sendConsolePage(res, confirmPage(c, user));
  });

  router.post('/console/team/:id/deactivate', form('team'), async (req: Request<{ id: string }>, res: Response) => {
    try {
      await deactivateUser(deps, consoleOf(res).session.principal, req.params.id);
      see(res, '/console/team?done=deactivated');
    } catch (err) {
      await refused(res, err);
    }
  });

  return router;
}

interface InviteValues {
  email: string;
  role: string;
  first_name: string;
  last_name: string;
}

interface TeamData {
  users: UserJson[];
  values?: InviteValues | undefined;
  errors?: FieldError[];
  notice?: string | undefined;
  alert?: string | undefined;
}

const displayName = (u: UserJson) => u.name ?? u.email;

function teamPage(c: ConsoleLocals, d: TeamData): View {
  const s = c.session;
  const writer = canInvite(s);
  const owner = s.principal.role === 'owner';
  const errors = d.errors ?? [];
  const v = d.values ?? { email: '', role: 'member', first_name: '', last_name: '' };
  const token = writer ? c.csrf('team') : '';
  const rows = d.users.map((u) => {
    const me = u.id === s.principal.userId;
    const inv = u.invitation;
    const roleCell =
      owner && !me && u.status !== 'deactivated'
        ? html`<form method="post" action="/console/team/${u.id}/role" class="inline-form">${csrfInput(token)}
<select name="role" aria-label="Role of ${u.email}">${(u.status === 'active' ? ['owner', 'admin', 'member'] : ['admin', 'member']).map(
            (r) => html`<option value="${r}"${r === u.role ? html` selected` : ''}>${r}</option>`,
          )}</select><button type="submit" class="secondary small">Change</button></form>`
        : html`${u.role}${me ? html` <span class="sub">(you)</span>` : ''}`;
    const actions = [
      writer && u.status === 'invited'
        ? html`<form method="post" action="/console/team/${u.id}/resend" class="inline-form">${csrfInput(token)}<button type="submit" class="secondary small">Send a new link</button></form>`
        : '',
      mayDeactivate(s, u) && !me ? html`<a class="button secondary small" href="/console/team/${u.id}/deactivate">Deactivate…</a>` : '',
    ];
    return html`<tr data-id="${u.id}">
<td><strong>${displayName(u)}</strong>${u.name ? html`<span class="sub">${u.email}</span>` : ''}</td>
<td>${roleCell}</td>
<td>${badge(u.status)}${
      u.status === 'invited' && inv
        ? html`<span class="sub">${inv.status === 'expired' ? 'link expired' : `link expires ${formatWhen(inv.expires_at)}`}${inv.invited_by ? ` · invited by ${inv.invited_by.name ?? inv.invited_by.email}` : ''}</span>`
        : u.status === 'deactivated'
          ? html`<span class="sub">since ${formatWhen(u.deactivated_at)}</span>`
          : ''
    }</td>
<td>${formatWhen(u.created_at)}</td>
<td><div class="actions-cell">${actions}</div></td>
</tr>`;
  });
  const inviteForm = writer
    ? html`<div class="card"><h2>Invite a teammate</h2>
<p class="muted">They get an email from ${s.agency.displayName} with a single-use link to choose their name and password. Admins invite clients and change settings; members read only.</p>
<form method="post" action="/console/team/invite" class="admin" novalidate>${csrfInput(token)}
<div class="row"><div><label for="team-email">Email</label><input type="email" id="team-email" name="email" value="${v.email}" maxlength="320" required>${fieldError(errors, 'email', 'Email')}</div>
<div><label for="team-role">Role</label><select id="team-role" name="role">${['admin', 'member'].map((r) => html`<option value="${r}"${r === v.role ? html` selected` : ''}>${r}</option>`)}</select>${fieldError(errors, 'role', 'Role')}</div></div>
<div class="row"><div><label for="team-first">First name <span class="muted">(optional)</span></label><input type="text" id="team-first" name="first_name" value="${v.first_name}" maxlength="200">${fieldError(errors, 'first_name', 'First name')}</div>
<div><label for="team-last">Last name <span class="muted">(optional)</span></label><input type="text" id="team-last" name="last_name" value="${v.last_name}" maxlength="200">${fieldError(errors, 'last_name', 'Last name')}</div></div>
${otherErrors(errors, ['email', 'role', 'first_name', 'last_name'])}
<div class="actions"><button type="submit">Send invitation</button></div>
</form></div>`
    : '';
  return consolePage(c, {
    section: 'team',
    title: 'Team',
    body: html`<div class="card"><h1>Team</h1><p class="muted">The people of ${s.agency.displayName} who use Onramp. ${
      owner
        ? 'As an owner you change roles; the agency always keeps at least one active owner.'
        : writer
          ? 'Only owners change roles or deactivate admins.'
          : 'Only owners and admins change the team.'
    }</p>${notice(d.notice)}${alert(d.alert)}</div>
<div class="card flush"><table><thead><tr><th>Name</th><th>Role</th><th>Status</th><th>Added</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>
${inviteForm}`,
  });
}

function confirmPage(c: ConsoleLocals, u: UserJson): View {
  return consolePage(c, {
    section: 'team',
    title: 'Deactivate teammate',
    body: html`<div class="card"><h1>Deactivate ${displayName(u)}?</h1>
<p>${u.email} (${u.role}) will be signed out of the console at once, and their API keys will stop working. ${
      u.status === 'invited' ? 'Their invitation link stops working too.' : ''
    }</p>
<p class="muted">Invitations they sent stay as they are; when a client accepts one, the agency's owners are told instead of them.</p>
<form method="post" action="/console/team/${u.id}/deactivate">${csrfInput(c.csrf('team'))}
<div class="actions"><button type="submit" class="danger">Deactivate</button><a href="/console/team">Cancel</a></div></form></div>`,
  });
}
