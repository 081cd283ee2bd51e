// Agency administration through the API: settings and branding, the team (teammate invitations, roles,
// deactivation), API keys, and the caller's own profile, against real PostgreSQL, Redis, worker and SMTP.
import {
  acceptInvitation,
  acceptTeammateInvitation,
  loginFirmUser,
  lookupInvitationToken,
  lookupTeammateInvitation,
  resolveConsoleSession,
} from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import type { ReceivedMail } from '../support/smtp.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ env: { RESEND_MIN_INTERVAL_SECONDS: '0' } });
});
afterAll(async () => {
  await stack.close();
});

const uid = () => Math.random().toString(36).slice(2, 10);
const db = () => stack.deps.pool;
const mailTo = (to: string, subject?: RegExp) => (m: ReceivedMail) =>
  m.envelopeTo.some((t) => t.toLowerCase() === to.toLowerCase()) && (subject ? subject.test(m.parsed.subject ?? '') : true);
const linkIn = (m: ReceivedMail, path: string) => {
  const found = new RegExp(`${path}/([A-Za-z0-9_-]{43})`).exec(m.parsed.text ?? '');
  if (!found) throw new Error(`no ${path} link in: ${m.parsed.text}`);
  return found[1]!;
};

/** A teammate invited by the owner and joined over the emailed link: their key and id. */
async function joinTeammate(agency: TestAgency, role: 'admin' | 'member', first = 'Tess', last = 'Mate') {
  const email = `${role}-${uid()}@agency.test`;
  const invited = await client(stack.url, agency.key).post('/v1/users', { email, role });
  expect(invited.status).toBe(201);
  const mail = await stack.smtp!.waitFor(mailTo(email));
  const token = linkIn(mail, '/console/join');
  const session = await acceptTeammateInvitation(stack.deps, { token, first_name: first, last_name: last, password: 'a long passphrase 1' });
  const key = await client(stack.url, agency.key).get('/v1/me'); // the owner's key still works
  expect(key.status).toBe(200);
  const { rows } = await db().query<{ id: string }>('select id from firm_users where agency_id = $1 and email = $2', [agency.agencyId, email]);
  // The teammate makes their own key through the API, with a console principal's rights.
  const principal = (await resolveConsoleSession(stack.deps, session.token))!.principal;
  const { createApiKeyFor } = await import('@onramp/core');
  const created = await createApiKeyFor(stack.deps, principal, { name: 'tests' });
  return { id: rows[0]!.id, email, key: created.key!, sessionToken: session.token };
}

async function newProject(agency: TestAgency) {
  const res = await client(stack.url, agency.key).post('/v1/projects', { name: `Project ${uid()}` });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('GET/PATCH /v1/agency', () => {
  it('an owner changes the branding; the event names the changed fields; GET shows it', async () => {
    const a = await createTestAgency(stack, 'Acme');
    const api = client(stack.url, a.key);
    const before = await api.get('/v1/agency');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ id: a.agencyId, brand_color: '#4f46e5', invite_expiry_days: 7, display_name: null, default_message: null });
    const res = await api.patch('/v1/agency', {
      display_name: 'Acme Studio',
      sender_name: 'Acme Onboarding',
      brand_color: '#FF5500',
      logo_url: 'https://cdn.acme.test/logo.png',
      invite_expiry_days: 3,
      default_message: 'Looking forward to working with you.',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      display_name: 'Acme Studio',
      sender_name: 'Acme Onboarding',
      brand_color: '#ff5500',
      logo_url: 'https://cdn.acme.test/logo.png',
      invite_expiry_days: 3,
      default_message: 'Looking forward to working with you.',
      effective: { display_name: 'Acme Studio', sender_name: 'Acme Onboarding' },
    });
    expect((await api.get('/v1/agency')).body).toEqual(res.body);
    const { rows } = await db().query("select actor_id, data from events where agency_id = $1 and type = 'agency.updated'", [a.agencyId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].actor_id).toBe(a.userId);
    expect(rows[0].data.fields.sort()).toEqual(['brand_color', 'default_message', 'display_name', 'invite_expiry_days', 'logo_url', 'sender_name']);
    expect(rows[0].data.changes.invite_expiry_days).toEqual({ from: 7, to: 3 });

    // The same values again change nothing and write no event; "" clears an optional setting.
    expect((await api.patch('/v1/agency', { brand_color: '#ff5500' })).status).toBe(200);
    const cleared = await api.patch('/v1/agency', { display_name: '', sender_name: null });
    expect(cleared.body).toMatchObject({
      display_name: null,
      sender_name: null,
      effective: { display_name: a.agencyId && cleared.body.name, sender_name: cleared.body.name },
    });
    const { rows: events } = await db().query("select data from events where agency_id = $1 and type = 'agency.updated' order by id", [a.agencyId]);
    expect(events.map((e) => e.data.fields.sort())).toEqual([expect.any(Array), ['display_name', 'sender_name']]);
  });

  it.each([
    [{ brand_color: 'red' }, 'brand_color'],
    [{ brand_color: '#12345' }, 'brand_color'],
    [{ logo_url: 'http://cdn.acme.test/logo.png' }, 'logo_url'],
    [{ logo_url: 'javascript:alert(1)' }, 'logo_url'],
    [{ logo_url: `https://cdn.acme.test/${'x'.repeat(500)}.png` }, 'logo_url'],
    [{ logo_url: 'https://user:pw@cdn.acme.test/logo.png' }, 'logo_url'],
    [{ invite_expiry_days: 0 }, 'invite_expiry_days'],
    [{ invite_expiry_days: 91 }, 'invite_expiry_days'],
    [{ invite_expiry_days: 2.5 }, 'invite_expiry_days'],
    [{ invite_expiry_days: '3' }, 'invite_expiry_days'],
    [{ name: '' }, 'name'],
    [{ sender_name: 'Eve\r\nBcc: x@evil.test' }, 'sender_name'],
    [{ display_name: 'x'.repeat(201) }, 'display_name'],
    [{ default_message: 'x'.repeat(2001) }, 'default_message'],
    [{ brand_color: '#000000', invite_expiry_days: 400 }, 'invite_expiry_days'],
    [{ client_sign_in: 'sms' }, 'client_sign_in'],
    [{ reminder_hours_before: [24, 24] }, 'reminder_hours_before'],
    [{ reminder_hours_before: [0] }, 'reminder_hours_before[0]'],
    [{ reminder_hours_before: [721] }, 'reminder_hours_before[0]'],
    [{ reminder_hours_before: [1, 2, 3, 4, 5, 6] }, 'reminder_hours_before'],
    [{ reminder_hours_before: '24' }, 'reminder_hours_before'],
    [{}, '(body)'],
  ])('%j answers 422 naming %s and changes nothing', async (body, field) => {
    const a = await createTestAgency(stack);
    const before = await db().query('select * from agencies where id = $1', [a.agencyId]);
    const res = await client(stack.url, a.key).patch('/v1/agency', body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.errors).toEqual(expect.arrayContaining([{ field, message: expect.any(String) }]));
    expect((await db().query('select * from agencies where id = $1', [a.agencyId])).rows).toEqual(before.rows);
    expect((await db().query("select 1 from events where agency_id = $1 and type = 'agency.updated'", [a.agencyId])).rowCount).toBe(0);
  });

  it('client access: the sign-in mode and the reminder schedule are settings like the rest (event, GET, slug shown)', async () => {
    const a = await createTestAgency(stack);
    const api = client(stack.url, a.key);
    const before = (await api.get('/v1/agency')).body;
    expect(before).toMatchObject({ client_sign_in: 'password', reminder_hours_before: [24], slug: expect.stringMatching(/^[a-z0-9-]+$/) });
    const res = await api.patch('/v1/agency', { client_sign_in: 'magic_link', reminder_hours_before: [24, 72] });
    expect(res.status).toBe(200);
    // Largest step first, however given.
    expect(res.body).toMatchObject({ client_sign_in: 'magic_link', reminder_hours_before: [72, 24], slug: before.slug });
    expect((await api.get('/v1/agency')).body).toMatchObject({ client_sign_in: 'magic_link', reminder_hours_before: [72, 24] });
    const { rows } = await db().query("select data from events where agency_id = $1 and type = 'agency.updated'", [a.agencyId]);
    expect(rows.map((r) => r.data.fields)).toEqual([['client_sign_in', 'reminder_hours_before']]);
    // The same schedule again changes nothing and writes no event; [] turns reminders off.
    expect((await api.patch('/v1/agency', { reminder_hours_before: [72, 24] })).status).toBe(200);
    expect((await db().query("select 1 from events where agency_id = $1 and type = 'agency.updated'", [a.agencyId])).rowCount).toBe(1);
    expect((await api.patch('/v1/agency', { reminder_hours_before: [] })).body.reminder_hours_before).toEqual([]);
  });

  it('a member reads the settings but cannot change them (403); an admin can', async () => {
    const a = await createTestAgency(stack);
    const member = await joinTeammate(a, 'member');
    const admin = await joinTeammate(a, 'admin');
    expect((await client(stack.url, member.key).get('/v1/agency')).status).toBe(200);
    const refused = await client(stack.url, member.key).patch('/v1/agency', { brand_color: '#000000' });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: 'forbidden' });
    expect((await client(stack.url, admin.key).patch('/v1/agency', { brand_color: '#000000' })).body.brand_color).toBe('#000000');
  });

  it('a changed expiry applies to new invitations and resends, never to invitations already sent', async () => {
    const a = await createTestAgency(stack);
    const api = client(stack.url, a.key);
    const project = await newProject(a);
    const old = await api.post(`/v1/projects/${project}/invitations`, { email: `old-${uid()}@client.test`, first_name: 'Old', last_name: 'One' });
    expect((await api.patch('/v1/agency', { invite_expiry_days: 3 })).status).toBe(200);
    expect((await api.get(`/v1/invitations/${old.body.id}`)).body.expires_at).toBe(old.body.expires_at);
    const fresh = await api.post(`/v1/projects/${project}/invitations`, { email: `new-${uid()}@client.test`, first_name: 'New', last_name: 'One' });
    const days = (iso: string) => (new Date(iso).getTime() - Date.now()) / 86400_000;
    expect(days(old.body.expires_at)).toBeGreaterThan(6.9);
    expect(days(fresh.body.expires_at)).toBeGreaterThan(2.9);
    expect(days(fresh.body.expires_at)).toBeLessThan(3.1);
    const resent = await api.post(`/v1/invitations/${old.body.id}/resend`);
    expect(resent.status).toBe(200);
    expect(days(resent.body.expires_at)).toBeLessThan(3.1);
  });
});

describe("emails carry the branding, the inviter's name and the default message", () => {
  it('an invitation arrives From the sender name, in the brand colour, with the logo and "Olivia from Acme"', async () => {
    const a = await createTestAgency(stack, 'Acme');
    const api = client(stack.url, a.key);
    expect((await api.patch('/v1/me', { first_name: 'Olivia', last_name: 'Owner' })).status).toBe(200);
    await api.patch('/v1/agency', {
      display_name: 'Acme Studio',
      sender_name: 'Acme Onboarding',
      brand_color: '#ff5500',
      logo_url: 'https://cdn.acme.test/logo.png',
      default_message: 'Our default welcome.',
      invite_email_text: 'Acme builds websites.',
    });
    const project = await newProject(a);
    const email = `brand-${uid()}@client.test`;
    const inv = await api.post(`/v1/projects/${project}/invitations`, { email, first_name: 'Cleo', last_name: 'Client' });
    expect(inv.body.created_by).toEqual({ id: a.userId, email: a.email, name: 'Olivia Owner' });
    const mail = await stack.smtp!.waitFor(mailTo(email));
    expect(mail.parsed.from?.value[0]).toEqual({ name: 'Acme Onboarding', address: expect.any(String) });
    expect(mail.parsed.subject).toMatch(/^Acme Studio invited you to/);
    expect(mail.parsed.text).toContain('Olivia Owner from Acme Studio invited you');
    expect(mail.parsed.text).toContain('Our default welcome.');
    expect(mail.parsed.text).toContain('Acme builds websites.');
    expect(mail.parsed.html).toContain('#ff5500');
    expect(mail.parsed.html).toContain('src="https://cdn.acme.test/logo.png"');
    // A message of its own replaces the default.
    const email2 = `own-${uid()}@client.test`;
    await api.post(`/v1/projects/${project}/invitations`, { email: email2, first_name: 'Dan', last_name: 'Client', message: 'A note just for Dan.' });
    const mail2 = await stack.smtp!.waitFor(mailTo(email2));
    expect(mail2.parsed.text).toContain('A note just for Dan.');
    expect(mail2.parsed.text).not.toContain('Our default welcome.');
    // created_by.name reaches the polling feed Zapier reads (created_by__name).
    const feed = await api.get('/v1/feeds/invitation.created');
    expect(feed.status).toBe(200);
    const items = Array.isArray(feed.body) ? feed.body : feed.body.data;
    expect(items.find((i: { id: string }) => i.id === inv.body.id).created_by.name).toBe('Olivia Owner');
  });
});

describe('the team: /v1/users', () => {
  it("an owner invites an admin: a teammate email with the inviter's name and a single-use link; joining signs them in", async () => {
    const a = await createTestAgency(stack, 'Acme');
    const api = client(stack.url, a.key);
    await api.patch('/v1/me', { first_name: 'Olivia', last_name: 'Owner' });
    await api.patch('/v1/agency', { display_name: 'Acme Studio', invite_expiry_days: 3, brand_color: '#123456' });
    const email = `Admin-${uid()}@Agency.test`;
    const res = await api.post('/v1/users', { email, role: 'admin' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email, role: 'admin', status: 'invited', has_password: false, name: null });
    expect(res.body.invitation).toMatchObject({ status: 'pending', send_count: 1, invited_by: { id: a.userId, name: 'Olivia Owner' } });
    expect((new Date(res.body.invitation.expires_at).getTime() - Date.now()) / 86400_000).toBeLessThan(3.01);
    // Inviting again: the same user, nothing new sent.
    const again = await api.post('/v1/users', { email: email.toLowerCase(), role: 'admin' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(res.body.id);

    const mail = await stack.smtp!.waitFor(mailTo(email));
    expect(mail.parsed.subject).toBe('Olivia Owner from Acme Studio invited you to join the Acme Studio team');
    expect(mail.parsed.html).toContain('#123456');
    expect(mail.parsed.text).toContain('as an admin');
    const token = linkIn(mail, '/console/join');
    // Opening the link reads; it does not consume.
    const looked = await lookupTeammateInvitation(stack.deps, token);
    expect(looked).toMatchObject({ valid: true, view: { email, role: 'admin', inviterName: 'Olivia Owner', agency: { displayName: 'Acme Studio' } } });
    expect((await lookupTeammateInvitation(stack.deps, token)).valid).toBe(true);
    // An invited teammate cannot sign in yet.
    expect(await loginFirmUser(stack.deps, { email, password: 'a long passphrase 1' })).toBeNull();

    await expect(acceptTeammateInvitation(stack.deps, { token, first_name: '', last_name: 'X', password: 'short' })).rejects.toMatchObject({
      code: 'validation_failed',
      errors: expect.arrayContaining([
        { field: 'first_name', message: expect.any(String) },
        { field: 'password', message: expect.any(String) },
      ]),
    });
    const [one, two] = await Promise.allSettled([
      acceptTeammateInvitation(stack.deps, { token, first_name: 'Ada', last_name: 'Admin', password: 'a long passphrase 1' }),
      acceptTeammateInvitation(stack.deps, { token, first_name: 'Ada', last_name: 'Admin', password: 'a long passphrase 1' }),
    ]);
    expect([one.status, two.status].sort()).toEqual(['fulfilled', 'rejected']);
    const lookedAfter = await lookupTeammateInvitation(stack.deps, token);
    expect(lookedAfter).toEqual({ valid: false, agency: expect.objectContaining({ displayName: 'Acme Studio' }) });
    const login = await loginFirmUser(stack.deps, { email, password: 'a long passphrase 1' });
    expect(login).not.toBeNull();
    const user = (await api.get(`/v1/users/${res.body.id}`)).body;
    expect(user).toMatchObject({ status: 'active', role: 'admin', name: 'Ada Admin', first_name: 'Ada', last_name: 'Admin', has_password: true });
    expect(user.invitation.status).toBe('accepted');
    const { rows } = await db().query('select type from events where agency_id = $1 and subject_id = $2 order by id', [a.agencyId, res.body.id]);
    expect(rows.map((r) => r.type)).toEqual(['user.invited', 'user.joined']);
    const list = await api.get('/v1/users');
    expect(list.body.data.map((u: { email: string }) => u.email)).toEqual([a.email, email]);
  });

  it('a resend rotates the teammate link (the old one stops) and uses the current expiry', async () => {
    const a = await createTestAgency(stack);
    const api = client(stack.url, a.key);
    const email = `resend-${uid()}@agency.test`;
    const res = await api.post('/v1/users', { email, role: 'member' });
    const first = linkIn(await stack.smtp!.waitFor(mailTo(email)), '/console/join');
    await api.patch('/v1/agency', { invite_expiry_days: 1 });
    const resent = await api.post(`/v1/users/${res.body.id}/resend-invitation`);
    expect(resent.status).toBe(200);
    expect(resent.body.invitation.send_count).toBe(2);
    expect((new Date(resent.body.invitation.expires_at).getTime() - Date.now()) / 86400_000).toBeLessThan(1.01);
    await stack.smtp!.waitFor((m) => mailTo(email)(m) && linkIn(m, '/console/join') !== first);
    expect((await lookupTeammateInvitation(stack.deps, first)).valid).toBe(false);
    await expect(
      acceptTeammateInvitation(stack.deps, { token: first, first_name: 'A', last_name: 'B', password: 'a long passphrase 1' }),
    ).rejects.toMatchObject({ code: 'gone' });
  });

  it("bad input is a 422 naming the field; a client's address is refused as a teammate and a teammate's as a client (409 both ways)", async () => {
    const a = await createTestAgency(stack);
    const api = client(stack.url, a.key);
    for (const [body, field] of [
      [{ email: 'nope', role: 'admin' }, 'email'],
      [{ email: `x-${uid()}@agency.test`, role: 'owner' }, 'role'],
      [{ email: `x-${uid()}@agency.test` }, 'role'],
    ] as const) {
      const res = await api.post('/v1/users', body);
      expect({ status: res.status, field: res.body.errors?.[0]?.field }).toEqual({ status: 422, field });
    }
    const project = await newProject(a);
    const clientEmail = `both-${uid()}@client.test`;
    await api.post(`/v1/projects/${project}/invitations`, { email: clientEmail, first_name: 'C', last_name: 'C' });
    const asTeammate = await api.post('/v1/users', { email: ` ${clientEmail.toUpperCase()} `, role: 'member' });
    expect({ status: asTeammate.status, code: asTeammate.body.code, field: asTeammate.body.errors[0].field }).toEqual({
      status: 409,
      code: 'email_belongs_to_client',
      field: 'email',
    });
    const teammateEmail = `mate-${uid()}@agency.test`;
    await api.post('/v1/users', { email: teammateEmail, role: 'member' });
    const asClient = await api.post(`/v1/projects/${project}/invitations`, { email: teammateEmail, first_name: 'T', last_name: 'M' });
    expect({ status: asClient.status, code: asClient.body.code }).toEqual({ status: 409, code: 'email_belongs_to_firm_user' });
    const onTeam = await api.post('/v1/users', { email: a.email, role: 'admin' });
    expect({ status: onTeam.status, code: onTeam.body.code }).toEqual({ status: 409, code: 'conflict' });
    expect((await db().query('select 1 from firm_users where agency_id = $1', [a.agencyId])).rowCount).toBe(2);
  });

  it('roles: members read only; only owners change roles or deactivate admins; the last active owner stays (409)', async () => {
    const a = await createTestAgency(stack);
    const owner = client(stack.url, a.key);
    const admin = await joinTeammate(a, 'admin');
    const member = await joinTeammate(a, 'member');
    const asAdmin = client(stack.url, admin.key);
    const asMember = client(stack.url, member.key);
    const code = (r: { status: number; body: { code?: string } }) => ({ status: r.status, code: r.body.code });

    expect((await asMember.get('/v1/users')).status).toBe(200);
    expect(code(await asMember.post('/v1/users', { email: `m-${uid()}@agency.test`, role: 'member' }))).toEqual({ status: 403, code: 'forbidden' });
    expect(code(await asMember.patch(`/v1/users/${member.id}`, { first_name: 'Me' }))).toEqual({ status: 403, code: 'forbidden' });
    expect(code(await asMember.post(`/v1/users/${admin.id}/deactivate`))).toEqual({ status: 403, code: 'forbidden' });

    expect(code(await asAdmin.patch(`/v1/users/${member.id}`, { role: 'admin' }))).toEqual({ status: 403, code: 'forbidden' });
    expect(code(await asAdmin.patch(`/v1/users/${a.userId}`, { role: 'member' }))).toEqual({ status: 403, code: 'forbidden' });
    expect(code(await asAdmin.post(`/v1/users/${a.userId}/deactivate`))).toEqual({ status: 403, code: 'forbidden' });
    expect((await asAdmin.patch(`/v1/users/${member.id}`, { first_name: 'Renamed' })).body.name).toBe('Renamed Mate');

    const last = await owner.patch(`/v1/users/${a.userId}`, { role: 'admin' });
    expect(code(last)).toEqual({ status: 409, code: 'conflict' });
    expect(last.body.errors[0].field).toBe('role');
    expect(code(await owner.post(`/v1/users/${a.userId}/deactivate`))).toEqual({ status: 409, code: 'conflict' });

    // Promote the admin to owner; now the first owner may step down, and the new owner cannot.
    expect((await owner.patch(`/v1/users/${admin.id}`, { role: 'owner' })).body.role).toBe('owner');
    expect((await owner.patch(`/v1/users/${a.userId}`, { role: 'admin' })).body.role).toBe('admin');
    expect(code(await asAdmin.patch(`/v1/users/${admin.id}`, { role: 'member' }))).toEqual({ status: 409, code: 'conflict' });
    const { rows } = await db().query("select count(*)::int as n from firm_users where agency_id = $1 and role = 'owner' and status = 'active'", [a.agencyId]);
    expect(rows[0].n).toBe(1);
    const { rows: ev } = await db().query("select data from events where agency_id = $1 and type = 'user.updated' and data ? 'role' order by id", [a.agencyId]);
    expect(ev.map((e) => e.data.role)).toEqual([
      { from: 'admin', to: 'owner' },
      { from: 'owner', to: 'admin' },
    ]);
  });

  it('two concurrent demotions of the only two owners: one wins, the agency keeps an owner', async () => {
    const a = await createTestAgency(stack);
    const second = await joinTeammate(a, 'admin');
    await client(stack.url, a.key).patch(`/v1/users/${second.id}`, { role: 'owner' });
    const results = await Promise.all([
      client(stack.url, a.key).patch(`/v1/users/${a.userId}`, { role: 'member' }),
      client(stack.url, second.key).patch(`/v1/users/${second.id}`, { role: 'member' }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const { rows } = await db().query("select count(*)::int as n from firm_users where agency_id = $1 and role = 'owner' and status = 'active'", [a.agencyId]);
    expect(rows[0].n).toBe(1);
  });

  it("deactivation stops the user's sessions and keys at once; their invitations keep created_by and an acceptance goes to the owners", async () => {
    const a = await createTestAgency(stack, 'Acme');
    const owner = client(stack.url, a.key);
    await owner.patch('/v1/me', { first_name: 'Olivia', last_name: 'Owner' });
    const admin = await joinTeammate(a, 'admin', 'Alex', 'Admin');
    const project = await newProject(a);
    const clientEmail = `acc-${uid()}@client.test`;
    const inv = await client(stack.url, admin.key).post(`/v1/projects/${project}/invitations`, { email: clientEmail, first_name: 'Cleo', last_name: 'Client' });
    expect(inv.status).toBe(201);
    const token = linkIn(await stack.smtp!.waitFor(mailTo(clientEmail)), '/invite');
    expect(await resolveConsoleSession(stack.deps, admin.sessionToken)).not.toBeNull();

    const res = await owner.post(`/v1/users/${admin.id}/deactivate`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'deactivated', deactivated_at: expect.any(String) });
    const refused = await client(stack.url, admin.key).get('/v1/me');
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'unauthorized' });
    expect(refused.body.detail).toMatch(/deactivated/);
    expect(await resolveConsoleSession(stack.deps, admin.sessionToken)).toBeNull();
    expect(await loginFirmUser(stack.deps, { email: admin.email, password: 'a long passphrase 1' })).toBeNull();
    // Again: nothing changes.
    expect((await owner.post(`/v1/users/${admin.id}/deactivate`)).body.deactivated_at).toBe(res.body.deactivated_at);
    expect((await owner.get(`/v1/invitations/${inv.body.id}`)).body.created_by).toEqual({ id: admin.id, email: admin.email, name: 'Alex Admin' });

    await acceptInvitation(stack.deps, { token, newPassword: 'client passphrase 1' });
    const notice = await stack.smtp!.waitFor(mailTo(a.email, /accepted/));
    expect(notice.parsed.subject).toBe(`Cleo Client accepted the invitation Alex Admin sent to ${(await owner.get(`/v1/projects/${project}`)).body.name}`);
    expect(notice.parsed.text).toContain('because Alex Admin is no longer active');
    expect(stack.smtp!.messages.some((m) => m.envelopeTo.includes(admin.email) && /accepted/.test(m.parsed.subject ?? ''))).toBe(false);
  });

  it('an admin deactivates a member; a member invited but not joined loses their link', async () => {
    const a = await createTestAgency(stack);
    const admin = await joinTeammate(a, 'admin');
    const email = `pending-${uid()}@agency.test`;
    const invited = await client(stack.url, a.key).post('/v1/users', { email, role: 'member' });
    const token = linkIn(await stack.smtp!.waitFor(mailTo(email)), '/console/join');
    expect((await client(stack.url, admin.key).post(`/v1/users/${invited.body.id}/deactivate`)).body.status).toBe('deactivated');
    expect((await lookupTeammateInvitation(stack.deps, token)).valid).toBe(false);
    await expect(acceptTeammateInvitation(stack.deps, { token, first_name: 'A', last_name: 'B', password: 'a long passphrase 1' })).rejects.toMatchObject({
      code: 'gone',
    });
  });
});

describe('/v1/me', () => {
  it('sets the own name (any role) and changes the password with the current one; other sessions end', async () => {
    const a = await createTestAgency(stack);
    const member = await joinTeammate(a, 'member');
    const me = client(stack.url, member.key);
    const named = await me.patch('/v1/me', { first_name: 'Mia', last_name: 'Member' });
    expect(named.body).toMatchObject({ id: member.id, name: 'Mia Member' });
    expect((await me.get('/v1/me')).body.user.name).toBe('Mia Member');
    const bad = await me.patch('/v1/me', { first_name: '', role: 'owner' });
    expect(bad.status).toBe(422);

    const wrong = await me.post('/v1/me/password', { current_password: 'not it at all', new_password: 'a new long passphrase' });
    expect({ status: wrong.status, field: wrong.body.errors[0].field }).toEqual({ status: 422, field: 'current_password' });
    const short = await me.post('/v1/me/password', { current_password: 'a long passphrase 1', new_password: 'short' });
    expect({ status: short.status, field: short.body.errors[0].field }).toEqual({ status: 422, field: 'new_password' });
    const ok = await me.post(
      '/v1/me/password',
      { current_password: 'a long passphrase 1', new_password: 'a new long passphrase' },
      { 'idempotency-key': `pw-${uid()}` },
    );
    expect(ok.status).toBe(204);
    expect(await resolveConsoleSession(stack.deps, member.sessionToken)).toBeNull();
    expect(await loginFirmUser(stack.deps, { email: member.email, password: 'a long passphrase 1' })).toBeNull();
    expect(await loginFirmUser(stack.deps, { email: member.email, password: 'a new long passphrase' })).not.toBeNull();
    // The idempotency record binds the key to a keyed HMAC of the body, never a plain digest of the passwords.
    const { rows } = await db().query<{ request_hash: string }>("select request_hash from idempotency_keys where agency_id = $1 and path = '/v1/me/password'", [
      a.agencyId,
    ]);
    const { createHash } = await import('node:crypto');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.request_hash).not.toContain(
      createHash('sha256')
        .update(JSON.stringify({ current_password: 'a long passphrase 1', new_password: 'a new long passphrase' }))
        .digest('hex'),
    );
  });
});

describe('API keys: /v1/api-keys', () => {
  it('creates a key shown once, lists it with prefix, owner and times; revoking stops it', async () => {
    const a = await createTestAgency(stack);
    const api = client(stack.url, a.key);
    const idem = `key-${uid()}`;
    const res = await api.post('/v1/api-keys', { name: 'Zapier' }, { 'idempotency-key': idem });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Zapier',
      prefix: expect.stringMatching(/^[a-z2-9]{10}$/),
      owner: { id: a.userId, email: a.email },
      last_used_at: null,
    });
    expect(res.body.key).toMatch(new RegExp(`^onr_${res.body.prefix}_`));
    const replay = await api.post('/v1/api-keys', { name: 'Zapier' }, { 'idempotency-key': idem });
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual({ ...res.body, key: null });
    const stored = await db().query('select response_body::text as b from idempotency_keys where agency_id = $1 and key = $2', [a.agencyId, idem]);
    expect(stored.rows[0].b).not.toContain(res.body.key);

    const fresh = client(stack.url, res.body.key);
    expect((await fresh.get('/v1/me')).status).toBe(200);
    const list = await api.get('/v1/api-keys');
    const listed = list.body.data.find((k: { id: string }) => k.id === res.body.id);
    // last_used_at is written off the request path (a job), so it may or may not be there yet.
    const { last_used_at: lastUsed, ...rest } = listed;
    expect(rest).toEqual({ id: res.body.id, name: 'Zapier', prefix: res.body.prefix, owner: res.body.owner, created_at: res.body.created_at });
    expect(lastUsed === null || !Number.isNaN(Date.parse(lastUsed))).toBe(true);
    expect(JSON.stringify(list.body)).not.toContain(res.body.key);

    expect((await api.delete(`/v1/api-keys/${res.body.id}`)).status).toBe(204);
    expect((await fresh.get('/v1/me')).status).toBe(401);
    expect((await api.delete(`/v1/api-keys/${res.body.id}`)).status).toBe(404);
    expect((await api.get('/v1/api-keys')).body.data.some((k: { id: string }) => k.id === res.body.id)).toBe(false);
    const bad = await api.post('/v1/api-keys', { name: '' });
    expect({ status: bad.status, field: bad.body.errors[0].field }).toEqual({ status: 422, field: 'name' });
  });

  it("owners see every key; others see and revoke only their own; a member's key reads only", async () => {
    const a = await createTestAgency(stack);
    const owner = client(stack.url, a.key);
    const admin = await joinTeammate(a, 'admin');
    const member = await joinTeammate(a, 'member');
    const ownerKeys = (await owner.get('/v1/api-keys')).body.data;
    expect(ownerKeys.map((k: { owner: { id: string } }) => k.owner.id).sort()).toEqual([a.userId, admin.id, member.id].sort());
    const adminKeys = (await client(stack.url, admin.key).get('/v1/api-keys')).body.data;
    expect(adminKeys.map((k: { owner: { id: string } }) => k.owner.id)).toEqual([admin.id]);
    const ownersKeyId = ownerKeys.find((k: { owner: { id: string } }) => k.owner.id === a.userId).id;
    expect((await client(stack.url, admin.key).delete(`/v1/api-keys/${ownersKeyId}`)).status).toBe(404);

    const asMember = client(stack.url, member.key);
    expect((await asMember.get('/v1/invitations')).status).toBe(200);
    const write = await asMember.post('/v1/projects', { name: 'Nope' });
    expect({ status: write.status, code: write.body.code }).toEqual({ status: 403, code: 'forbidden' });
    const own = await asMember.post('/v1/api-keys', { name: 'Reporting' });
    expect(own.status).toBe(201);
    expect((await client(stack.url, own.body.key).post('/v1/projects', { name: 'Nope' })).status).toBe(403);
    expect((await asMember.delete(`/v1/api-keys/${own.body.id}`)).status).toBe(204);
    // The owner revokes the member's key.
    const memberKeyId = ownerKeys.find((k: { owner: { id: string } }) => k.owner.id === member.id).id;
    expect((await owner.delete(`/v1/api-keys/${memberKeyId}`)).status).toBe(204);
    expect((await asMember.get('/v1/me')).status).toBe(401);
  });
});

describe('dead links still name their agency and never redeem', () => {
  it('revoked and replaced links show the agency; neither accepts', async () => {
    const a = await createTestAgency(stack, 'Acme');
    const api = client(stack.url, a.key);
    await api.patch('/v1/agency', { display_name: 'Acme Studio', brand_color: '#ff5500' });
    const project = await newProject(a);
    const revokedEmail = `rev-${uid()}@client.test`;
    const revoked = await api.post(`/v1/projects/${project}/invitations`, { email: revokedEmail, first_name: 'R', last_name: 'V' });
    const revokedToken = linkIn(await stack.smtp!.waitFor(mailTo(revokedEmail)), '/invite');
    expect((await api.post(`/v1/invitations/${revoked.body.id}/revoke`)).status).toBe(200);
    expect(await lookupInvitationToken(stack.deps, revokedToken)).toMatchObject({
      valid: false,
      agency: expect.objectContaining({ displayName: 'Acme Studio', brandColor: '#ff5500' }),
    });
    await expect(acceptInvitation(stack.deps, { token: revokedToken, newPassword: 'client passphrase 1' })).rejects.toMatchObject({ code: 'gone' });

    const resentEmail = `res-${uid()}@client.test`;
    const resent = await api.post(`/v1/projects/${project}/invitations`, { email: resentEmail, first_name: 'R', last_name: 'S' });
    const oldToken = linkIn(await stack.smtp!.waitFor(mailTo(resentEmail)), '/invite');
    expect((await api.post(`/v1/invitations/${resent.body.id}/resend`)).status).toBe(200);
    expect(await lookupInvitationToken(stack.deps, oldToken)).toMatchObject({ valid: false, agency: expect.objectContaining({ displayName: 'Acme Studio' }) });
    await expect(acceptInvitation(stack.deps, { token: oldToken, newPassword: 'client passphrase 1' })).rejects.toMatchObject({ code: 'gone' });
    expect((await api.get(`/v1/invitations/${resent.body.id}`)).body.status).toBe('pending');
    // An unknown token names nobody.
    expect(await lookupInvitationToken(stack.deps, 'A'.repeat(43))).toEqual({ valid: false, agency: null });
    // The revoked link and the replaced one are kept (as HMACs) only to name the agency.
    const { rows } = await db().query('select invitation_id from invitation_dead_links where agency_id = $1', [a.agencyId]);
    expect(rows.map((r) => r.invitation_id).sort()).toEqual([revoked.body.id, resent.body.id].sort());
  });
});
