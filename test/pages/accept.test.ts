import { decryptToken, resendInvitation, revokeInvitation } from '@onramp/core';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { call } from '../support/http.js';
import { deactivateClient } from '../support/state.js';
import { createInvitation, csrfOf, FormClient, invitationState, ownerPrincipal, type InvitationFixture } from './fixtures.js';

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

async function openInvite(f: InvitationFixture) {
  const browser = new FormClient(stack.url);
  const page = await browser.get(`/invite/${f.token}`);
  return { browser, page };
}

async function expectUnchanged(f: InvitationFixture, status = 'pending') {
  const s = await invitationState(stack, f);
  expect(s).toMatchObject({ status, memberships: 0, acceptedEvents: 0, acceptedEmails: [] });
}

describe('GET /invite/:token', () => {
  it('shows the agency, the project and the message, and never consumes the link', async () => {
    await stack.deps.pool.query('update agencies set display_name = $2, brand_color = $3 where id = $1', [a.agencyId, 'Northwind Studio', '#0f766e']);
    const f = await createInvitation(stack, a, { projectName: 'Website relaunch', message: 'Hi Casey,\nwelcome aboard!', firstName: 'Casey' });
    for (let i = 0; i < 3; i++) {
      const { page } = await openInvite(f);
      expect(page.status).toBe(200);
      expect(page.text).toContain('Northwind Studio');
      expect(page.text).toContain('#0f766e');
      expect(page.text).toContain('Website relaunch');
      expect(page.text).toContain('Hi Casey,\nwelcome aboard!');
      expect(page.text).toContain('Set your password');
      expect(page.text).toContain('name="confirm_password"');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('script-src');
      expect(page.text).not.toContain('<script');
    }
    await expectUnchanged(f);
    const { rows } = await stack.deps.pool.query('select 1 from client_sessions where client_id = $1', [f.clientId]);
    expect(rows).toHaveLength(0);
  });

  it('asks an existing client for their password and offers a reset link', async () => {
    const f = await createInvitation(stack, a, { password: PASSWORD });
    const { page } = await openInvite(f);
    expect(page.status).toBe(200);
    expect(page.text).toContain('>Accept</button>');
    expect(page.text).toContain('name="password"');
    expect(page.text).not.toContain('name="new_password"');
    expect(page.text).toContain('href="/forgot"');
  });

  it('escapes agency, project, message and client names', async () => {
    const evil = '<script>alert(1)</script>';
    await stack.deps.pool.query('update agencies set display_name = $2 where id = $1', [b.agencyId, `B ${evil}`]);
    const f = await createInvitation(stack, b, { projectName: `P ${evil}`, message: `"><img src=x onerror=alert(1)> ${evil}`, firstName: `F ${evil}` });
    const { page } = await openInvite(f);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script>');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('B &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).toContain('P &lt;script&gt;');
    expect(page.text).toContain('F &lt;script&gt;');
    expect(page.text).toContain('&quot;&gt;&lt;img src&#61;x onerror&#61;alert(1)&gt;');
  });

  it.each([
    ['too short', 'abc'],
    ['well-formed but unknown', 'A'.repeat(43)],
    ['markup', encodeURIComponent('<script>x</script>')],
  ])('answers a %s token with the same 410 page, naming nobody', async (_name, token) => {
    const res = await new FormClient(stack.url).get(`/invite/${token}`);
    expect(res.status).toBe(410);
    expect(res.text).toContain('This invitation is no longer valid');
    expect(res.text).toContain('Ask the person who invited you');
    expect(res.text).not.toContain('<script>x');
  });
});

describe('POST /invite/:token/accept (form)', () => {
  it('sets the password, activates the client, joins the project, records one event and notifies only the inviter', async () => {
    const f = await createInvitation(stack, a);
    const { browser, page } = await openInvite(f);
    const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), new_password: PASSWORD, confirm_password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/portal');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('onramp_session='))!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/; Secure/); // the test stack's PUBLIC_BASE_URL is http
    const expires = new Date(/Expires=([^;]+)/.exec(cookie)![1]!).getTime();
    expect(expires - Date.now()).toBeGreaterThan(29 * 86400_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(30 * 86400_000);

    const s = await invitationState(stack, f);
    expect(s).toMatchObject({ status: 'accepted', clientStatus: 'active', memberships: 1, acceptedEvents: 1 });
    expect(s.acceptedEmails).toEqual([{ to_address: a.email, firm_user_id: a.userId }]);
    const { rows } = await stack.deps.pool.query<{ password_hash: string; activated_at: Date | null }>(
      'select password_hash, activated_at from clients where id = $1',
      [f.clientId],
    );
    expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
    expect(rows[0]!.activated_at).toBeInstanceOf(Date);
    const { rows: ev } = await stack.deps.pool.query('select data from events where type = $1 and subject_id = $2', ['invitation.accepted', f.invitationId]);
    expect(ev[0]!.data).toEqual({ project_id: f.projectId, client_id: f.clientId });

    const portal = await browser.get('/portal');
    expect(portal.status).toBe(200);
    expect(portal.text).toContain('Welcome, Casey');

    // The link is spent. Its own client, signed in, is taken to the portal; anyone else gets the 410 page
    // naming the agency; a second POST changes nothing.
    const home = await browser.get(`/invite/${f.token}`);
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/portal');
    const again = await new FormClient(stack.url).get(`/invite/${f.token}`);
    expect(again.status).toBe(410);
    expect(again.text).toContain('Ask Northwind Studio to send you a new one');
    const replay = await browser.post(`/invite/${f.token}/accept`, {
      csrf: csrfOf(page.text),
      new_password: 'another password 1',
      confirm_password: 'another password 1',
    });
    expect(replay.status).toBe(410);
    const after = await invitationState(stack, f);
    expect(after).toMatchObject({ memberships: 1, acceptedEvents: 1 });
    expect(after.acceptedEmails).toHaveLength(1);
    const { rows: pw } = await stack.deps.pool.query<{ password_hash: string }>('select password_hash from clients where id = $1', [f.clientId]);
    expect(pw[0]!.password_hash).toBe(rows[0]!.password_hash);
  });

  it('refuses a revoked link with 410 and changes nothing', async () => {
    const f = await createInvitation(stack, a);
    const { browser, page } = await openInvite(f);
    await revokeInvitation(stack.deps, ownerPrincipal(a), f.invitationId);
    expect((await browser.get(`/invite/${f.token}`)).status).toBe(410);
    const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), new_password: PASSWORD, confirm_password: PASSWORD });
    expect(res.status).toBe(410);
    expect(res.text).toContain('This invitation is no longer valid');
    await expectUnchanged(f, 'revoked');
  });

  it('refuses the old link after a resend rotated it; the new link works', async () => {
    const f = await createInvitation(stack, a);
    const { browser, page } = await openInvite(f);
    await resendInvitation(stack.deps, ownerPrincipal(a), f.invitationId);
    expect((await browser.get(`/invite/${f.token}`)).status).toBe(410);
    const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), new_password: PASSWORD, confirm_password: PASSWORD });
    expect(res.status).toBe(410);
    await expectUnchanged(f);
    const { rows } = await stack.deps.pool.query<{ token_ciphertext: Buffer }>('select token_ciphertext from invitations where id = $1', [f.invitationId]);
    const fresh = decryptToken(stack.deps.appSecret, rows[0]!.token_ciphertext);
    expect((await browser.get(`/invite/${fresh}`)).status).toBe(200);
  });

  it('refuses an expired link with 410 and changes nothing', async () => {
    const f = await createInvitation(stack, a, { expiresIn: -60 });
    const browser = new FormClient(stack.url);
    const page = await browser.get(`/invite/${f.token}`);
    expect(page.status).toBe(410);
    expect(page.text).toContain('Ask Northwind Studio');
    const json = await call(stack.url, 'POST', `/invite/${f.token}/accept`, { body: { new_password: PASSWORD } });
    expect(json.status).toBe(410);
    await expectUnchanged(f);
  });

  it('refuses a deactivated client with 410', async () => {
    const f = await createInvitation(stack, a);
    const { browser, page } = await openInvite(f);
    await deactivateClient(stack.deps.pool, f.clientId);
    expect((await browser.get(`/invite/${f.token}`)).status).toBe(410);
    const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), new_password: PASSWORD, confirm_password: PASSWORD });
    expect(res.status).toBe(410);
    await expectUnchanged(f);
  });

  it('answers 403 without a valid CSRF field, and changes nothing', async () => {
    const f = await createInvitation(stack, a);
    const other = await createInvitation(stack, a);
    const { browser } = await openInvite(f);
    const otherPage = await browser.get(`/invite/${other.token}`);
    for (const csrf of [undefined, '', 'x'.repeat(43), csrfOf(otherPage.text)]) {
      const res = await browser.post(`/invite/${f.token}/accept`, {
        ...(csrf === undefined ? {} : { csrf }),
        new_password: PASSWORD,
        confirm_password: PASSWORD,
      });
      expect(res.status).toBe(403);
      expect(res.text).toContain('This form has expired');
    }
    // A cross-site form can post text/plain; it is not JSON, so it needs the field too.
    const plain = await fetch(`${stack.url}/invite/${f.token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"new_password":"correct horse battery"}',
    });
    expect(plain.status).toBe(403);
    await expectUnchanged(f);
  });

  it('re-renders the form with a 422 for a short or mismatched password and keeps the invitation pending', async () => {
    const f = await createInvitation(stack, a);
    const { browser, page } = await openInvite(f);
    const short = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), new_password: 'short', confirm_password: 'short' });
    expect(short.status).toBe(422);
    expect(short.text).toContain('Password must be at least 10 characters');
    expect(short.text).toContain('Set your password');
    const mismatch = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(short.text), new_password: PASSWORD, confirm_password: `${PASSWORD}!` });
    expect(mismatch.status).toBe(422);
    expect(mismatch.text).toContain('Confirmation does not match the password');
    await expectUnchanged(f);
  });

  it('lets an existing client accept with their password; a wrong one is a 422 and leaves it pending', async () => {
    const f = await createInvitation(stack, a, { password: PASSWORD });
    const { rows: before } = await stack.deps.pool.query<{ password_hash: string }>('select password_hash from clients where id = $1', [f.clientId]);
    const { browser, page } = await openInvite(f);
    const wrong = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), password: 'not my password' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('Password is incorrect');
    await expectUnchanged(f);
    const ok = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), password: PASSWORD });
    expect(ok.status).toBe(303);
    const s = await invitationState(stack, f);
    expect(s).toMatchObject({ status: 'accepted', clientStatus: 'active', memberships: 1, acceptedEvents: 1 });
    const { rows: after } = await stack.deps.pool.query<{ password_hash: string }>('select password_hash from clients where id = $1', [f.clientId]);
    expect(after[0]!.password_hash).toBe(before[0]!.password_hash);
  });
});

describe('POST /invite/:token/accept (JSON)', () => {
  it('accepts without a CSRF field and answers with the redirect and ids', async () => {
    const f = await createInvitation(stack, b);
    const res = await call(stack.url, 'POST', `/invite/${f.token}/accept`, { body: { new_password: PASSWORD } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'accepted', redirect: '/portal', client_id: f.clientId, project_id: f.projectId });
    expect(res.headers.getSetCookie().some((c) => c.startsWith('onramp_session='))).toBe(true);
    const gone = await call(stack.url, 'POST', `/invite/${f.token}/accept`, { body: { new_password: PASSWORD } });
    expect(gone.status).toBe(410);
    expect(gone.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(gone.body).toMatchObject({ status: 410, code: 'gone' });
  });

  it('answers malformed JSON with a 400 problem and changes nothing', async () => {
    const f = await createInvitation(stack, b);
    const res = await call(stack.url, 'POST', `/invite/${f.token}/accept`, { rawBody: '{"new_password": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'malformed_json' });
    await expectUnchanged(f);
  });

  it('names the field in a 422 problem', async () => {
    const f = await createInvitation(stack, b);
    const res = await call(stack.url, 'POST', `/invite/${f.token}/accept`, { body: { new_password: 'short' } });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'new_password', message: 'must be at least 10 characters' }]);
    await expectUnchanged(f);
  });

  it('lets exactly one of many concurrent accepts win: one membership, one event, one email', async () => {
    const f = await createInvitation(stack, b);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call(stack.url, 'POST', `/invite/${f.token}/accept`, { body: { new_password: PASSWORD } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 410, 410, 410, 410, 410]);
    const s = await invitationState(stack, f);
    expect(s).toMatchObject({ status: 'accepted', memberships: 1, acceptedEvents: 1 });
    expect(s.acceptedEmails).toEqual([{ to_address: b.email, firm_user_id: b.userId }]);
  });
});
