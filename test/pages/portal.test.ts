import { decryptToken } from '@onramp/core';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { deactivateClient, expirePasswordResets } from '../support/state.js';
import { createInvitation, createProject, csrfOf, FormClient, type InvitationFixture } from './fixtures.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const PASSWORD = 'correct horse battery';

/** Accept through the real page and return the signed-in browser. */
async function acceptAs(f: InvitationFixture, password = PASSWORD): Promise<FormClient> {
  const browser = new FormClient(stack.url);
  const page = await browser.get(`/invite/${f.token}`);
  const field: Record<string, string> = page.text.includes('name="new_password"') ? { new_password: password, confirm_password: password } : { password };
  const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), ...field });
  expect(res.status).toBe(303);
  return browser;
}

async function addTask(projectId: string, agencyId: string, title: string, assignees: string[], extra: { description?: string; due?: string } = {}) {
  const { rows } = await stack.deps.pool.query<{ id: string }>(
    'insert into tasks (agency_id, project_id, title, description, due_date) values ($1, $2, $3, $4, $5) returning id',
    [agencyId, projectId, title, extra.description ?? null, extra.due ?? null],
  );
  for (const clientId of assignees) {
    await stack.deps.pool.query('insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)', [rows[0]!.id, clientId, agencyId]);
  }
}

describe('/portal', () => {
  it('shows only the signed-in client’s projects and their own tasks', async () => {
    const shared = await createProject(stack, a, 'Shared Project Alpha');
    const mine = await createInvitation(stack, a, { projectId: shared, firstName: 'Mina' });
    const theirs = await createInvitation(stack, a, { projectId: shared, firstName: 'Theo' });
    const theirsOnly = await createInvitation(stack, a, { email: theirs.email, projectName: 'Theo Private Project' });
    // Another agency with a client of the same email and a project of its own.
    const elsewhere = await createInvitation(stack, b, { email: mine.email, projectName: 'Agency B Secret Project' });
    const mina = await acceptAs(mine);
    await acceptAs(theirs);
    await acceptAs(theirsOnly);
    await acceptAs(elsewhere, 'another password 22');
    await addTask(shared, a.agencyId, 'Send the brand book', [mine.clientId], { description: 'PDF or Figma link', due: '2026-12-01' });
    await addTask(shared, a.agencyId, 'Theo reviews the contract', [theirs.clientId]);
    await addTask(theirsOnly.projectId, a.agencyId, 'Theo private task', [theirs.clientId]);
    const { rows: bTask } = await stack.deps.pool.query<{ id: string }>('select id from projects where id = $1', [elsewhere.projectId]);
    await addTask(bTask[0]!.id, b.agencyId, 'Agency B task', [elsewhere.clientId]);

    const portal = await mina.get('/portal');
    expect(portal.status).toBe(200);
    expect(portal.headers.get('cache-control')).toBe('no-store');
    expect(portal.text).toContain('Shared Project Alpha');
    expect(portal.text).toContain('Send the brand book');
    expect(portal.text).toContain('PDF or Figma link');
    expect(portal.text).toContain('Due 1 Dec 2026');
    for (const hidden of ['Theo reviews the contract', 'Theo Private Project', 'Theo private task', 'Agency B Secret Project', 'Agency B task']) {
      expect(portal.text).not.toContain(hidden);
    }
  });

  it('sends a visitor without a valid session to /login', async () => {
    for (const cookie of [undefined, 'onramp_session=garbage', `onramp_session=${'A'.repeat(43)}`]) {
      const res = await fetch(`${stack.url}/portal`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/login');
    }
  });

  it('ends access at once for a deactivated client', async () => {
    const f = await createInvitation(stack, a);
    const browser = await acceptAs(f);
    expect((await browser.get('/portal')).status).toBe(200);
    await deactivateClient(stack.deps.pool, f.clientId, { stampDeactivatedAt: true, endSessions: true });
    const res = await browser.get('/portal');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
  });

  it('ends access at once for a client removed from every project, even with a live session', async () => {
    const f = await createInvitation(stack, a);
    const browser = await acceptAs(f);
    expect((await browser.get('/portal')).status).toBe(200);
    await stack.deps.pool.query('delete from memberships where client_id = $1', [f.clientId]);
    expect((await browser.get('/portal')).status).toBe(303);
    const { rows } = await stack.deps.pool.query('select 1 from client_sessions where client_id = $1 and revoked_at is null', [f.clientId]);
    expect(rows).toHaveLength(1);
  });
});

describe('/login and /logout', () => {
  it('signs in with email and password and out again, with CSRF on both forms', async () => {
    const f = await createInvitation(stack, a);
    await acceptAs(f);
    const browser = new FormClient(stack.url);
    const login = await browser.get('/login');
    expect(login.status).toBe(200);
    const csrfCookie = login.headers.getSetCookie().find((c) => c.startsWith('onramp_csrf='))!;
    expect(csrfCookie).toMatch(/HttpOnly/);
    expect(csrfCookie).toMatch(/SameSite=Lax/);

    expect((await browser.post('/login', { email: f.email, password: PASSWORD })).status).toBe(403);
    const wrong = await browser.post('/login', { csrf: csrfOf(login.text), email: f.email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Email or password is incorrect.');
    const ok = await browser.post('/login', { csrf: csrfOf(login.text), email: ` ${f.email.toUpperCase()} `, password: PASSWORD });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/portal');
    const portal = await browser.get('/portal');
    expect(portal.status).toBe(200);
    expect((await browser.get('/login')).headers.get('location')).toBe('/portal');

    const session = browser.cookies.get('onramp_session')!;
    expect((await browser.post('/logout', {})).status).toBe(403);
    expect((await browser.get('/portal')).status).toBe(200);
    const out = await browser.post('/logout', { csrf: csrfOf(portal.text) });
    expect(out.status).toBe(303);
    // Back to the agency's own sign-in page.
    expect(out.headers.get('location')).toMatch(/^\/a\/agency-a-[0-9a-f]+\/login$/);
    // The old cookie is dead on the server, not just cleared in this browser.
    const replay = await fetch(`${stack.url}/portal`, { headers: { cookie: `onramp_session=${session}` }, redirect: 'manual' });
    expect(replay.status).toBe(303);
  });

  it('signs a client of two agencies into the agency whose password matches', async () => {
    const inA = await createInvitation(stack, a);
    const inB = await createInvitation(stack, b, { email: inA.email, projectName: 'Only in B' });
    await acceptAs(inA, 'password for agency a');
    await acceptAs(inB, 'password for agency b');
    const browser = new FormClient(stack.url);
    const login = await browser.get('/login');
    expect((await browser.post('/login', { csrf: csrfOf(login.text), email: inA.email, password: 'password for agency b' })).status).toBe(303);
    const portal = await browser.get('/portal');
    expect(portal.text).toContain('Only in B');
  });

  it('refuses a deactivated client at login', async () => {
    const f = await createInvitation(stack, a);
    await acceptAs(f);
    await deactivateClient(stack.deps.pool, f.clientId);
    const browser = new FormClient(stack.url);
    const login = await browser.get('/login');
    expect((await browser.post('/login', { csrf: csrfOf(login.text), email: f.email, password: PASSWORD })).status).toBe(401);
  });

  it('slows down password guessing per address (429 after 10 tries)', async () => {
    const f = await createInvitation(stack, b);
    await acceptAs(f);
    const browser = new FormClient(stack.url);
    const csrf = csrfOf((await browser.get('/login')).text);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await browser.post('/login', { csrf, email: f.email, password: `guess number ${i}` })).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});

describe('/forgot and /reset/:token', () => {
  async function resetTokensFor(clientId: string): Promise<string[]> {
    const { rows } = await stack.deps.pool.query<{ token_ciphertext: Buffer }>(
      `select token_ciphertext from emails where kind = 'password_reset' and client_id = $1 order by created_at`,
      [clientId],
    );
    return rows.map((r) => decryptToken(stack.deps.appSecret, r.token_ciphertext));
  }

  it('answers the same for any address and mails a single-use link to a real one', async () => {
    const f = await createInvitation(stack, a);
    const first = await acceptAs(f);
    const browser = new FormClient(stack.url);
    const forgot = await browser.get('/forgot');
    expect((await browser.post('/forgot', { email: f.email })).status).toBe(403);
    const unknown = await browser.post('/forgot', { csrf: csrfOf(forgot.text), email: 'nobody@example.test' });
    const known = await browser.post('/forgot', { csrf: csrfOf(forgot.text), email: f.email });
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(unknown.text).toContain('If an account exists for nobody@example.test, we sent a link');
    expect(known.text).toContain(`If an account exists for ${f.email}, we sent a link`);

    const [token] = await resetTokensFor(f.clientId);
    expect(token).toBeDefined();
    const { rows: resets } = await stack.deps.pool.query<{ expires_in: number }>(
      `select extract(epoch from expires_at - created_at)::int as expires_in from password_resets where client_id = $1`,
      [f.clientId],
    );
    expect(resets).toEqual([{ expires_in: 3600 }]);

    // Opening the link twice uses nothing up.
    expect((await browser.get(`/reset/${token}`)).status).toBe(200);
    const page = await browser.get(`/reset/${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect((await browser.post(`/reset/${token}`, { new_password: 'brand new password', confirm_password: 'brand new password' })).status).toBe(403);
    const short = await browser.post(`/reset/${token}`, { csrf: csrfOf(page.text), new_password: 'short', confirm_password: 'short' });
    expect(short.status).toBe(422);
    const done = await browser.post(`/reset/${token}`, { csrf: csrfOf(page.text), new_password: 'brand new password', confirm_password: 'brand new password' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/portal');
    expect((await browser.get('/portal')).status).toBe(200);
    // Every other session ended; the old password no longer works, the new one does.
    expect((await first.get('/portal')).status).toBe(303);
    const login = new FormClient(stack.url);
    const csrf = csrfOf((await login.get('/login')).text);
    expect((await login.post('/login', { csrf, email: f.email, password: PASSWORD })).status).toBe(401);
    expect((await login.post('/login', { csrf, email: f.email, password: 'brand new password' })).status).toBe(303);

    const reused = await browser.post(`/reset/${token}`, {
      csrf: csrfOf(page.text),
      new_password: 'third password here',
      confirm_password: 'third password here',
    });
    expect(reused.status).toBe(410);
    expect((await browser.get(`/reset/${token}`)).status).toBe(410);
  });

  it('refuses an expired or unknown reset link with 410', async () => {
    const f = await createInvitation(stack, a);
    await acceptAs(f);
    const browser = new FormClient(stack.url);
    const forgot = await browser.get('/forgot');
    await browser.post('/forgot', { csrf: csrfOf(forgot.text), email: f.email });
    const [token] = await resetTokensFor(f.clientId);
    const page = await browser.get(`/reset/${token}`);
    await expirePasswordResets(stack.deps.pool, f.clientId);
    expect((await browser.get(`/reset/${token}`)).status).toBe(410);
    const res = await browser.post(`/reset/${token}`, { csrf: csrfOf(page.text), new_password: 'brand new password', confirm_password: 'brand new password' });
    expect(res.status).toBe(410);
    const { rows } = await stack.deps.pool.query('select 1 from password_resets where client_id = $1 and used_at is not null', [f.clientId]);
    expect(rows).toHaveLength(0);
    const unknown = await browser.get(`/reset/${'B'.repeat(43)}`);
    expect(unknown.status).toBe(410);
    expect(unknown.text).toContain('This link is no longer valid');
  });
});
