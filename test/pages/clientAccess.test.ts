import {
  applyClientAccessSettings,
  clientAccessSettingsSchema,
  createAgency,
  decryptToken,
  expireInvitations,
  readClientAccessSettings,
  SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR,
} from '@onramp/core';
import { startStack, createTestAgency, type TestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';
import { removeTempDir } from '../support/tempDir.js';
import { createInvitation, csrfOf, FormClient } from './fixtures.js';

/** Sign-in modes, agency pages, sign-in links and dead links over HTTP (the browser journey is magicLink.test.ts). */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
});
afterAll(async () => {
  await stack.close();
});

const slugOf = async (agencyId: string) => (await stack.deps.pool.query<{ slug: string }>('select slug from agencies where id = $1', [agencyId])).rows[0]!.slug;

async function agencyWith(mode: 'password' | 'magic_link' | 'either', name = 'Access'): Promise<TestAgency & { slug: string }> {
  const a = await createTestAgency(stack, name);
  await applyClientAccessSettings(stack.deps.pool, a.agencyId, { client_sign_in: mode });
  return { ...a, slug: await slugOf(a.agencyId) };
}

/** An active client with a project (what a sign-in link needs), through a real acceptance. */
async function activeClient(a: TestAgency, opts: { password?: string } = {}) {
  const f = await createInvitation(stack, a, opts.password ? { password: opts.password } : {});
  await stack.deps.pool.query("update clients set status = 'active', activated_at = now() where id = $1", [f.clientId]);
  await stack.deps.pool.query('insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3) on conflict do nothing', [
    f.projectId,
    f.clientId,
    a.agencyId,
  ]);
  return f;
}

/** The token inside the newest sign-in email to this address (the worker is off: read from the outbox row). */
async function signInTokenFor(email: string): Promise<string | null> {
  const { rows } = await stack.deps.pool.query<{ token_ciphertext: Buffer }>(
    "select token_ciphertext from emails where kind = 'sign_in_link' and to_address = $1 order by created_at desc limit 1",
    [email],
  );
  return rows[0] ? decryptToken(stack.deps.appSecret, rows[0].token_ciphertext) : null;
}

async function askForLink(slug: string, email: string): Promise<{ status: number; text: string }> {
  const browser = new FormClient(stack.url);
  const page = await browser.get(`/a/${slug}/login`);
  return browser.post(`/a/${slug}/link`, { csrf: csrfOf(page.text), email });
}

describe('settings', () => {
  it('validates the sign-in mode and the reminder schedule, and writes only what changed', async () => {
    const bad: Array<[unknown, string]> = [
      [{ client_sign_in: 'sms' }, 'client_sign_in'],
      [{ reminder_hours_before: [0] }, 'reminder_hours_before'],
      [{ reminder_hours_before: [721] }, 'reminder_hours_before'],
      [{ reminder_hours_before: [1.5] }, 'reminder_hours_before'],
      [{ reminder_hours_before: [24, 24] }, 'reminder_hours_before'],
      [{ reminder_hours_before: [1, 2, 3, 4, 5, 6] }, 'reminder_hours_before'],
      [{ reminder_hours_before: '24' }, 'reminder_hours_before'],
    ];
    for (const [input, field] of bad) {
      const parsed = clientAccessSettingsSchema.safeParse(input);
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues[0]!.path[0]).toBe(field);
    }
    const a = await createTestAgency(stack, 'Settings');
    expect(await readClientAccessSettings(stack.deps.pool, a.agencyId)).toEqual({ client_sign_in: 'password', reminder_hours_before: [24] });
    const first = await applyClientAccessSettings(
      stack.deps.pool,
      a.agencyId,
      clientAccessSettingsSchema.parse({ client_sign_in: 'either', reminder_hours_before: [24, 72] }),
    );
    expect(first).toEqual({ settings: { client_sign_in: 'either', reminder_hours_before: [72, 24] }, changed: ['client_sign_in', 'reminder_hours_before'] });
    const same = await applyClientAccessSettings(stack.deps.pool, a.agencyId, { reminder_hours_before: [72, 24] });
    expect(same.changed).toEqual([]);
    const off = await applyClientAccessSettings(stack.deps.pool, a.agencyId, { reminder_hours_before: [] });
    expect(off).toEqual({ settings: { client_sign_in: 'either', reminder_hours_before: [] }, changed: ['reminder_hours_before'] });
    // The database refuses what the schema refuses, whatever writes it.
    await expect(stack.deps.pool.query("update agencies set reminder_hours_before = '{0}' where id = $1", [a.agencyId])).rejects.toThrow(/check constraint/);
    await expect(stack.deps.pool.query("update agencies set client_sign_in = 'sms' where id = $1", [a.agencyId])).rejects.toThrow(/check constraint/);
  });

  it('gives every agency a unique slug from its name, also when created at the same moment', async () => {
    const made = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createAgency(stack.deps.pool, { name: 'Ácme & Co.', ownerEmail: `slug-${i}-${Date.now()}@owner.test` })),
    );
    const slugs = await Promise.all(made.map((m) => slugOf(m.agency.id)));
    expect(new Set(slugs).size).toBe(5);
    for (const s of slugs) expect(s).toMatch(/^acme-co(-\d+)?$/);
    const odd = await createAgency(stack.deps.pool, { name: '!!!', ownerEmail: `odd-${Date.now()}@owner.test` });
    expect(await slugOf(odd.agency.id)).toMatch(/^agency(-\d+)?$/);
  });
});

describe('agency sign-in pages', () => {
  it('show the agency and its mode; an unknown slug is a 404; /login stays neutral', async () => {
    const pw = await agencyWith('password', 'Paper');
    await stack.deps.pool.query("update agencies set display_name = 'Paper <Mill>' where id = $1", [pw.agencyId]);
    const page = await new FormClient(stack.url).get(`/a/${pw.slug}/login`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in to Paper &lt;Mill&gt;');
    expect(page.text).toContain('id="password"');
    expect(page.text).not.toContain('id="link-email"');
    expect(page.text).toContain(`href="/a/${pw.slug}/forgot"`);

    const magic = await agencyWith('magic_link', 'Wand');
    const m = await new FormClient(stack.url).get(`/a/${magic.slug}/login`);
    expect(m.text).toContain('id="link-email"');
    expect(m.text).not.toContain('id="password"');
    // magic_link clients have no password to forget.
    const forgot = await new FormClient(stack.url).get(`/a/${magic.slug}/forgot`);
    expect(forgot.status).toBe(303);
    expect(forgot.headers.get('location')).toBe(`/a/${magic.slug}/login`);

    for (const path of ['/a/no-such-agency/login', '/a/UPPER/login', '/a/..%2F..%2Fetc/login', `/a/${'x'.repeat(80)}/forgot`]) {
      const res = await new FormClient(stack.url).get(path);
      expect(res.status).toBe(404);
      expect(res.text).toContain('There is no sign-in page at this address');
    }
    const neutral = await new FormClient(stack.url).get('/login');
    expect(neutral.text).toContain('<title>Sign in · Client portal</title>');
  });

  it("an agency's page signs in only that agency's clients, and never by password for a magic_link agency", async () => {
    const a = await agencyWith('password', 'Own');
    const b = await agencyWith('password', 'Other');
    const f = await activeClient(a, { password: 'a long enough password' });
    const wrongAgency = new FormClient(stack.url);
    const page = await wrongAgency.get(`/a/${b.slug}/login`);
    const refused = await wrongAgency.post(`/a/${b.slug}/login`, { csrf: csrfOf(page.text), email: f.email, password: 'a long enough password' });
    expect(refused.status).toBe(401);
    const right = new FormClient(stack.url);
    const own = await right.get(`/a/${a.slug}/login`);
    const ok = await right.post(`/a/${a.slug}/login`, { csrf: csrfOf(own.text), email: f.email, password: 'a long enough password' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/portal');

    // The agency switches to magic links: the old password no longer signs in anywhere.
    await applyClientAccessSettings(stack.deps.pool, a.agencyId, { client_sign_in: 'magic_link' });
    const neutral = new FormClient(stack.url);
    const login = await neutral.get('/login');
    expect((await neutral.post('/login', { csrf: csrfOf(login.text), email: f.email, password: 'a long enough password' })).status).toBe(401);
  });

  it('a form without its CSRF field changes nothing', async () => {
    const a = await agencyWith('magic_link', 'Csrf');
    const f = await activeClient(a);
    const browser = new FormClient(stack.url);
    await browser.get(`/a/${a.slug}/login`);
    expect((await browser.post(`/a/${a.slug}/link`, { email: f.email })).status).toBe(403);
    expect((await browser.post(`/a/${a.slug}/link`, { email: f.email, csrf: 'forged' })).status).toBe(403);
    expect(await countRows(stack.deps.pool, 'select 1 from sign_in_links where client_id = $1', [f.clientId])).toBe(0);
  });
});

describe('accepting by sign-in mode', () => {
  it('magic_link: accepting needs no password and never sets one', async () => {
    const a = await agencyWith('magic_link', 'NoPw');
    const f = await createInvitation(stack, a);
    const res = await client(stack.url).post(`/invite/${f.token}/accept`, { new_password: 'ignored password 123' });
    expect(res.status).toBe(200);
    const { rows } = await stack.deps.pool.query('select status, password_hash from clients where id = $1', [f.clientId]);
    expect(rows[0]).toEqual({ status: 'active', password_hash: null });
  });

  it('password: asking to go without one is refused and leaves the invitation pending', async () => {
    const a = await agencyWith('password', 'Pw');
    const f = await createInvitation(stack, a);
    const res = await client(stack.url).post(`/invite/${f.token}/accept`, { passwordless: true });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'new_password', message: expect.any(String) }]);
    const browser = new FormClient(stack.url);
    const page = await browser.get(`/invite/${f.token}`);
    expect(page.text).not.toContain('Join without a password');
    expect((await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), method: 'link' })).status).toBe(422);
    expect(await countRows(stack.deps.pool, "select 1 from invitations where id = $1 and status = 'pending'", [f.invitationId])).toBe(1);
  });

  it('either: the client chooses; an existing account may join without its password', async () => {
    const a = await agencyWith('either', 'Both');
    const f = await createInvitation(stack, a, { password: 'an existing password' });
    const browser = new FormClient(stack.url);
    const page = await browser.get(`/invite/${f.token}`);
    expect(page.text).toContain('id="password"');
    expect(page.text).toContain('Join without a password');
    const res = await browser.post(`/invite/${f.token}/accept`, { csrf: csrfOf(page.text), method: 'link' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/portal');
  });
});

describe('sign-in links', () => {
  it('the same answer whether or not the address has an account; a link only for an active client of a link agency', async () => {
    const a = await agencyWith('magic_link', 'Same');
    const f = await activeClient(a);
    const known = await askForLink(a.slug, f.email);
    const unknown = await askForLink(a.slug, 'nobody@nowhere.test');
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const strip = (t: string, e: string) => t.replaceAll(e, 'ADDRESS');
    expect(strip(known.text, f.email).replace(/nonce="[^"]+"/g, '')).toBe(strip(unknown.text, 'nobody@nowhere.test').replace(/nonce="[^"]+"/g, ''));
    expect(await countRows(stack.deps.pool, 'select 1 from sign_in_links where agency_id = $1', [a.agencyId])).toBe(1);
    expect(await countRows(stack.deps.pool, "select 1 from emails where kind = 'sign_in_link' and agency_id = $1", [a.agencyId])).toBe(1);

    // A password agency's client, a deactivated client, bad input: nothing, and the same page.
    const pw = await agencyWith('password', 'PwOnly');
    const p = await activeClient(pw);
    const viaNeutral = new FormClient(stack.url);
    const login = await viaNeutral.get('/login');
    expect((await viaNeutral.post('/login/link', { csrf: csrfOf(login.text), email: p.email })).status).toBe(200);
    const d = await activeClient(a);
    await stack.deps.pool.query("update clients set status = 'deactivated' where id = $1", [d.clientId]);
    expect((await askForLink(a.slug, d.email)).status).toBe(200);
    for (const junk of ['', 'not-an-email', 'x'.repeat(400)]) expect((await askForLink(a.slug, junk)).status).toBe(200);
    expect(await countRows(stack.deps.pool, 'select 1 from sign_in_links where client_id = any($1::uuid[])', [[p.clientId, d.clientId]])).toBe(0);
  });

  it('is rate-limited per address, for addresses with and without an account alike', async () => {
    const a = await agencyWith('magic_link', 'Limit');
    const f = await activeClient(a);
    for (const email of [f.email, 'ghost@nowhere.test']) {
      for (let i = 0; i < SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR; i++) expect((await askForLink(a.slug, email)).status).toBe(200);
      const over = await askForLink(a.slug, email);
      expect(over.status).toBe(429);
      expect(over.text).toContain('Too many sign-in links');
    }
    expect(await countRows(stack.deps.pool, 'select 1 from sign_in_links where client_id = $1', [f.clientId])).toBe(SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR);
  });

  it('opening reads only; the POST signs in once; expired, foreign and malformed tokens are gone', async () => {
    const a = await agencyWith('magic_link', 'Once');
    const f = await activeClient(a);
    await askForLink(a.slug, f.email);
    const token = (await signInTokenFor(f.email))!;
    const browser = new FormClient(stack.url);
    const page = await browser.get(`/signin/${token}`);
    expect(page.status).toBe(200);
    expect((await browser.get(`/signin/${token}`)).status).toBe(200);
    expect(await countRows(stack.deps.pool, 'select 1 from sign_in_links where client_id = $1 and used_at is null', [f.clientId])).toBe(1);
    expect((await browser.post(`/signin/${token}`, {})).status).toBe(403);
    expect((await browser.post(`/signin/${token}`, { csrf: csrfOf(page.text).slice(1) })).status).toBe(403);

    // Two clicks at once: exactly one signs in.
    const [x, y] = await Promise.all([
      new FormClient(stack.url).post(`/signin/${token}`, { csrf: csrfOf(page.text) }),
      new FormClient(stack.url).post(`/signin/${token}`, { csrf: csrfOf(page.text) }),
    ]);
    expect([x.status, y.status].sort()).toEqual([303, 410]);
    expect(await countRows(stack.deps.pool, 'select 1 from client_sessions where client_id = $1', [f.clientId])).toBe(1);
    const gone = await browser.get(`/signin/${token}`);
    expect(gone.status).toBe(410);
    expect(gone.text).toContain(`href="/a/${a.slug}/login"`);

    // Fifteen minutes later the next link is dead too.
    await askForLink(a.slug, f.email);
    const late = (await signInTokenFor(f.email))!;
    expect(late).not.toBe(token);
    await stack.deps.pool.query("update sign_in_links set expires_at = now() - interval '1 second' where client_id = $1 and used_at is null", [f.clientId]);
    const latePage = new FormClient(stack.url);
    expect((await latePage.get(`/signin/${late}`)).status).toBe(410);

    // An invitation token is not a sign-in token; junk never reaches the database.
    const inv = await createInvitation(stack, a);
    for (const t of [inv.token, 'short', `${token}x`, '%00'.repeat(15)]) expect((await new FormClient(stack.url).get(`/signin/${t}`)).status).toBe(410);
  });
});

describe('dead invitation links', () => {
  it('revoked, replaced and expired links name their agency and offer its sign-in page, and never redeem', async () => {
    const a = await agencyWith('password', 'Dead');
    await stack.deps.pool.query("update agencies set display_name = 'Deadwood' where id = $1", [a.agencyId]);
    const api = client(stack.url, a.key);
    const revoked = await createInvitation(stack, a);
    expect((await api.post(`/v1/invitations/${revoked.invitationId}/revoke`)).status).toBe(200);
    const replaced = await createInvitation(stack, a);
    await stack.deps.pool.query("update invitations set last_sent_at = now() - interval '1 hour' where id = $1", [replaced.invitationId]);
    expect((await api.post(`/v1/invitations/${replaced.invitationId}/resend`)).status).toBe(200);
    const expired = await createInvitation(stack, a, { expiresIn: -60 });
    await expireInvitations(stack.deps.pool);

    for (const f of [revoked, replaced, expired]) {
      const page = await new FormClient(stack.url).get(`/invite/${f.token}`);
      expect(page.status).toBe(410);
      expect(page.text).toContain('Ask Deadwood to send you a new one.');
      expect(page.text).toContain(`href="/a/${a.slug}/login"`);
      const accept = await client(stack.url).post(`/invite/${f.token}/accept`, { new_password: 'a long enough password' });
      expect(accept.status).toBe(410);
    }
    expect(
      await countRows(stack.deps.pool, "select 1 from invitations where id = any($1::uuid[]) and status = 'accepted'", [
        [revoked.invitationId, replaced.invitationId, expired.invitationId],
      ]),
    ).toBe(0);
  });

  it("goes to the portal only for the client it belonged to, signed in; another client's session gets the page", async () => {
    const a = await agencyWith('magic_link', 'Home');
    const mine = await createInvitation(stack, a);
    const browser = new FormClient(stack.url);
    const page = await browser.get(`/invite/${mine.token}`);
    expect((await browser.post(`/invite/${mine.token}/accept`, { csrf: csrfOf(page.text) })).status).toBe(303);
    const home = await browser.get(`/invite/${mine.token}`);
    expect(home.status).toBe(303);
    expect(home.headers.get('location')).toBe('/portal');

    const someoneElse = new FormClient(stack.url);
    const theirs = await createInvitation(stack, a);
    const p2 = await someoneElse.get(`/invite/${theirs.token}`);
    expect((await someoneElse.post(`/invite/${theirs.token}/accept`, { csrf: csrfOf(p2.text) })).status).toBe(303);
    const notYours = await someoneElse.get(`/invite/${mine.token}`);
    expect(notYours.status).toBe(410);
  });
});

describe('migration 0120 on a database that already has agencies', () => {
  it('backfills unique slugs from the names, then new agencies get theirs on insert', async () => {
    const { mkdtempSync, readdirSync, copyFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const { createPool, migrate } = await import('@onramp/core');
    const all = fileURLToPath(new URL('../../core/migrations/', import.meta.url));
    const before = mkdtempSync(join(tmpdir(), 'onramp-migrations-'));
    for (const f of readdirSync(all).filter((f) => /^\d{4}_/.test(f) && f < '0120')) copyFileSync(join(all, f), join(before, f));

    const name = `mig_${Date.now().toString(36)}`;
    const admin = createPool(process.env.TEST_DATABASE_URL!, 1);
    await admin.query(`create database ${name}`);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${name}`;
    const pool = createPool(url.toString(), 2);
    try {
      await migrate(pool, undefined, `${before}/`);
      await pool.query(`insert into agencies (name) values ('Acme'), ('ACME!'), ('Zoë & Co'), ('***'), ('acme')`);
      await migrate(pool, undefined, all);
      const { rows } = await pool.query<{ name: string; slug: string; seq: string }>('select name, slug, seq from agencies order by seq');
      expect(rows.map((r) => r.slug)).toEqual(['acme', `acme-${rows[1]!.seq}`, 'zoe-co', 'agency', `acme-${rows[4]!.seq}`]);
      const { rows: fresh } = await pool.query<{ slug: string; seq: string }>(`insert into agencies (name) values ('Acme') returning slug, seq`);
      expect(fresh[0]!.slug).toBe(`acme-${fresh[0]!.seq}`);
      const { rows: settings } = await pool.query('select distinct client_sign_in, reminder_hours_before from agencies');
      expect(settings).toEqual([{ client_sign_in: 'password', reminder_hours_before: [24] }]);
    } finally {
      removeTempDir(before);
      await pool.end();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });
});
