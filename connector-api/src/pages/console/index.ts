import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import { AppError, CONSOLE_COOKIE, endConsoleSession, loginFirmUser, resolveConsoleSession, type Deps } from '@onramp/core';
import { normaliseError, sendProblem, statusByCode } from '../../http/problem.js';
import { sendPage } from '../layout.js';
import { cookieSettings, readCookie, see } from '../cookies.js';
import { CSRF_COOKIE, csrfToken, ensureCsrfCookie, requireCsrf, submittedCsrf, csrfValid } from '../csrf.js';
import {
  consoleForbiddenFormPage,
  consoleLoginPage,
  consoleMessagePage,
  consoleNotFoundPage,
  consoleOf,
  sendConsolePage,
  type ConsoleLocals,
} from './layout.js';
import { invitationsConsole } from './invitations.js';
import { projectsConsole } from './projects.js';
import { importsConsole } from './imports.js';
import { clientsConsole } from './clients.js';
import { templatesConsole } from './templates.js';
import { teamConsole } from './team.js';
import { apiKeysConsole } from './apiKeys.js';
import { settingsConsole } from './settings.js';
import { profileConsole } from './profile.js';
import { joinConsole } from './join.js';

/**
 * The middleware of one kind of signed-in form: parse its body (urlencoded by default; pass another parser,
 * or `null` for a handler that streams the body itself), then check its CSRF token, bound to the session
 * and to the kind (`console-<kind>:<session token>`), so one form's token is useless on another. Failing
 * requests get the "form expired" page and the handler never runs.
 */
export type ConsoleForm = (kind: string, parser?: RequestHandler | null) => RequestHandler[];

/**
 * A console feature: its routes, mounted behind the session middleware (only a signed-in firm user gets
 * here; `consoleOf(res)` is that user). One file per feature in this folder, one line in this list.
 * Every write goes through the same core use case as the API, so roles and tenancy are the API's own.
 */
type ConsoleFeature = (deps: Deps, form: ConsoleForm) => Router;

const features: ConsoleFeature[] = [
  invitationsConsole,
  projectsConsole,
  clientsConsole,
  templatesConsole,
  importsConsole,
  teamConsole,
  apiKeysConsole,
  settingsConsole,
  profileConsole,
];

/** CSRF contexts. The `console-` prefix keeps the client pages' tokens useless here and the other way round. */
const ctx = {
  login: (cookie: string | undefined) => (cookie ? `console-login:${cookie}` : undefined),
  signedIn: (kind: string, token: string) => `console-${kind}:${token}`,
};

/**
 * The firm's side of Onramp. Sign in and out here; every other console route is a feature, behind
 * `requireSession`. Errors become HTML pages in the console's layout, never JSON.
 */
export function consolePages(deps: Deps): Router {
  const router = express.Router();
  const urlencoded = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });

  const requireSession: RequestHandler = async (req, res, next) => {
    const token = readCookie(req, CONSOLE_COOKIE);
    const session = await resolveConsoleSession(deps, token);
    if (!session || !token) {
      if (token) res.clearCookie(CONSOLE_COOKIE, cookieSettings(deps));
      // A program (an API client given a wrong base URL, Zapier's connection test) gets the API's answer
      // for an address that is not an API route, not a redirect to a sign-in form it cannot use.
      if (req.accepts(['html', 'json']) === 'json') {
        return sendProblem(
          res,
          new AppError('not_found', 'Not found', { detail: `No route for ${req.method} ${req.path}; the console is for browsers, the API is under /v1.` }),
        );
      }
      return see(res, '/console/login');
    }
    res.locals.console = { session, token, csrf: (kind: string) => csrfToken(deps, ctx.signedIn(kind, token)) } satisfies ConsoleLocals;
    next();
  };

  const refuseForm = (_req: Request, res: Response) => sendConsolePage(res, consoleForbiddenFormPage(res.locals.console as ConsoleLocals | undefined), 403);

  const form: ConsoleForm = (kind, parser = urlencoded) => [
    ...(parser ? [parser] : []),
    requireCsrf(deps, (_req, res) => ctx.signedIn(kind, consoleOf(res).token), refuseForm),
  ];

  router.get('/console/login', async (req: Request, res: Response) => {
    if (await resolveConsoleSession(deps, readCookie(req, CONSOLE_COOKIE))) return see(res, '/console');
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, consoleLoginPage({ csrf: csrfToken(deps, ctx.login(cookie)!) }));
  });

  const loginCsrf = requireCsrf(deps, (req) => ctx.login(readCookie(req, CSRF_COOKIE)), refuseForm);

  router.post('/console/login', urlencoded, loginCsrf, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === 'string' ? body.email.slice(0, 320) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const csrf = csrfToken(deps, ctx.login(readCookie(req, CSRF_COOKIE))!);
    try {
      const session = await loginFirmUser(deps, { email, password });
      if (!session) return sendPage(res, { ...consoleLoginPage({ csrf, email, error: 'Email or password is incorrect.' }), status: 401 });
      res.cookie(CONSOLE_COOKIE, session.token, { ...cookieSettings(deps), expires: session.expiresAt });
      see(res, '/console');
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        if (err.retryAfter) res.setHeader('Retry-After', String(err.retryAfter));
        return sendPage(res, { ...consoleLoginPage({ csrf, email, error: err.detail ?? err.title }), status: 429 });
      }
      throw err;
    }
  });

  // Sign out works for an expired session too (the cookie is cleared either way), so it sits before the
  // session middleware and checks its token itself.
  router.post('/console/logout', urlencoded, async (req: Request, res: Response) => {
    const token = readCookie(req, CONSOLE_COOKIE);
    if (!token) return see(res, '/console/login');
    if (!csrfValid(deps, ctx.signedIn('logout', token), submittedCsrf(req))) return refuseForm(req, res);
    await endConsoleSession(deps, token);
    res.clearCookie(CONSOLE_COOKIE, cookieSettings(deps));
    see(res, '/console/login');
  });

  // A teammate's invitation link: public, before the session check (the link's token is the credential).
  router.use(joinConsole(deps));

  const signedIn = express.Router();
  signedIn.use(requireSession);
  for (const feature of features) signedIn.use(feature(deps, form));
  // An address no feature answers is a page in the console's layout, not the API's JSON 404.
  signedIn.use((_req: Request, res: Response) => sendConsolePage(res, consoleNotFoundPage(consoleOf(res)), 404));
  router.use((req: Request, res: Response, next: NextFunction) =>
    req.path === '/console' || req.path.startsWith('/console/') ? signedIn(req, res, next) : next(),
  );

  // A person gets a page, never a stack trace; another agency's id reads as not found.
  router.use('/console', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const appErr = normaliseError(err);
    const status = statusByCode[appErr.code];
    if (status >= 500) req.log?.error({ err }, 'console page failed');
    const c = res.locals.console as ConsoleLocals | undefined;
    if (appErr.code === 'not_found') return sendConsolePage(res, consoleNotFoundPage(c), 404);
    if (appErr.retryAfter) res.setHeader('Retry-After', String(appErr.retryAfter));
    sendConsolePage(
      res,
      consoleMessagePage(
        status >= 500 ? 'Something went wrong' : 'Request not accepted',
        status >= 500 ? 'Please try again in a moment.' : (appErr.detail ?? appErr.title),
        c,
      ),
      status,
    );
  });
  return router;
}
