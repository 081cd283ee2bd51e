import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import {
  AppError,
  acceptInvitation,
  agencyPageById,
  agencySignInPath,
  findAgencyPage,
  lookupSignInLink,
  redeemSignInLink,
  requestSignInLink,
  type AgencyPage,
  endClientSession,
  getPortalView,
  loginClient,
  lookupInvitationToken,
  lookupResetToken,
  requestPasswordReset,
  resetPassword,
  resolveClientSession,
  SESSION_COOKIE,
  type ClientSession,
  type Deps,
  type FieldError,
} from '@onramp/core';
import { normaliseError, sendProblem, statusByCode } from '../../http/problem.js';
import { isJsonRequest } from '../../http/route.js';
import { sendPage } from '../layout.js';
import { clearSessionCookie, readCookie, see, setSessionCookie } from '../cookies.js';
import { CSRF_COOKIE, csrfToken, ensureCsrfCookie, requireCsrf } from '../csrf.js';
import {
  agencyLoginPage,
  agencyNotFoundPage,
  errorPage,
  linkSentPage,
  signInLinkGonePage,
  signInLinkPage,
  forbiddenPage,
  forgotPage,
  inviteGonePage,
  invitePage,
  loginPage,
  portalPage,
  resetGonePage,
  resetPage,
} from './views.js';

const field = (body: unknown, name: string): string | undefined => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
};

/** CSRF contexts, one kind per form, so a token minted for one form is refused by every other. */
const ctx = {
  invite: (token: string) => `invite:${token}`,
  reset: (token: string) => `reset:${token}`,
  anon: (cookie: string | undefined) => (cookie ? `form:${cookie}` : undefined),
  logout: (session: string | undefined) => (session ? `logout:${session}` : undefined),
  signIn: (token: string) => `signin:${token}`,
};

/** The signed-in client of a request, set by the `signedIn` middleware. */
interface ClientLocals {
  session: ClientSession;
  token: string;
}
const clientOf = (res: Response): ClientLocals => res.locals.client as ClientLocals;

/**
 * The client's side of Onramp: the invitation page, the portal, sign in/out and password reset. Form
 * bodies are parsed only here (urlencoded, small); the accept endpoint also takes JSON for scripts. The
 * session and CSRF checks are middleware on each route, so a handler runs only for a request that passed.
 */
export function clientPages(deps: Deps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const json = express.json({ limit: '16kb', type: ['application/json', 'application/*+json'] });
  const refuse = (_req: Request, res: Response) => sendPage(res, { ...forbiddenPage(), status: 403 });
  const csrf = (contextOf: (req: Request) => string | undefined) => requireCsrf(deps, contextOf, refuse);
  const tokenParam = (req: Request) => String(req.params.token);

  /** Only a signed-in client passes; anyone else goes to the sign-in page. */
  const signedIn: RequestHandler = async (req, res, next) => {
    const token = readCookie(req, SESSION_COOKIE);
    const session = await resolveClientSession(deps, token);
    if (!session || !token) {
      if (token) clearSessionCookie(res, deps);
      return see(res, '/login');
    }
    res.locals.client = { session, token } satisfies ClientLocals;
    next();
  };

  // Opening the link only reads: mail scanners pre-open links, so a GET must never accept anything.
  router.get('/invite/:token', async (req: Request<{ token: string }>, res: Response) => {
    const token = req.params.token;
    const found = await lookupInvitationToken(deps, token);
    if (!found.valid) {
      // The client this link belonged to, signed in already (they clicked it again after joining): home.
      if (found.clientId) {
        const session = await resolveClientSession(deps, readCookie(req, SESSION_COOKIE));
        if (session && session.clientId === found.clientId) return see(res, '/portal');
      }
      return sendPage(res, { ...inviteGonePage(found.agency), status: 410 });
    }
    sendPage(res, invitePage(found.view, { token, csrf: csrfToken(deps, ctx.invite(token)) }));
  });

  // A cross-site form cannot send application/json (and fetch would need CORS), so JSON needs no CSRF field.
  const acceptCsrf: RequestHandler = (req, res, next) => (isJsonRequest(req) ? next() : csrf((r) => ctx.invite(tokenParam(r)))(req, res, next));

  router.post('/invite/:token/accept', json, form, acceptCsrf, async (req: Request<{ token: string }>, res: Response) => {
    const token = req.params.token;
    if (isJsonRequest(req)) {
      try {
        const passwordless = (req.body as Record<string, unknown> | undefined)?.passwordless === true;
        const done = await acceptInvitation(deps, { token, password: field(req.body, 'password'), newPassword: field(req.body, 'new_password'), passwordless });
        setSessionCookie(res, deps, done.session.token, done.session.expiresAt);
        res.setHeader('Cache-Control', 'no-store');
        res.status(200).json({ status: 'accepted', redirect: '/portal', client_id: done.clientId, project_id: done.projectId });
      } catch (err) {
        sendProblem(res, normaliseError(err));
      }
      return;
    }
    const found = await lookupInvitationToken(deps, token);
    if (!found.valid) return sendPage(res, { ...inviteGonePage(found.agency), status: 410 });
    const rerender = (errors: FieldError[]) =>
      sendPage(res, { ...invitePage(found.view, { token, csrf: csrfToken(deps, ctx.invite(token)), errors }), status: 422 });
    const newPassword = field(req.body, 'new_password');
    // The "join without a password" button of magic_link and either agencies.
    const passwordless = field(req.body, 'method') === 'link';
    if (!passwordless && !found.view.client.hasPassword && newPassword && newPassword !== field(req.body, 'confirm_password')) {
      return rerender([{ field: 'confirm_password', message: 'does not match the password' }]);
    }
    try {
      const done = await acceptInvitation(deps, { token, password: field(req.body, 'password'), newPassword, passwordless });
      setSessionCookie(res, deps, done.session.token, done.session.expiresAt);
      see(res, '/portal');
    } catch (err) {
      if (err instanceof AppError && err.code === 'gone') {
        const again = await lookupInvitationToken(deps, token);
        return sendPage(res, { ...inviteGonePage(again.valid ? again.view.agency : again.agency), status: 410 });
      }
      if (err instanceof AppError && err.code === 'validation_failed') return rerender(err.errors);
      throw err;
    }
  });

  router.get('/portal', signedIn, async (_req: Request, res: Response) => {
    const { session, token } = clientOf(res);
    const view = await getPortalView(deps.pool, session.agencyId, session.clientId);
    if (!view) return see(res, '/login');
    sendPage(res, portalPage(view, { csrf: csrfToken(deps, ctx.logout(token)!) }));
  });

  router.post(
    '/logout',
    form,
    signedIn,
    csrf((r) => ctx.logout(readCookie(r, SESSION_COOKIE))),
    async (_req: Request, res: Response) => {
      const { session, token } = clientOf(res);
      await endClientSession(deps, token);
      clearSessionCookie(res, deps);
      // Back to the agency's own sign-in page, the one the client knows.
      const agency = await agencyPageById(deps, session.agencyId);
      see(res, agency ? agencySignInPath(agency.slug) : '/login');
    },
  );

  router.get('/login', async (req: Request, res: Response) => {
    if (await resolveClientSession(deps, readCookie(req, SESSION_COOKIE))) return see(res, '/portal');
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, loginPage({ csrf: csrfToken(deps, ctx.anon(cookie)!) }));
  });

  const anonCsrf = csrf((r) => ctx.anon(readCookie(r, CSRF_COOKIE)));

  router.post('/login', form, anonCsrf, async (req: Request, res: Response) => {
    const email = field(req.body, 'email') ?? '';
    const csrf = csrfToken(deps, ctx.anon(readCookie(req, CSRF_COOKIE))!);
    try {
      const session = await loginClient(deps, { email, password: field(req.body, 'password') ?? '' });
      if (!session) return sendPage(res, { ...loginPage({ csrf, email, error: 'Email or password is incorrect.' }), status: 401 });
      setSessionCookie(res, deps, session.token, session.expiresAt);
      see(res, '/portal');
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        if (err.retryAfter) res.setHeader('Retry-After', String(err.retryAfter));
        return sendPage(res, { ...loginPage({ csrf, email, error: err.detail ?? err.title }), status: 429 });
      }
      throw err;
    }
  });

  router.get('/forgot', (req: Request, res: Response) => {
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, forgotPage({ csrf: csrfToken(deps, ctx.anon(cookie)!) }));
  });

  router.post('/forgot', form, anonCsrf, async (req: Request, res: Response) => {
    const cookie = readCookie(req, CSRF_COOKIE);
    const email = (field(req.body, 'email') ?? '').trim().slice(0, 320);
    await requestPasswordReset(deps, email);
    // The same answer whether or not the address has an account.
    sendPage(res, forgotPage({ csrf: csrfToken(deps, ctx.anon(cookie)!), sent: true, ...(email ? { email } : {}) }));
  });

  /** Sign-in links asked for from the neutral page or an agency's page: the same answer whatever the address. */
  const askForLink = async (req: Request, res: Response, agency: AgencyPage | null, again: () => void) => {
    const email = (field(req.body, 'email') ?? '').trim().slice(0, 320);
    try {
      await requestSignInLink(deps, { email, agencyId: agency?.id ?? null });
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        if (err.retryAfter) res.setHeader('Retry-After', String(err.retryAfter));
        res.status(429);
        return again();
      }
      throw err;
    }
    sendPage(res, linkSentPage(agency, email));
  };

  router.post('/login/link', form, anonCsrf, async (req: Request, res: Response) => {
    const csrf = csrfToken(deps, ctx.anon(readCookie(req, CSRF_COOKIE))!);
    await askForLink(req, res, null, () =>
      sendPage(res, { ...loginPage({ csrf, error: 'Too many sign-in links were asked for. Try again in an hour.' }), status: 429 }),
    );
  });

  // An agency's own pages: /a/<slug>/login, /forgot and /link, in its branding and its sign-in mode.
  const agencyOf = async (req: Request<{ slug: string }>, res: Response): Promise<AgencyPage | null> => {
    const agency = await findAgencyPage(deps, req.params.slug);
    if (!agency) sendPage(res, { ...agencyNotFoundPage(), status: 404 });
    return agency;
  };

  router.get('/a/:slug/login', async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (!agency) return;
    const session = await resolveClientSession(deps, readCookie(req, SESSION_COOKIE));
    if (session && session.agencyId === agency.id) return see(res, '/portal');
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, agencyLoginPage(agency, { csrf: csrfToken(deps, ctx.anon(cookie)!) }));
  });

  router.post('/a/:slug/login', form, anonCsrf, async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (!agency) return;
    const email = field(req.body, 'email') ?? '';
    const csrf = csrfToken(deps, ctx.anon(readCookie(req, CSRF_COOKIE))!);
    if (agency.signIn === 'magic_link') return see(res, agencySignInPath(agency.slug));
    try {
      const session = await loginClient(deps, { email, password: field(req.body, 'password') ?? '', agencyId: agency.id });
      if (!session) return sendPage(res, { ...agencyLoginPage(agency, { csrf, email, error: 'Email or password is incorrect.' }), status: 401 });
      setSessionCookie(res, deps, session.token, session.expiresAt);
      see(res, '/portal');
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        if (err.retryAfter) res.setHeader('Retry-After', String(err.retryAfter));
        return sendPage(res, { ...agencyLoginPage(agency, { csrf, email, error: err.detail ?? err.title }), status: 429 });
      }
      throw err;
    }
  });

  router.get('/a/:slug/link', async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (agency) see(res, agencySignInPath(agency.slug));
  });

  router.post('/a/:slug/link', form, anonCsrf, async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (!agency) return;
    const csrf = csrfToken(deps, ctx.anon(readCookie(req, CSRF_COOKIE))!);
    if (agency.signIn === 'password') return see(res, agencySignInPath(agency.slug));
    await askForLink(req, res, agency, () =>
      sendPage(res, { ...agencyLoginPage(agency, { csrf, error: 'Too many sign-in links were asked for. Try again in an hour.' }), status: 429 }),
    );
  });

  router.get('/a/:slug/forgot', async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (!agency) return;
    // magic_link clients have no password to forget.
    if (agency.signIn === 'magic_link') return see(res, agencySignInPath(agency.slug));
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, forgotPage({ csrf: csrfToken(deps, ctx.anon(cookie)!), agency }));
  });

  router.post('/a/:slug/forgot', form, anonCsrf, async (req: Request<{ slug: string }>, res: Response) => {
    const agency = await agencyOf(req, res);
    if (!agency) return;
    if (agency.signIn === 'magic_link') return see(res, agencySignInPath(agency.slug));
    const email = (field(req.body, 'email') ?? '').trim().slice(0, 320);
    await requestPasswordReset(deps, email, agency.id);
    sendPage(res, forgotPage({ csrf: csrfToken(deps, ctx.anon(readCookie(req, CSRF_COOKIE))!), sent: true, agency, ...(email ? { email } : {}) }));
  });

  // Opening a sign-in link only reads (mail scanners pre-open links); the button POSTs.
  router.get('/signin/:token', async (req: Request<{ token: string }>, res: Response) => {
    const token = req.params.token;
    const found = await lookupSignInLink(deps, token);
    if (!found.valid) return sendPage(res, { ...signInLinkGonePage(found.agency), status: 410 });
    sendPage(res, signInLinkPage(found.view, { token, csrf: csrfToken(deps, ctx.signIn(token)) }));
  });

  router.post(
    '/signin/:token',
    form,
    csrf((r) => ctx.signIn(tokenParam(r))),
    async (req: Request<{ token: string }>, res: Response) => {
      const token = req.params.token;
      try {
        const session = await redeemSignInLink(deps, token);
        setSessionCookie(res, deps, session.token, session.expiresAt);
        see(res, '/portal');
      } catch (err) {
        if (err instanceof AppError && err.code === 'gone') {
          const again = await lookupSignInLink(deps, token);
          return sendPage(res, { ...signInLinkGonePage(again.valid ? again.view.agency : again.agency), status: 410 });
        }
        throw err;
      }
    },
  );

  router.get('/reset/:token', async (req: Request<{ token: string }>, res: Response) => {
    const token = req.params.token;
    const found = await lookupResetToken(deps, token);
    if (!found.valid) return sendPage(res, { ...resetGonePage(found.agency), status: 410 });
    sendPage(res, resetPage(found.view, { token, csrf: csrfToken(deps, ctx.reset(token)) }));
  });

  router.post(
    '/reset/:token',
    form,
    csrf((r) => ctx.reset(tokenParam(r))),
    async (req: Request<{ token: string }>, res: Response) => {
      const token = req.params.token;
      const found = await lookupResetToken(deps, token);
      if (!found.valid) return sendPage(res, { ...resetGonePage(found.agency), status: 410 });
      const rerender = (errors: FieldError[]) =>
        sendPage(res, { ...resetPage(found.view, { token, csrf: csrfToken(deps, ctx.reset(token)), errors }), status: 422 });
      const newPassword = field(req.body, 'new_password');
      if (newPassword && newPassword !== field(req.body, 'confirm_password')) {
        return rerender([{ field: 'confirm_password', message: 'does not match the password' }]);
      }
      try {
        const session = await resetPassword(deps, { token, newPassword });
        setSessionCookie(res, deps, session.token, session.expiresAt);
        see(res, '/portal');
      } catch (err) {
        if (err instanceof AppError && err.code === 'gone') return sendPage(res, { ...resetGonePage(found.view.agency), status: 410 });
        if (err instanceof AppError && err.code === 'validation_failed') return rerender(err.errors);
        throw err;
      }
    },
  );

  // Scripts (JSON) get problem+json; a person gets a page, never a stack trace.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const appErr = normaliseError(err);
    if (isJsonRequest(req) || (req.headers.accept ?? '').includes('application/json')) return next(appErr);
    if (appErr.code === 'internal' || appErr.code === 'unavailable') req.log?.error({ err }, 'page failed');
    const status = statusByCode[appErr.code];
    sendPage(res, { ...errorPage(status, status >= 500 ? 'Please try again in a moment.' : (appErr.detail ?? appErr.title)), status });
  });
  return router;
}
