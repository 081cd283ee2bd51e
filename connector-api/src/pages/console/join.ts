import express, { type Request, type Response, type Router } from 'express';
import {
  acceptTeammateInvitation,
  AppError,
  CONSOLE_COOKIE,
  formatUtc,
  html,
  lookupTeammateInvitation,
  type Deps,
  type FieldError,
  type PageBranding,
  type TeammateInvitationView,
} from '@onramp/core';
import { cookieSettings, see } from '../cookies.js';
import { csrfToken, requireCsrf } from '../csrf.js';
import { sendPage, type PageOptions } from '../layout.js';
import { fieldError, formText } from './forms.js';
import { csrfInput } from './layout.js';

const ctx = (token: string) => `console-join:${token}`;

/**
 * The teammate's side of a teammate invitation: the emailed link opens a page in the agency's branding
 * where they choose their name and password, and are then signed in to the console. Public (no session):
 * the link's token is the credential, and the form's CSRF token is bound to it, as on the client's accept
 * page. Opening the link never consumes it; a dead link (used, resent, revoked, expired) says which agency
 * it came from and can never be redeemed.
 */
export function joinConsole(deps: Deps): Router {
  const router = express.Router();
  const urlencoded = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const refuse = (_req: Request, res: Response) =>
    sendPage(res, { ...gonePage(null, 'This form has expired. Open the link from your email again.'), status: 403 });

  router.get('/console/join/:token', async (req: Request<{ token: string }>, res: Response) => {
    const found = await lookupTeammateInvitation(deps, req.params.token);
    if (!found.valid) return sendPage(res, { ...gonePage(found.agency), status: 410 });
    sendPage(res, joinPage(found.view, { token: req.params.token, csrf: csrfToken(deps, ctx(req.params.token)) }));
  });

  router.post(
    '/console/join/:token',
    urlencoded,
    requireCsrf(deps, (req) => ctx(String(req.params.token)), refuse),
    async (req: Request<{ token: string }>, res: Response) => {
      const token = req.params.token;
      const found = await lookupTeammateInvitation(deps, token);
      if (!found.valid) return sendPage(res, { ...gonePage(found.agency), status: 410 });
      const values = { first_name: formText(req.body, 'first_name'), last_name: formText(req.body, 'last_name') };
      const rerender = (errors: FieldError[]) =>
        sendPage(res, { ...joinPage(found.view, { token, csrf: csrfToken(deps, ctx(token)), values, errors }), status: 422 });
      const password = formText(req.body, 'password');
      if (password !== formText(req.body, 'confirm_password')) return rerender([{ field: 'confirm_password', message: 'does not match the password' }]);
      try {
        const session = await acceptTeammateInvitation(deps, { token, ...values, password });
        res.cookie(CONSOLE_COOKIE, session.token, { ...cookieSettings(deps), expires: session.expiresAt });
        see(res, '/console');
      } catch (err) {
        if (err instanceof AppError && err.code === 'validation_failed') return rerender(err.errors);
        if (err instanceof AppError && err.code === 'gone') return sendPage(res, { ...gonePage(found.view.agency), status: 410 });
        throw err;
      }
    },
  );
  return router;
}

const NEUTRAL: PageBranding = { displayName: 'Onramp', brandColor: '#1f2937', logoUrl: null };

function joinPage(
  v: TeammateInvitationView,
  opts: { token: string; csrf: string; values?: { first_name: string; last_name: string }; errors?: FieldError[] },
): PageOptions {
  const errors = opts.errors ?? [];
  const values = opts.values ?? { first_name: v.firstName ?? '', last_name: v.lastName ?? '' };
  const who = v.inviterName ? `${v.inviterName} from ${v.agency.displayName}` : v.agency.displayName;
  return {
    title: `Join ${v.agency.displayName}`,
    brand: v.agency,
    styles: ['console.css'],
    mainClass: 'narrow',
    body: html`<div class="card"><h1>Join the ${v.agency.displayName} team</h1>
<p>${who} invited you to Onramp as ${v.role === 'admin' ? 'an admin' : 'a member'}. Choose your name and a password to sign in to the console as <strong>${v.email}</strong>.</p>
<form method="post" action="/console/join/${opts.token}" class="admin" novalidate>${csrfInput(opts.csrf)}
<label for="first_name">First name</label><input type="text" id="first_name" name="first_name" value="${values.first_name}" maxlength="200" autocomplete="given-name" required>${fieldError(errors, 'first_name', 'First name')}
<label for="last_name">Last name</label><input type="text" id="last_name" name="last_name" value="${values.last_name}" maxlength="200" autocomplete="family-name" required>${fieldError(errors, 'last_name', 'Last name')}
<input type="email" name="username" value="${v.email}" autocomplete="username" hidden>
<label for="password">Password <span class="muted">(at least 10 characters)</span></label><input type="password" id="password" name="password" autocomplete="new-password" minlength="10" required>${fieldError(errors, 'password', 'Password')}
<label for="confirm_password">Password again</label><input type="password" id="confirm_password" name="confirm_password" autocomplete="new-password" required>${fieldError(errors, 'confirm_password', 'Password again')}
<div class="actions"><button type="submit">Join and sign in</button></div>
</form>
<p class="muted">This link works once and expires on ${formatUtc(v.expiresAt)}.</p></div>`,
  };
}

function gonePage(agency: PageBranding | null, message?: string): PageOptions {
  return {
    title: 'Invitation no longer valid',
    brand: agency ?? NEUTRAL,
    styles: ['console.css'],
    mainClass: 'narrow',
    body: html`<div class="card"><h1>This invitation is no longer valid</h1>
<p>${message ?? (agency ? `It was used already, replaced by a newer one, withdrawn or it expired. Ask ${agency.displayName} to send you a new one.` : 'Ask the person who invited you to send you a new one.')}</p>
<p class="muted">Already joined? <a href="/console/login">Sign in to the console</a>.</p></div>`,
  };
}
