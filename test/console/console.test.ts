import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApp } from '@onramp/connector-api';
import { hashToken, setFirmUserPassword, TokenPurpose } from '@onramp/core';
import { startStack, createTwoAgencies, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { onrampBin, runOnramp } from '../support/processes.js';
import { unique } from '../support/unique.js';
import { addFirmUser } from '../support/state.js';
import { createInvitation, createProject, csrfOf, FormClient } from '../pages/fixtures.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

const PASSWORD = 'firm password 123';

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
  ({ a, b } = await createTwoAgencies(stack));
  await setFirmUserPassword(stack.deps.pool, a.email, PASSWORD);
  await setFirmUserPassword(stack.deps.pool, b.email, PASSWORD);
});
afterAll(async () => {
  await stack.close();
});

async function signIn(email: string, password = PASSWORD): Promise<FormClient> {
  const browser = new FormClient(stack.url);
  const page = await browser.get('/console/login');
  const res = await browser.post('/console/login', { csrf: csrfOf(page.text), email, password });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/console');
  return browser;
}

/** The form's own CSRF token, read from the page that carries the form. */
function formCsrf(page: string, action: string): string {
  const at = page.indexOf(`action="${action}"`);
  if (at < 0) throw new Error(`no form posting to ${action}`);
  return csrfOf(page.slice(at));
}

async function invitationRow(id: string): Promise<{ status: string; send_count: number }> {
  const { rows } = await stack.deps.pool.query<{ status: string; send_count: number }>('select status, send_count from invitations where id = $1', [id]);
  return rows[0]!;
}

async function addMember(agency: TestAgency): Promise<string> {
  const email = `member-${unique()}@agency.test`;
  await addFirmUser(stack.deps.pool, { agencyId: agency.agencyId, email, name: 'Mo Member', role: 'member' });
  await setFirmUserPassword(stack.deps.pool, email, PASSWORD);
  return email;
}

describe('sign in', () => {
  it('sends a visitor to the login page and signs a firm user in with a separate, httpOnly cookie', async () => {
    const anon = await fetch(`${stack.url}/console`, { redirect: 'manual' });
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toBe('/console/login');

    const browser = new FormClient(stack.url);
    const login = await browser.get('/console/login');
    const csrf = csrfOf(login.text);
    const wrong = await browser.post('/console/login', { csrf, email: a.email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Email or password is incorrect.');
    expect(browser.cookies.has('onramp_console')).toBe(false);
    // No account at all answers exactly the same.
    const nobody = await browser.post('/console/login', { csrf, email: 'nobody@nowhere.test', password: PASSWORD });
    expect(nobody.status).toBe(401);

    const ok = await browser.post('/console/login', { csrf, email: a.email.toUpperCase(), password: PASSWORD });
    expect(ok.status).toBe(303);
    const setCookie = ok.headers.getSetCookie().find((c) => c.startsWith('onramp_console='))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // PUBLIC_BASE_URL is http here

    const dash = await browser.get('/console');
    expect(dash.status).toBe(200);
    expect(dash.headers.get('cache-control')).toBe('no-store');
    const csp = dash.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'; style-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).not.toContain('unsafe-inline');
    // No inline script: only the console's static file (progressive enhancement).
    expect(dash.text.match(/<script[^>]*>/g)).toEqual([expect.stringMatching(/^<script src="\/static\/console\.js\?v&#61;[0-9a-f]+" defer>$/)]);
    expect(dash.text).toContain('<h1>Invitations</h1>');

    // A client's session cookie value is not a console session.
    const asClient = await fetch(`${stack.url}/console`, {
      headers: { cookie: `onramp_session=${browser.cookies.get('onramp_console')}` },
      redirect: 'manual',
    });
    expect(asClient.status).toBe(303);

    // Sign out ends the session on the server, not only in the browser.
    const stolen = browser.cookies.get('onramp_console')!;
    const out = await browser.post('/console/logout', { csrf: formCsrf(dash.text, '/console/logout') });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console/login');
    const replay = await fetch(`${stack.url}/console`, { headers: { cookie: `onramp_console=${stolen}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
  });

  it('marks the cookie Secure when PUBLIC_BASE_URL is https (the scheme clients use, not the request)', async () => {
    const app = createApp({ ...stack.deps, config: { ...stack.config, publicBaseUrl: 'https://console.example.test' } });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const browser = new FormClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const page = await browser.get('/console/login');
      const res = await browser.post('/console/login', { csrf: csrfOf(page.text), email: a.email, password: PASSWORD });
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().find((c) => c.startsWith('onramp_console='))).toMatch(/; Secure/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('rate-limits password guessing per address: the 11th try in the window is refused even when right', async () => {
    const agency = await createTestAgency(stack, 'Guessed');
    await setFirmUserPassword(stack.deps.pool, agency.email, PASSWORD);
    const browser = new FormClient(stack.url);
    const csrf = csrfOf((await browser.get('/console/login')).text);
    for (let i = 0; i < 10; i++) {
      expect((await browser.post('/console/login', { csrf, email: agency.email, password: `guess number ${i}` })).status).toBe(401);
    }
    const blocked = await browser.post('/console/login', { csrf, email: agency.email, password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.text).toContain('Too many sign-in attempts');
    expect(browser.cookies.has('onramp_console')).toBe(false);
    // Another address is not affected.
    await signIn(a.email);
  });

  it('sets the password from the CLI (pipe or ONRAMP_PASSWORD), refuses a short one and ends open sessions', async () => {
    const agency = await createTestAgency(stack, 'Cli');
    const env = { DATABASE_URL: stack.config.databaseUrl!, REDIS_URL: process.env.TEST_REDIS_URL! };
    const short = await runOnramp(['user', 'password', '--email', agency.email], { ...env, ONRAMP_PASSWORD: 'short' });
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('must be at least 10 characters');

    const viaEnv = await runOnramp(['user', 'password', '--email', agency.email], { ...env, ONRAMP_PASSWORD: 'first password 1' });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toContain(`Password set for ${agency.email}`);
    const session = await signIn(agency.email, 'first password 1');

    const piped = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const { PATH, HOME } = process.env;
      const child = spawn(process.execPath, [onrampBin, 'user', 'password', '--email', agency.email], {
        env: { PATH: PATH ?? '', HOME: HOME ?? '', ...env, LOG_LEVEL: 'warn' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('exit', (code) => resolve({ code, out }));
      child.stdin.end('second password 2\n');
    });
    expect(piped).toMatchObject({ code: 0 });
    // The new password works, the old one and the session opened with it do not.
    expect((await session.get('/console')).status).toBe(303);
    await signIn(agency.email, 'second password 2');
    const browser = new FormClient(stack.url);
    const csrf = csrfOf((await browser.get('/console/login')).text);
    expect((await browser.post('/console/login', { csrf, email: agency.email, password: 'first password 1' })).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses every console form without its own token and changes nothing', async () => {
    const f = await createInvitation(stack, a);
    const owner = await signIn(a.email);
    const other = await signIn(a.email);
    const dash = await owner.get('/console');
    const otherDash = await other.get('/console');
    const clientLogin = await new FormClient(stack.url).get('/login');

    for (const csrf of [
      undefined,
      '',
      'x'.repeat(43),
      formCsrf(otherDash.text, '/console/invitations/bulk'),
      formCsrf(dash.text, '/console/logout'),
      csrfOf(clientLogin.text),
    ]) {
      const res = await owner.post('/console/invitations/bulk', {
        ...(csrf === undefined ? {} : { csrf }),
        action: 'revoke',
        confirm: 'yes',
        ids: f.invitationId,
      });
      expect(res.status).toBe(403);
      expect(res.text).toContain('This form has expired');
    }
    expect((await invitationRow(f.invitationId)).status).toBe('pending');

    const project = await owner.get(`/console/projects/${f.projectId}`);
    const email = `csrf-${unique()}@example.test`;
    const invite = await owner.post(`/console/projects/${f.projectId}/invite`, {
      csrf: formCsrf(dash.text, '/console/invitations/bulk'),
      email,
      first_name: 'Cee',
      last_name: 'Surf',
      send_email: '1',
    });
    expect(invite.status).toBe(403);
    const { rowCount } = await stack.deps.pool.query('select 1 from invitations where email = $1', [email]);
    expect(rowCount).toBe(0);

    const logout = await owner.post('/console/logout', { csrf: formCsrf(project.text, `/console/projects/${f.projectId}/invite`) });
    expect(logout.status).toBe(403);
    expect((await owner.get('/console')).status).toBe(200);

    const anon = new FormClient(stack.url);
    await anon.get('/console/login');
    expect((await anon.post('/console/login', { email: a.email, password: PASSWORD })).status).toBe(403);
  });
});

describe('tenant isolation', () => {
  it("never shows agency B's invitations or projects to agency A, nor acts on B's ids", async () => {
    const mine = await createInvitation(stack, a, { projectName: 'A Visible Project' });
    const theirs = await createInvitation(stack, b, { projectName: 'B Secret Project', firstName: 'Bsecret' });
    const resendable = await createInvitation(stack, b, { projectName: 'B Other Project' });
    const owner = await signIn(a.email);

    const dash = await owner.get('/console?status=all');
    expect(dash.text).toContain(mine.email);
    for (const hidden of [theirs.email, 'B Secret Project', 'Bsecret', theirs.invitationId]) expect(dash.text).not.toContain(hidden);
    const projects = await owner.get('/console/projects');
    expect(projects.text).toContain('A Visible Project');
    expect(projects.text).not.toContain('B Secret Project');

    for (const path of [
      `/console/projects/${theirs.projectId}`,
      `/console?project=${theirs.projectId}`,
      `/console?link=${theirs.invitationId}`,
      '/console/projects/not-a-uuid',
    ]) {
      const res = await owner.get(path);
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('B Secret Project');
      expect(res.text).not.toContain('/invite/');
    }

    const projectPage = await owner.get(`/console/projects/${mine.projectId}`);
    const invite = await owner.post(`/console/projects/${theirs.projectId}/invite`, {
      csrf: formCsrf(projectPage.text, `/console/projects/${mine.projectId}/invite`),
      email: 'intruder@example.test',
      first_name: 'In',
      last_name: 'Truder',
      send_email: '1',
    });
    expect(invite.status).toBe(404);
    const { rowCount } = await stack.deps.pool.query('select 1 from invitations where project_id = $1 and email = $2', [
      theirs.projectId,
      'intruder@example.test',
    ]);
    expect(rowCount).toBe(0);

    // B's ids smuggled into A's bulk form: A's own one is revoked, B's are "not found" and untouched.
    const csrf = formCsrf(dash.text, '/console/invitations/bulk');
    const body = new URLSearchParams({ csrf, action: 'revoke', confirm: 'yes' });
    for (const id of [mine.invitationId, theirs.invitationId]) body.append('ids', id);
    const revoked = await fetch(`${stack.url}/console/invitations/bulk`, {
      method: 'POST',
      headers: { cookie: `onramp_console=${owner.cookies.get('onramp_console')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      redirect: 'manual',
    });
    // Post/Redirect/Get: the outcome is on the page the redirect leads to.
    expect(revoked.status).toBe(303);
    const text = (await owner.get(revoked.headers.get('location')!)).text;
    expect(text).toContain('1 revoked, 1 not found');
    expect(text).not.toContain(theirs.email);
    expect((await invitationRow(mine.invitationId)).status).toBe('revoked');
    expect((await invitationRow(theirs.invitationId)).status).toBe('pending');

    const before = await invitationRow(resendable.invitationId);
    const resent = await owner.post('/console/invitations/bulk', { csrf, action: 'resend', ids: resendable.invitationId });
    expect(resent.status).toBe(303);
    expect((await owner.get(resent.headers.get('location')!)).text).toContain('1 not found');
    expect(await invitationRow(resendable.invitationId)).toEqual(before);
  });
});

describe('the dashboard and the project page', () => {
  it('escapes names, project names and messages everywhere they are shown', async () => {
    const evilProject = await createProject(stack, a, '<script>alert("p")</script> Project');
    await createInvitation(stack, a, { projectId: evilProject, firstName: '<img src=x onerror=alert(1)>' });
    const owner = await signIn(a.email);
    for (const path of ['/console', '/console/projects', `/console/projects/${evilProject}`]) {
      const res = await owner.get(path);
      expect(res.status).toBe(200);
      expect(res.text).not.toContain('<script>alert');
      expect(res.text).not.toContain('<img src=x');
      expect(res.text).toContain('&lt;');
    }
    const page = await owner.get(`/console/projects/${evilProject}`);
    const res = await owner.post(`/console/projects/${evilProject}/invite`, {
      csrf: formCsrf(page.text, `/console/projects/${evilProject}/invite`),
      email: 'not-an-email',
      first_name: '"><b>bold</b>',
      last_name: 'Ok',
      message: '</textarea><script>alert(2)</script>',
      send_email: '1',
    });
    expect(res.status).toBe(422);
    expect(res.text).toContain('<p class="error" id="email-error">Email must be a valid email address</p>');
    expect(res.text).not.toContain('<script>alert');
    expect(res.text).not.toContain('<b>bold</b>');
    expect(res.text).toContain('&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;</textarea>');
  });

  it('invites from the project page, shows field errors, filters, copies the link and pages through', async () => {
    const agency = await createTestAgency(stack, 'Paging');
    await setFirmUserPassword(stack.deps.pool, agency.email, PASSWORD);
    const projectId = await createProject(stack, agency, 'Paging Project');
    const owner = await signIn(agency.email);
    const page = await owner.get(`/console/projects/${projectId}`);
    const csrf = formCsrf(page.text, `/console/projects/${projectId}/invite`);

    const bad = await owner.post(`/console/projects/${projectId}/invite`, { csrf, email: 'ok@example.test', first_name: ' ', last_name: 'Lee' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('<p class="error" id="first_name-error">First name is required</p>');
    expect(bad.text).toContain('value="ok@example.test"');

    const email = `new-${unique()}@example.test`;
    const ok = await owner.post(`/console/projects/${projectId}/invite`, {
      csrf,
      email,
      first_name: 'Nia',
      last_name: 'Lee',
      message: 'Welcome aboard',
      send_email: '1',
    });
    expect(ok.status).toBe(303);
    const after = await owner.get(ok.headers.get('location')!);
    expect(after.text).toContain(`Invited Nia Lee (${email})`);
    const { rows } = await stack.deps.pool.query<{ id: string; status: string; message: string; created_by: string; send_count: number }>(
      'select id, status, message, created_by, send_count from invitations where email = $1',
      [email],
    );
    expect(rows).toEqual([expect.objectContaining({ status: 'pending', message: 'Welcome aboard', created_by: agency.userId, send_count: 1 })]);
    // Inviting again is idempotent and says so.
    const again = await owner.post(`/console/projects/${projectId}/invite`, { csrf, email, first_name: 'Nia', last_name: 'Lee', send_email: '1' });
    expect((await owner.get(again.headers.get('location')!)).text).toContain('already has a pending invitation');

    const f = await createInvitation(stack, agency, { projectId });
    const linked = await owner.get(`/console?link=${f.invitationId}`);
    expect(linked.text).toContain(`<input type="text" id="invite-link" readonly value="${stack.url}/invite/${f.token}"`);

    for (let i = 0; i < 50; i++) await createInvitation(stack, agency, { projectId });
    const first = await owner.get(`/console?project=${projectId}`);
    expect(first.text.match(/<tr data-id=/g)).toHaveLength(50);
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)![1]!.replace(/&amp;/g, '&').replace(/&#61;/g, '=');
    const second = await owner.get(next);
    expect(second.text.match(/<tr data-id=/g)).toHaveLength(2);
    expect(second.text).toContain(email);

    const filtered = await owner.get(`/console?status=all&email=${encodeURIComponent(email.toUpperCase())}`);
    expect(filtered.text.match(/<tr data-id=/g)).toHaveLength(1);
    expect((await owner.get('/console?status=accepted')).text).toContain('No accepted invitations');
  });

  it('gives a member a read-only view and refuses their bulk and invite posts', async () => {
    const f = await createInvitation(stack, a, { projectName: 'Member Visible' });
    const member = await signIn(await addMember(a));
    const dash = await member.get('/console');
    expect(dash.status).toBe(200);
    expect(dash.text).toContain(f.email);
    expect(dash.text).not.toContain('Resend selected');
    expect(dash.text).not.toContain('type="checkbox"');
    expect(dash.text).not.toContain('Copy link');
    expect(dash.text).toContain('Read-only');
    expect((await member.get(`/console?link=${f.invitationId}`)).text).not.toContain('/invite/');

    const project = await member.get(`/console/projects/${f.projectId}`);
    expect(project.text).toContain('Only owners and admins can invite clients.');
    expect(project.text).not.toContain('/invite"');

    // Even with a valid token of their own, the use cases refuse.
    const bulk = await member.post('/console/invitations/bulk', { csrf: csrfOfKind(member, 'bulk'), action: 'revoke', confirm: 'yes', ids: f.invitationId });
    expect(bulk.status).toBe(403);
    expect(bulk.text).toContain('Only agency owners and admins');
    expect((await invitationRow(f.invitationId)).status).toBe('pending');

    const email = `member-invite-${unique()}@example.test`;
    const invite = await member.post(`/console/projects/${f.projectId}/invite`, {
      csrf: csrfOfKind(member, 'invite'),
      email,
      first_name: 'Me',
      last_name: 'Mber',
    });
    expect(invite.status).toBe(403);
    const { rowCount } = await stack.deps.pool.query('select 1 from invitations where email = $1', [email]);
    expect(rowCount).toBe(0);

    const owner = await signIn(a.email);
    const ownerDash = await owner.get('/console');
    expect(ownerDash.text).toContain('Resend selected');
    expect(ownerDash.text).toContain(`value="${f.invitationId}"`);
  });
});

/**
 * A member's pages carry no bulk or invite form, so their token is minted the way the server does it: from
 * the member's own session cookie. This is what a member crafting the request by hand could do.
 */
function csrfOfKind(browser: FormClient, kind: 'bulk' | 'invite'): string {
  return hashToken(stack.deps.appSecret, `console-${kind}:${browser.cookies.get('onramp_console')}`, TokenPurpose.csrf).toString('base64url');
}
