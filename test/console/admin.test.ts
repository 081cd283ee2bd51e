// The administration pages at HTTP level: what each role sees and may do on Settings, Team, API keys and
// Profile (the server checks every write, whatever the page shows), other agencies' ids, the settings
// preview, the teammate join page, and the client's dead-link page naming the agency.
import { acceptTeammateInvitation, createApiKeyFor, resolveConsoleSession, setFirmUserPassword } from '@onramp/core';
import { csrfToken } from '../../connector-api/src/pages/csrf.js';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { csrfOf, FormClient } from '../pages/fixtures.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;
const PASSWORD = 'console password 42';
const people: Record<'admin' | 'member' | 'other', { id: string; email: string }> = {} as never;

beforeAll(async () => {
  stack = await startStack();
  a = await createTestAgency(stack, 'Pages A');
  b = await createTestAgency(stack, 'Pages B');
  await setFirmUserPassword(stack.deps.pool, a.email, PASSWORD);
  await setFirmUserPassword(stack.deps.pool, b.email, PASSWORD);
  const join = async (agency: TestAgency, role: 'admin' | 'member', first: string) => {
    const email = `${first.toLowerCase()}-${Date.now()}@${role}.test`;
    const res = await client(stack.url, agency.key).post('/v1/users', { email, role });
    const mail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const token = /\/console\/join\/([A-Za-z0-9_-]{43})/.exec(mail.parsed.text ?? '')![1]!;
    await acceptTeammateInvitation(stack.deps, { token, first_name: first, last_name: role, password: PASSWORD });
    return { id: res.body.id as string, email };
  };
  people.admin = await join(a, 'admin', 'Ada');
  people.member = await join(a, 'member', 'Mo');
  people.other = await join(b, 'member', 'Bo');
});
afterAll(async () => {
  await stack.close();
});

async function signIn(email: string): Promise<FormClient & { csrf: (kind: string) => string }> {
  const browser = new FormClient(stack.url);
  const page = await browser.get('/console/login');
  const res = await browser.post('/console/login', { csrf: csrfOf(page.text), email, password: PASSWORD });
  expect(res.status).toBe(303);
  // A valid CSRF token of any form kind, as a hand-made request from the signed-in user would carry.
  return Object.assign(browser, { csrf: (kind: string) => csrfToken(stack.deps, `console-${kind}:${browser.cookies.get('onramp_console')}`) });
}

const agencyRow = async (id: string) => (await stack.deps.pool.query('select * from agencies where id = $1', [id])).rows[0];
const userCount = async (id: string) => (await stack.deps.pool.query('select 1 from firm_users where agency_id = $1', [id])).rowCount;

describe('Settings', () => {
  it('a member sees the settings read-only and a forged save is refused (403), nothing changes', async () => {
    const member = await signIn(people.member.email);
    const page = await member.get('/console/settings');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Only owners and admins can change these settings.');
    expect(page.text).not.toContain('Save settings');
    expect(page.text).toMatch(/id="display_name"[^>]* disabled/);
    const before = await agencyRow(a.agencyId);
    const res = await member.post('/console/settings', { csrf: member.csrf('settings'), name: 'Hijacked', brand_color: '#000000', invite_expiry_days: '1' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('Only agency owners and admins can change the agency settings.');
    expect(await agencyRow(a.agencyId)).toEqual(before);
  });

  it('a bad value is shown next to its field (422) and nothing is saved; a good one saves (303)', async () => {
    const admin = await signIn(people.admin.email);
    expect((await admin.get('/console/settings')).status).toBe(200);
    const before = await agencyRow(a.agencyId);
    const bad = await admin.post('/console/settings', {
      csrf: admin.csrf('settings'),
      name: before.name,
      brand_color: 'blue',
      logo_url: 'http://x.test/l.png',
      invite_expiry_days: '0',
    });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('id="brand_color-error"');
    expect(bad.text).toContain('id="logo_url-error"');
    expect(bad.text).toContain('id="invite_expiry_days-error"');
    expect(bad.text).toContain('value="blue"');
    expect(await agencyRow(a.agencyId)).toEqual(before);
    const ok = await admin.post('/console/settings', {
      csrf: admin.csrf('settings'),
      name: before.name,
      display_name: 'Pages Studio',
      brand_color: '#0F766E',
      invite_expiry_days: '5',
    });
    expect(ok.status).toBe(303);
    expect(await agencyRow(a.agencyId)).toMatchObject({ display_name: 'Pages Studio', brand_color: '#0f766e', invite_expiry_days: 5 });
  });

  it('the preview is the email template with the draft values, escaped, sandboxed and framed only by the console', async () => {
    const member = await signIn(people.member.email);
    const res = await member.get(
      `/console/settings/preview?display_name=${encodeURIComponent('<script>alert(1)</script>')}&brand_color=%23aa0000&invite_expiry_days=999`,
    );
    expect(res.status).toBe(200);
    expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('background:#aa0000');
    expect(res.text).toContain('Mo member from &lt;script&gt;');
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox .*frame-ancestors 'self'$/);
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    // The out-of-range expiry is left out (the saved one applies), as it could not be saved either.
    const days = /expires on [^(]+\((\S+)\)/.exec(res.text)![1]!;
    expect(Math.round((Date.parse(days) - Date.now()) / 86_400_000)).toBe((await agencyRow(a.agencyId)).invite_expiry_days);
    expect((await new FormClient(stack.url).get('/console/settings/preview')).status).toBe(303);
  });
});

describe('Team', () => {
  it('a member sees the list without write controls; forged invites and deactivations are refused (403)', async () => {
    const member = await signIn(people.member.email);
    const page = await member.get('/console/team');
    expect(page.status).toBe(200);
    expect(page.text).toContain(people.admin.email);
    expect(page.text).not.toContain('Invite a teammate');
    expect(page.text).not.toContain('Deactivate');
    expect(page.text).not.toContain('<select name="role"');
    const count = await userCount(a.agencyId);
    expect((await member.post('/console/team/invite', { csrf: member.csrf('team'), email: 'x@agency.test', role: 'admin' })).status).toBe(403);
    expect((await member.post(`/console/team/${people.admin.id}/deactivate`, { csrf: member.csrf('team') })).status).toBe(403);
    expect((await member.get(`/console/team/${people.admin.id}/deactivate`)).status).toBe(403);
    expect((await member.post(`/console/team/${people.admin.id}/role`, { csrf: member.csrf('team'), role: 'member' })).status).toBe(403);
    expect(await userCount(a.agencyId)).toBe(count);
    expect((await client(stack.url, a.key).get(`/v1/users/${people.admin.id}`)).body).toMatchObject({ status: 'active', role: 'admin' });
  });

  it('an admin invites but changes no roles and deactivates no owner (403); an owner sees the role controls', async () => {
    const admin = await signIn(people.admin.email);
    const page = await admin.get('/console/team');
    expect(page.text).toContain('Invite a teammate');
    expect(page.text).not.toContain('<select name="role"');
    expect((await admin.post(`/console/team/${a.userId}/role`, { csrf: admin.csrf('team'), role: 'member' })).status).toBe(403);
    expect((await admin.post(`/console/team/${a.userId}/deactivate`, { csrf: admin.csrf('team') })).status).toBe(403);
    const bad = await admin.post('/console/team/invite', { csrf: admin.csrf('team'), email: 'not an email', role: 'member' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('id="email-error"');
    const owner = await signIn(a.email);
    const ownerPage = await owner.get('/console/team');
    expect(ownerPage.text).toContain(`<select name="role" aria-label="Role of ${people.admin.email}"`);
    const last = await owner.post(`/console/team/${a.userId}/deactivate`, { csrf: owner.csrf('team') });
    expect(last.status).toBe(409);
    expect(last.text).toContain('last active owner');
  });

  it("another agency's teammate is not found (404) from every team route, and is left as they were", async () => {
    const owner = await signIn(a.email);
    expect((await owner.get(`/console/team/${people.other.id}/deactivate`)).status).toBe(404);
    expect((await owner.post(`/console/team/${people.other.id}/deactivate`, { csrf: owner.csrf('team') })).status).toBe(404);
    expect((await owner.post(`/console/team/${people.other.id}/role`, { csrf: owner.csrf('team'), role: 'admin' })).status).toBe(404);
    expect((await owner.post(`/console/team/${people.other.id}/resend`, { csrf: owner.csrf('team') })).status).toBe(404);
    expect((await client(stack.url, b.key).get(`/v1/users/${people.other.id}`)).body).toMatchObject({ status: 'active', role: 'member' });
  });
});

describe('API keys', () => {
  it("a member creates their own key (shown once) and sees only their keys; another user's or agency's key is 404", async () => {
    const member = await signIn(people.member.email);
    expect((await member.get('/console/api-keys')).status).toBe(200);
    const created = await member.post('/console/api-keys', { csrf: member.csrf('api-keys'), name: 'Reporting' });
    expect(created.status).toBe(201);
    const key = /id="new-key-value" value="([^"]+)"/.exec(created.text)![1]!;
    expect((await client(stack.url, key).get('/v1/me')).body.user.id).toBe(people.member.id);
    expect((await client(stack.url, key).post('/v1/projects', { name: 'x' })).status).toBe(403);
    const list = await member.get('/console/api-keys');
    expect(list.text).not.toContain(key);
    expect(list.text).not.toContain(a.email);
    const principalB = (await resolveConsoleSession(stack.deps, (await signIn(b.email)).cookies.get('onramp_console')))!.principal;
    const keyB = await createApiKeyFor(stack.deps, principalB, { name: 'B key' });
    const ownerKeys = (await client(stack.url, a.key).get('/v1/api-keys')).body.data as Array<{ id: string; owner: { id: string } }>;
    const ownersKey = ownerKeys.find((k) => k.owner.id === a.userId)!.id;
    for (const id of [ownersKey, keyB.id]) {
      expect((await member.get(`/console/api-keys/${id}/revoke`)).status).toBe(404);
      expect((await member.post(`/console/api-keys/${id}/revoke`, { csrf: member.csrf('api-keys') })).status).toBe(404);
    }
    expect((await client(stack.url, keyB.key!).get('/v1/me')).status).toBe(200);
    expect((await client(stack.url, a.key).get('/v1/me')).status).toBe(200);
  });
});

describe('Profile', () => {
  it('any role sets their name; a wrong current password is refused on its field; this session stays', async () => {
    const member = await signIn(people.member.email);
    expect((await member.get('/console/profile')).status).toBe(200);
    const named = await member.post('/console/profile/name', { csrf: member.csrf('profile'), first_name: 'Morgan', last_name: 'Member' });
    expect(named.status).toBe(303);
    expect((await member.get('/console/profile')).text).toContain('Morgan Member');
    const wrong = await member.post('/console/profile/password', {
      csrf: member.csrf('profile'),
      current_password: 'nope nope nope',
      new_password: 'another passphrase',
      confirm_password: 'another passphrase',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain('id="current_password-error"');
    const other = await signIn(people.member.email);
    const ok = await member.post('/console/profile/password', {
      csrf: member.csrf('profile'),
      current_password: PASSWORD,
      new_password: 'another passphrase',
      confirm_password: 'another passphrase',
    });
    expect(ok.status).toBe(303);
    expect((await member.get('/console/profile')).status).toBe(200);
    expect((await other.get('/console/profile')).status).toBe(303);
    await setFirmUserPassword(stack.deps.pool, people.member.email, PASSWORD);
  });
});

describe('dead links name their agency', () => {
  beforeAll(async () => {
    await client(stack.url, a.key).patch('/v1/agency', { display_name: 'Pages Studio', brand_color: '#0f766e' });
  });

  it('the teammate join page: unknown is neutral, a used link names the agency, a form without its token is refused', async () => {
    const unknown = await new FormClient(stack.url).get(`/console/join/${'A'.repeat(43)}`);
    expect(unknown.status).toBe(410);
    expect(unknown.text).toContain('This invitation is no longer valid');
    const email = `dead-${Date.now()}@agency.test`;
    await client(stack.url, a.key).post('/v1/users', { email, role: 'member' });
    const mail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const token = /\/console\/join\/([A-Za-z0-9_-]{43})/.exec(mail.parsed.text ?? '')![1]!;
    const visitor = new FormClient(stack.url);
    const open = await visitor.get(`/console/join/${token}`);
    expect(open.status).toBe(200);
    expect((await visitor.post(`/console/join/${token}`, { first_name: 'A', last_name: 'B', password: PASSWORD, confirm_password: PASSWORD })).status).toBe(
      403,
    );
    const joined = await visitor.post(`/console/join/${token}`, {
      csrf: csrfOf(open.text),
      first_name: 'Dee',
      last_name: 'Dead',
      password: PASSWORD,
      confirm_password: PASSWORD,
    });
    expect(joined.status).toBe(303);
    expect(joined.headers.get('location')).toBe('/console');
    const used = await new FormClient(stack.url).get(`/console/join/${token}`);
    expect(used.status).toBe(410);
    expect(used.text).toContain('Ask Pages Studio to send you a new one.');
  });

  it("a revoked client link shows the agency's name and colour, and cannot be accepted", async () => {
    const api = client(stack.url, a.key);
    const project = await api.post('/v1/projects', { name: 'Dead link project' });
    const email = `gone-${Date.now()}@client.test`;
    const inv = await api.post(`/v1/projects/${project.body.id}/invitations`, { email, first_name: 'G', last_name: 'One' });
    const mail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const token = /\/invite\/([A-Za-z0-9_-]{43})/.exec(mail.parsed.text ?? '')![1]!;
    await api.post(`/v1/invitations/${inv.body.id}/revoke`);
    const visitor = new FormClient(stack.url);
    const page = await visitor.get(`/invite/${token}`);
    expect(page.status).toBe(410);
    expect(page.text).toContain('Ask Pages Studio to send you a new one.');
    expect(page.text).toContain('--brand:#0f766e');
    const post = await visitor.post(`/invite/${token}/accept`, { csrf: 'x', new_password: 'client passphrase', confirm_password: 'client passphrase' });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect((await api.get(`/v1/invitations/${inv.body.id}`)).body.status).toBe('revoked');
  });
});
