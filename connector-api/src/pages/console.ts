import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import {
  AppError,
  bulkInvitations,
  BULK_MAX,
  CONSOLE_COOKIE,
  endConsoleSession,
  getClientName,
  getConsoleProject,
  invitationEmails,
  invitationLink,
  inviteClient,
  listConsoleMembers,
  listConsoleProjects,
  listInvitationsJson,
  listProjectChoices,
  loginFirmUser,
  resolveConsoleSession,
  type ConsoleSession,
  type Deps,
} from '@onramp/core';
import { normaliseError, statusByCode } from '../http/problem.js';
import { sendPage } from './html.js';
import { cookieSettings, CSRF_COOKIE, CSRF_FIELD, csrfToken, csrfValid, ensureCsrfCookie, readCookie } from './csrf.js';
import {
  canInvite,
  consoleForbiddenFormPage,
  consoleLoginPage,
  consoleMessagePage,
  consoleNotFoundPage,
  dashboardPage,
  projectPage,
  projectsPage,
  type BulkOutcome,
  type DashboardData,
  type DashboardFilters,
  type Frame,
  type InviteFormValues,
} from './consoleViews.js';

const see = (res: Response, location: string) => {
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, location);
};

/**
 * CSRF contexts, one kind per form. The signed-in forms are bound to the console session token (which a
 * cross-site page cannot read); the login form to the anonymous double-submit cookie. The `console-`
 * prefix keeps the client pages' tokens useless here and the other way round.
 */
const ctx = {
  login: (cookie: string | undefined) => (cookie ? `console-login:${cookie}` : undefined),
  signedIn: (kind: 'logout' | 'bulk' | 'invite', token: string) => `console-${kind}:${token}`,
};

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

interface Signed {
  session: ConsoleSession;
  token: string;
  frame: Frame;
}

/**
 * The firm's side of Onramp: sign in, the dashboard of invitations across projects with bulk resend and
 * revoke, the project list and a project page with its invite form. Everything is read and changed through
 * the same use cases as the API, as the signed-in firm user, so the agency scoping and the owner/admin
 * rule are the API's own.
 */
export function consolePages(deps: Deps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  // Up to BULK_MAX checkbox values plus the few hidden fields.
  const bulkForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: BULK_MAX + 20 });

  const frameOf = (session: ConsoleSession, token: string): Frame => ({ session, logoutCsrf: csrfToken(deps, ctx.signedIn('logout', token)) });

  /** The signed-in firm user, or a redirect to the login page (and null). */
  async function signedIn(req: Request, res: Response): Promise<Signed | null> {
    const token = readCookie(req, CONSOLE_COOKIE);
    const session = await resolveConsoleSession(deps, token);
    if (!session || !token) {
      if (token) res.clearCookie(CONSOLE_COOKIE, cookieSettings(deps));
      see(res, '/console/login');
      return null;
    }
    return { session, token, frame: frameOf(session, token) };
  }

  router.get('/console/login', async (req: Request, res: Response) => {
    if (await resolveConsoleSession(deps, readCookie(req, CONSOLE_COOKIE))) return see(res, '/console');
    const cookie = ensureCsrfCookie(req, res, deps);
    sendPage(res, consoleLoginPage({ csrf: csrfToken(deps, ctx.login(cookie)!) }));
  });

  router.post('/console/login', form, async (req: Request, res: Response) => {
    const cookie = readCookie(req, CSRF_COOKIE);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(deps, ctx.login(cookie), body[CSRF_FIELD])) return sendPage(res, { ...consoleForbiddenFormPage(), status: 403 });
    const email = typeof body.email === 'string' ? body.email.slice(0, 320) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const csrf = csrfToken(deps, ctx.login(cookie)!);
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

  router.post('/console/logout', form, async (req: Request, res: Response) => {
    const token = readCookie(req, CONSOLE_COOKIE);
    if (!token) return see(res, '/console/login');
    if (!csrfValid(deps, ctx.signedIn('logout', token), (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD])) {
      return sendPage(res, { ...consoleForbiddenFormPage(), status: 403 });
    }
    await endConsoleSession(deps, token);
    res.clearCookie(CONSOLE_COOKIE, cookieSettings(deps));
    see(res, '/console/login');
  });

  /** The dashboard's data for some filters; a project filter naming no project of this agency is a 404. */
  async function dashboard(s: Signed, filters: DashboardFilters, extra: Partial<DashboardData> = {}): Promise<DashboardData | null> {
    const agencyId = s.session.principal.agencyId;
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
      csrf: csrfToken(deps, ctx.signedIn('bulk', s.token)),
      ...extra,
    };
  }

  router.get('/console', async (req: Request, res: Response) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const filters = filtersSchema.parse(req.query);
    const extra: Partial<DashboardData> = {};
    const linkId = optionalText(req.query.link);
    if (linkId && canInvite(s.session)) {
      try {
        const link = await invitationLink(deps, s.session.principal, linkId);
        const emails = await invitationEmails(deps.pool, s.session.principal.agencyId, [linkId]);
        extra.link = { email: emails.get(linkId) ?? '', url: link.url, expiresAt: link.expires_at };
      } catch (err) {
        if (!(err instanceof AppError) || err.code === 'not_found') throw err;
        extra.alert = err.detail ?? err.title;
      }
    }
    const data = await dashboard(s, filters, extra);
    if (!data) return sendPage(res, { ...consoleNotFoundPage(s.frame), status: 404 });
    sendPage(res, dashboardPage(s.frame, data));
  });

  router.post('/console/invitations/bulk', bulkForm, async (req: Request, res: Response) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(deps, ctx.signedIn('bulk', s.token), one(body[CSRF_FIELD]))) {
      return sendPage(res, { ...consoleForbiddenFormPage(s.frame), status: 403 });
    }
    const filters = filtersSchema.parse({ status: body.status, project: body.project, email: body.email });
    const parsed = bulkSchema.safeParse(body);
    if (!parsed.success) {
      return sendPage(res, { ...consoleMessagePage('Request not accepted', 'Choose Resend or Revoke, with at most 500 invitations.', s.frame), status: 422 });
    }
    const { action, ids } = parsed.data;
    let extra: Partial<DashboardData>;
    if (ids.length === 0) {
      extra = { alert: 'Select at least one invitation first.' };
    } else {
      // The use case checks the role and scopes every id to this agency: another agency's id is "not found".
      const results = await bulkInvitations(deps, s.session.principal, action, ids);
      const bulk: BulkOutcome = { action, results, emails: await invitationEmails(deps.pool, s.session.principal.agencyId, ids) };
      extra = { bulk };
    }
    const data = await dashboard(s, { ...filters, cursor: undefined }, extra);
    // The results matter more than the filter the form came from: fall back to the unfiltered dashboard.
    sendPage(res, dashboardPage(s.frame, data ?? (await dashboard(s, { status: 'pending' }, extra))!));
  });

  router.get('/console/projects', async (req: Request, res: Response) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const cursor = optionalText(req.query.cursor);
    const page = await listConsoleProjects(deps.pool, s.session.principal.agencyId, { limit: 50, cursor: cursor?.slice(0, 200) });
    sendPage(res, projectsPage(s.frame, { items: page.data, nextCursor: page.next_cursor, cursor }));
  });

  async function renderProject(
    res: Response,
    s: Signed,
    projectId: string,
    extra: { status?: number; values?: InviteFormValues; errors?: import('@onramp/core').FieldError[]; alert?: string; notice?: string } = {},
  ): Promise<void> {
    const agencyId = s.session.principal.agencyId;
    const project = await getConsoleProject(deps.pool, agencyId, projectId);
    if (!project) return sendPage(res, { ...consoleNotFoundPage(s.frame), status: 404 });
    const [members, invitations] = await Promise.all([
      listConsoleMembers(deps.pool, agencyId, project.id),
      listInvitationsJson(deps.pool, agencyId, { projectId: project.id }, { limit: 25 }),
    ]);
    const { status, ...view } = extra;
    sendPage(res, {
      ...projectPage(s.frame, {
        project,
        members,
        invitations: invitations.data,
        moreInvitations: invitations.next_cursor !== null,
        csrf: csrfToken(deps, ctx.signedIn('invite', s.token)),
        ...view,
      }),
      status: status ?? 200,
    });
  }

  const doneNotices: Record<string, (who: string) => string> = {
    invited: (who) => `Invited ${who}. The invitation is pending until they accept.`,
    already_invited: (who) => `${who} already has a pending invitation to this project; nothing new was sent.`,
    added: (who) => `${who} is already an active client and was added to this project without an email.`,
    already_member: (who) => `${who} is already a member of this project.`,
  };

  router.get('/console/projects/:id', async (req: Request<{ id: string }>, res: Response) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const done = optionalText(req.query.done);
    const clientId = optionalText(req.query.client);
    let notice: string | undefined;
    if (done && doneNotices[done] && clientId) {
      const c = await getClientName(deps.pool, s.session.principal.agencyId, clientId);
      if (c) notice = doneNotices[done](`${c.firstName} ${c.lastName} (${c.email})`);
    }
    await renderProject(res, s, req.params.id, notice ? { notice } : {});
  });

  router.post('/console/projects/:id/invite', form, async (req: Request<{ id: string }>, res: Response) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(deps, ctx.signedIn('invite', s.token), body[CSRF_FIELD])) {
      return sendPage(res, { ...consoleForbiddenFormPage(s.frame), status: 403 });
    }
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    const values: InviteFormValues = {
      email: text('email'),
      first_name: text('first_name'),
      last_name: text('last_name'),
      message: text('message'),
      send_email: body.send_email !== undefined,
    };
    try {
      const out = await inviteClient(deps, s.session.principal, req.params.id, {
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
      await renderProject(res, s, req.params.id, {
        status: statusByCode[err.code],
        values,
        errors: fieldErrors,
        ...(fieldErrors.length && err.code === 'validation_failed' ? {} : { alert: err.detail ?? err.title }),
      });
    }
  });

  // A person gets a page, never a stack trace; another agency's id reads as not found.
  router.use('/console', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const appErr = normaliseError(err);
    const status = statusByCode[appErr.code];
    if (status >= 500) req.log?.error({ err }, 'console page failed');
    if (appErr.code === 'not_found') return sendPage(res, { ...consoleNotFoundPage(), status: 404 });
    sendPage(res, {
      ...consoleMessagePage(status >= 500 ? 'Something went wrong' : 'Request not accepted', status >= 500 ? 'Please try again in a moment.' : (appErr.detail ?? appErr.title)),
      status,
    });
  });
  return router;
}
