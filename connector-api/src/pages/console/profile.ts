import express, { type Request, type Response, type Router } from 'express';
import { AppError, changeMyPassword, getUser, html, updateMe, type Deps, type FieldError, type UserJson } from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
import { see } from '../cookies.js';
import { alert, fieldError, formText, notice, otherErrors } from './forms.js';
import type { ConsoleForm } from './index.js';
import { consoleOf, consolePage, csrfInput, sendConsolePage, type ConsoleLocals, type View } from './layout.js';

const NOTICES: Record<string, string> = {
  name: 'Name saved. Emails you send from now on say it.',
  password: 'Password changed. Your other console sessions have been signed out.',
};

/** Your own profile: the name clients see as the inviter, and the console password (current one required). */
export function profileConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  async function render(res: Response, extra: Omit<ProfileData, 'me'> = {}, status = 200) {
    const c = consoleOf(res);
    sendConsolePage(res, profilePage(c, { me: await getUser(deps, c.session.principal, c.session.principal.userId), ...extra }), status);
  }

  router.get('/console/profile', async (req: Request, res: Response) => {
    await render(res, { notice: typeof req.query.done === 'string' ? NOTICES[req.query.done] : undefined });
  });

  router.post('/console/profile/name', form('profile'), async (req: Request, res: Response) => {
    const values = { first_name: formText(req.body, 'first_name'), last_name: formText(req.body, 'last_name') };
    try {
      await updateMe(deps, consoleOf(res).session.principal, values);
      see(res, '/console/profile?done=name');
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      await render(res, { names: values, nameErrors: err.errors }, 422);
    }
  });

  router.post('/console/profile/password', form('profile'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const next = formText(req.body, 'new_password');
    if (next !== formText(req.body, 'confirm_password')) {
      return render(res, { passwordErrors: [{ field: 'confirm_password', message: 'does not match the new password' }] }, 422);
    }
    try {
      // This session stays signed in; every other one of the user ends.
      await changeMyPassword(deps, c.session.principal, { current_password: formText(req.body, 'current_password'), new_password: next }, c.token);
      see(res, '/console/profile?done=password');
    } catch (err) {
      if (!(err instanceof AppError) || (err.code !== 'validation_failed' && err.code !== 'rate_limited')) throw err;
      await render(res, err.code === 'rate_limited' ? { alert: err.detail ?? err.title } : { passwordErrors: err.errors }, statusByCode[err.code]);
    }
  });

  return router;
}

interface ProfileData {
  me: UserJson;
  names?: { first_name: string; last_name: string };
  nameErrors?: FieldError[];
  passwordErrors?: FieldError[];
  notice?: string | undefined;
  alert?: string | undefined;
}

function profilePage(c: ConsoleLocals, d: ProfileData): View {
  const names = d.names ?? { first_name: d.me.first_name ?? '', last_name: d.me.last_name ?? '' };
  const ne = d.nameErrors ?? [];
  const pe = d.passwordErrors ?? [];
  const token = c.csrf('profile');
  return consolePage(c, {
    section: 'profile',
    title: 'Your profile',
    body: html`<div class="card"><h1>Your profile</h1>
<p class="muted">${d.me.email} · ${d.me.role} of ${c.session.agency.displayName}</p>${notice(d.notice)}${alert(d.alert)}</div>
<div class="card"><h2>Name</h2>
<p class="muted">Clients see it in the invitations you send ("${names.first_name || 'Olivia'} from ${c.session.agency.displayName}").</p>
<form method="post" action="/console/profile/name" class="admin" novalidate>${csrfInput(token)}
<div class="row"><div><label for="first_name">First name</label><input type="text" id="first_name" name="first_name" value="${names.first_name}" maxlength="200" required>${fieldError(ne, 'first_name', 'First name')}</div>
<div><label for="last_name">Last name</label><input type="text" id="last_name" name="last_name" value="${names.last_name}" maxlength="200" required>${fieldError(ne, 'last_name', 'Last name')}</div></div>
${otherErrors(ne, ['first_name', 'last_name'])}
<div class="actions"><button type="submit">Save name</button></div></form></div>
<div class="card"><h2>Password</h2>
<form method="post" action="/console/profile/password" class="admin" novalidate>${csrfInput(token)}
<label for="current_password">Current password</label><input type="password" id="current_password" name="current_password" autocomplete="current-password" required>${fieldError(pe, 'current_password', 'Current password')}
<label for="new_password">New password <span class="muted">(at least 10 characters)</span></label><input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="10" required>${fieldError(pe, 'new_password', 'New password')}
<label for="confirm_password">New password again</label><input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" required>${fieldError(pe, 'confirm_password', 'New password again')}
<div class="actions"><button type="submit">Change password</button><span class="muted">Your other console sessions will be signed out.</span></div></form></div>`,
  });
}
