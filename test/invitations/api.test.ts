import { request as httpRequest } from 'node:http';
import { hashToken, TokenPurpose, expireInvitations, issueApiKey, relayQueuedEmails, sendEmailJobId } from '@onramp/core';
import { startStack, createTwoAgencies, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { insertProject, countRows } from '../support/fixtures.js';
import { activateClient, archiveProject, expireInvitation, markInvitationAccepted } from '../support/state.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  // No worker: these tests look at what the API writes (rows, outbox, jobs), not at delivery.
  stack = await startStack({ worker: false, smtp: false, env: { RESEND_MIN_INTERVAL_SECONDS: '0' } });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const person = (email: string, extra: Record<string, unknown> = {}) => ({ email, first_name: 'Ada', last_name: 'Lovelace', ...extra });
const emailsOf = (invitationId: string) => countRows(stack.deps.pool, 'select 1 from emails where invitation_id = $1', [invitationId]);

describe('POST /v1/projects/:id/invitations', () => {
  it('creates the client (invited), a pending invitation, an event and one queued email', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const res = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email, { message: 'Welcome aboard' }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      result: 'invited',
      status: 'pending',
      email,
      project: { id: project.id, name: project.name },
      client: { email, first_name: 'Ada', last_name: 'Lovelace', status: 'invited' },
      created_by: { id: a.userId, email: a.email },
      message: 'Welcome aboard',
      send_count: 1,
      delivery_status: 'queued',
      accepted_at: null,
    });
    const expires = new Date(res.body.expires_at).getTime();
    expect(expires - Date.now()).toBeGreaterThan(6.9 * 86400_000);
    expect(expires - Date.now()).toBeLessThan(7.1 * 86400_000);
    expect(await emailsOf(res.body.id)).toBe(1);
    expect(await countRows(stack.deps.pool, "select 1 from events where type = 'invitation.created' and subject_id = $1", [res.body.id])).toBe(1);
    // The response is built from the creating statement; it must be exactly what a read returns.
    const { result: _result, ...created } = res.body;
    expect((await client(stack.url, a.key).get(`/v1/invitations/${res.body.id}`)).body).toEqual(created);
    // The email waits for the outbox relay (no queue add on the request path); one relay step hands it over.
    const { rows: relay } = await stack.deps.pool.query<{ email_id: string }>(
      'select r.email_id from email_relay r join emails e on e.id = r.email_id where e.invitation_id = $1',
      [res.body.id],
    );
    expect(relay).toHaveLength(1);
    const queue = stack.deps.jobs.queue('email');
    expect(await queue.getJob(sendEmailJobId(relay[0]!.email_id))).toBeUndefined();
    expect(await relayQueuedEmails(stack.deps)).toBeGreaterThanOrEqual(1);
    expect((await queue.getJob(sendEmailJobId(relay[0]!.email_id)))?.data).toEqual({ emailId: relay[0]!.email_id });
    expect(await countRows(stack.deps.pool, 'select 1 from email_relay where email_id = $1', [relay[0]!.email_id])).toBe(0);
  });

  it('returns the existing pending invitation (200) and sends no second email', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const first = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    const again = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    expect(again.status).toBe(200);
    expect(again.body.result).toBe('already_invited');
    expect(again.body.id).toBe(first.body.id);
    expect(await emailsOf(first.body.id)).toBe(1);
  });

  it('50 concurrent identical invites make one invitation and one email', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const results = await Promise.all(Array.from({ length: 50 }, () => client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1', [project.id])).toBe(
      1,
    );
    expect(await countRows(stack.deps.pool, 'select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, email])).toBe(1);
  });

  it('treats A@X.com and " a@x.com " as one client, storing the address as first given', async () => {
    const p1 = await insertProject(stack.deps.pool, a.agencyId);
    const p2 = await insertProject(stack.deps.pool, a.agencyId);
    const tag = unique().toUpperCase();
    const first = await client(stack.url, a.key).post(`/v1/projects/${p1.id}/invitations`, person(`${tag}@X.com`));
    const second = await client(stack.url, a.key).post(`/v1/projects/${p2.id}/invitations`, person(`  ${tag.toLowerCase()}@x.com `));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body.client.id).toBe(first.body.client.id);
    expect(second.body.client.email).toBe(`${tag}@X.com`);
    // An existing client keeps the names first given, in the response as in the database.
    const { result: _r, ...created } = second.body;
    expect((await client(stack.url, a.key).get(`/v1/invitations/${second.body.id}`)).body).toEqual(created);
    const dup = await client(stack.url, a.key).post(`/v1/projects/${p1.id}/invitations`, person(` ${tag.toLowerCase()}@X.COM`));
    expect(dup.status).toBe(200);
    expect(dup.body.id).toBe(first.body.id);
  });

  it('adds an active client to another project at once, without an email', async () => {
    const p1 = await insertProject(stack.deps.pool, a.agencyId);
    const p2 = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const inv = await client(stack.url, a.key).post(`/v1/projects/${p1.id}/invitations`, person(email));
    await activateClient(stack.deps.pool, inv.body.client.id);
    const res = await client(stack.url, a.key).post(`/v1/projects/${p2.id}/invitations`, person(email));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: null,
      status: 'added',
      result: 'added',
      project: { id: p2.id },
      client: { id: inv.body.client.id, status: 'active' },
    });
    expect(await countRows(stack.deps.pool, 'select 1 from memberships where project_id = $1 and client_id = $2', [p2.id, inv.body.client.id])).toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [inv.body.client.id])).toBe(1);
    expect(await countRows(stack.deps.pool, "select 1 from events where type = 'client.added_to_project' and subject_id = $1", [inv.body.client.id])).toBe(1);
    const again = await client(stack.url, a.key).post(`/v1/projects/${p2.id}/invitations`, person(email));
    expect(again.status).toBe(200);
    expect(again.body.result).toBe('already_member');
  });

  it('refuses a deactivated client with 409 naming the way out, and invites again after reactivation', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const inv = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    const clientId = inv.body.client.id;
    const deact = await client(stack.url, a.key).post(`/v1/clients/${clientId}/deactivate`);
    expect(deact.status).toBe(200);
    expect(deact.body.status).toBe('deactivated');
    // Deactivation revokes the pending invitation: its link must stop working.
    const revoked = await client(stack.url, a.key).get(`/v1/invitations/${inv.body.id}`);
    expect(revoked.body.status).toBe('revoked');
    const refused = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('client_deactivated');
    expect(refused.body.detail).toContain(`/v1/clients/${clientId}/reactivate`);
    const react = await client(stack.url, a.key).post(`/v1/clients/${clientId}/reactivate`);
    expect(react.status).toBe(200);
    expect(react.body.status).toBe('inactive');
    const again = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    expect(again.status).toBe(201);
    expect(again.body.client.status).toBe('invited');
  });

  it("refuses a firm user's address with 409", async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const res = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`  ${a.email.toUpperCase()} `));
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_belongs_to_firm_user');
    expect(res.body.errors[0].field).toBe('email');
    expect(await countRows(stack.deps.pool, 'select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, a.email])).toBe(0);
  });

  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['an invalid address', { email: 'not-an-email' }, 'email', /valid email/],
    ['a missing email', { email: undefined }, 'email', /required/],
    ['a missing first name', { first_name: undefined }, 'first_name', /required/],
    ['a blank last name', { last_name: '   ' }, 'last_name', /required/],
    ['a message over 2,000 characters', { message: 'x'.repeat(2001) }, 'message', /2,000/],
    ['a control character in a name', { first_name: 'Ada\u0007' }, 'first_name', /control/],
    ['a header-injection name', { last_name: 'L\r\nBcc: evil@example.com' }, 'last_name', /control/],
    ['a name over 200 characters', { first_name: 'A'.repeat(201) }, 'first_name', /200/],
    ['send_email not a boolean', { send_email: 'yes' }, 'send_email', /boolean/],
  ];
  it.each(bad)('answers 422 naming the field for %s, and changes nothing', async (_name, patch, field, message) => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const body = { ...person(email), ...patch };
    const res = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    const err = res.body.errors.find((e: { field: string }) => e.field === field);
    expect(err).toBeDefined();
    expect(err.message).toMatch(message);
    expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(0);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const res = await fetch(`${stack.url}/v1/projects/${project.id}/invitations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.key}`, 'content-type': 'text/plain' },
      body: 'email=a@b.c',
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { code: string }).code).toBe('unsupported_media_type');
  });

  it('lets only owners and admins invite', async () => {
    const { rows } = await stack.deps.pool.query<{ id: string }>(
      "insert into firm_users (agency_id, email, name, role) values ($1, $2, 'Mem', 'member') returning id",
      [a.agencyId, `${unique()}@agency.test`],
    );
    const memberKey = await issueApiKey(stack.deps.pool, { agencyId: a.agencyId, userId: rows[0]!.id });
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const res = await client(stack.url, memberKey.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('does not invite into an archived project', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    await archiveProject(stack.deps.pool, project.id);
    const res = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`));
    expect(res.status).toBe(409);
  });

  it('honours Idempotency-Key: a replay returns the first response, another body with the same key is rejected', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const key = `idem-${unique()}`;
    const email = `${unique()}@client.test`;
    const first = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email), { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const replay = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email), { 'idempotency-key': key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const other = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`), { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    // The same key in another agency is a different key.
    const projectB = await insertProject(stack.deps.pool, b.agencyId);
    const inB = await client(stack.url, b.key).post(`/v1/projects/${projectB.id}/invitations`, person(email), { 'idempotency-key': key });
    expect(inB.status).toBe(201);
    expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(1);
  });

  it('replays a client error for the same key and body too', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const key = `idem-${unique()}`;
    const body = person('broken');
    const first = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, body, { 'idempotency-key': key });
    const replay = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, body, { 'idempotency-key': key });
    expect(first.status).toBe(422);
    expect(replay.status).toBe(422);
    expect(replay.body.errors).toEqual(first.body.errors);
  });
});

describe('GET /v1/invitations', () => {
  it('lists across projects newest first, filters by status, project and email, and pages with a cursor', async () => {
    const agency = await createTestAgency(stack, 'Lister');
    const p1 = await insertProject(stack.deps.pool, agency.agencyId, 'One');
    const p2 = await insertProject(stack.deps.pool, agency.agencyId, 'Two');
    const api = client(stack.url, agency.key);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api.post(`/v1/projects/${i % 2 ? p2.id : p1.id}/invitations`, person(`l${i}@client.test`))).body.id);
    await api.post(`/v1/invitations/${ids[0]}/revoke`);
    await expireInvitation(stack.deps.pool, ids[1]!, '1 minute');

    const all = await api.get('/v1/invitations?limit=2');
    expect(all.body.data.map((i: { id: string }) => i.id)).toEqual([ids[4], ids[3]]);
    const next = await api.get(`/v1/invitations?limit=2&cursor=${all.body.next_cursor}`);
    expect(next.body.data.map((i: { id: string }) => i.id)).toEqual([ids[2], ids[1]]);
    const last = await api.get(`/v1/invitations?limit=2&cursor=${next.body.next_cursor}`);
    expect(last.body.data.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect(last.body.next_cursor).toBeNull();

    const pending = await api.get('/v1/invitations?status=pending');
    expect(pending.body.data.map((i: { id: string }) => i.id).sort()).toEqual([ids[2], ids[3], ids[4]].sort());
    const expired = await api.get('/v1/invitations?status=expired');
    expect(expired.body.data.map((i: { id: string }) => i.id)).toEqual([ids[1]]);
    expect(expired.body.data[0].status).toBe('expired');
    const revoked = await api.get('/v1/invitations?status=revoked');
    expect(revoked.body.data.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    const byProject = await api.get(`/v1/invitations?project_id=${p2.id}`);
    expect(byProject.body.data.map((i: { id: string }) => i.id).sort()).toEqual([ids[1], ids[3]].sort());
    const byEmail = await api.get('/v1/invitations?email=%20L3@CLIENT.test');
    expect(byEmail.body.data.map((i: { id: string }) => i.id)).toEqual([ids[3]]);
  });

  it('lists both kinds of expired invitation (marked so, or pending past expires_at) in one order across pages', async () => {
    const agency = await createTestAgency(stack, 'Expired lister');
    const project = await insertProject(stack.deps.pool, agency.agencyId, 'Expiring');
    const api = client(stack.url, agency.key);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await api.post(`/v1/projects/${project.id}/invitations`, person(`x${i}@client.test`))).body.id);
    // As the expiry sweep leaves them: stored expired. The listing reads each stored form from its own index range.
    await stack.deps.pool.query(`update invitations set status = 'expired', expires_at = now() - interval '1 day' where id = any($1::uuid[])`, [
      [ids[0], ids[2]],
    ]);
    await expireInvitation(stack.deps.pool, ids[1]!, '1 minute');

    const first = await api.get('/v1/invitations?status=expired&limit=2');
    expect(first.body.data.map((i: { id: string }) => i.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.data.map((i: { status: string }) => i.status)).toEqual(['expired', 'expired']);
    const rest = await api.get(`/v1/invitations?status=expired&limit=2&cursor=${first.body.next_cursor}`);
    expect(rest.body.data.map((i: { id: string }) => i.id)).toEqual([ids[0]]);
    expect(rest.body.next_cursor).toBeNull();
    const all = await api.get('/v1/invitations?limit=3');
    expect(all.body.data.map((i: { id: string }) => i.id)).toEqual([ids[3], ids[2], ids[1]]);
    expect(all.body.data.map((i: { status: string }) => i.status)).toEqual(['pending', 'expired', 'expired']);
  });

  it('rejects bad filters with 422 naming the parameter', async () => {
    const api = client(stack.url, a.key);
    for (const [qs, field] of [
      ['status=bogus', 'status'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['project_id=nope', 'project_id'],
      ['cursor=zzz', 'cursor'],
    ]) {
      const res = await api.get(`/v1/invitations?${qs}`);
      expect(res.status).toBe(422);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
  });
});

describe('resend, revoke, copy link', () => {
  async function invite(agency = a) {
    const project = await insertProject(stack.deps.pool, agency.agencyId);
    const res = await client(stack.url, agency.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`));
    return res.body;
  }
  const hashOf = async (id: string) =>
    (await stack.deps.pool.query<{ token_hash: Buffer | null }>('select token_hash from invitations where id = $1', [id])).rows[0]!.token_hash;

  it('copy link gives a URL on PUBLIC_BASE_URL whose token is the stored hash, whatever the Host header', async () => {
    const inv = await invite();
    const body = await new Promise<{ url: string }>((resolve, reject) => {
      const u = new URL(`${stack.url}/v1/invitations/${inv.id}/link`);
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: { authorization: `Bearer ${a.key}`, host: 'evil.example', 'x-forwarded-host': 'evil.example' },
        },
        (res) => {
          let data = '';
          res.on('data', (c) => (data += c));
          res.on('end', () => resolve(JSON.parse(data)));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(body.url.startsWith(`${stack.config.publicBaseUrl}/invite/`)).toBe(true);
    expect(body.url).not.toContain('evil.example');
    const token = body.url.split('/invite/')[1]!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.compare(hashToken(stack.deps.appSecret, token, TokenPurpose.invitation), (await hashOf(inv.id))!)).toBe(0);
  });

  it('stores no token in clear: the database alone cannot produce the link', async () => {
    const inv = await invite();
    const { url } = (await client(stack.url, a.key).get(`/v1/invitations/${inv.id}/link`)).body;
    const token = url.split('/invite/')[1]!;
    const { rows } = await stack.deps.pool.query('select * from invitations where id = $1', [inv.id]);
    expect(JSON.stringify(rows[0], (_k, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('base64url') : v))).not.toContain(token);
    const emailRows = await stack.deps.pool.query('select * from emails where invitation_id = $1', [inv.id]);
    expect(JSON.stringify(emailRows.rows)).not.toContain(token);
  });

  it('resend rotates the link (the old token stops matching), extends expiry and queues a new email', async () => {
    const inv = await invite();
    const before = await hashOf(inv.id);
    const oldLink = (await client(stack.url, a.key).get(`/v1/invitations/${inv.id}/link`)).body.url;
    const res = await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/resend`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: inv.id, status: 'pending', send_count: 2, delivery_status: 'queued' });
    const after = await hashOf(inv.id);
    expect(Buffer.compare(before!, after!)).not.toBe(0);
    const newLink = (await client(stack.url, a.key).get(`/v1/invitations/${inv.id}/link`)).body.url;
    expect(newLink).not.toBe(oldLink);
    const oldToken = oldLink.split('/invite/')[1]!;
    expect(
      await countRows(stack.deps.pool, 'select 1 from invitations where token_hash = $1', [hashToken(stack.deps.appSecret, oldToken, TokenPurpose.invitation)]),
    ).toBe(0);
    expect(await countRows(stack.deps.pool, "select 1 from emails where invitation_id = $1 and kind = 'invitation_resend'", [inv.id])).toBe(1);
    // The first email, still queued, must never go out with the dead link.
    expect(await countRows(stack.deps.pool, "select 1 from emails where invitation_id = $1 and kind = 'invitation' and status = 'cancelled'", [inv.id])).toBe(
      1,
    );
  });

  it('resends an expired invitation, making it pending again', async () => {
    const inv = await invite();
    await expireInvitation(stack.deps.pool, inv.id, '1 hour');
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}`)).body.status).toBe('expired');
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}/link`)).status).toBe(409);
    const res = await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/resend`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(new Date(res.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 6 * 86400_000);
  });

  it('limits resends to 5 a day per invitation (429 with Retry-After)', async () => {
    const inv = await invite();
    for (let i = 0; i < 5; i++) expect((await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/resend`)).status).toBe(200);
    const sixth = await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/resend`);
    expect(sixth.status).toBe(429);
    expect(sixth.body.code).toBe('rate_limited');
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(86_000);
    expect(await countRows(stack.deps.pool, "select 1 from emails where invitation_id = $1 and kind = 'invitation_resend'", [inv.id])).toBe(5);
  });

  it('revoke burns the link; revoking or resending again answers 409; the link cannot be copied', async () => {
    const inv = await invite();
    const res = await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/revoke`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('revoked');
    expect(res.body.revoked_at).not.toBeNull();
    expect(await hashOf(inv.id)).toBeNull();
    for (const path of [`/v1/invitations/${inv.id}/revoke`, `/v1/invitations/${inv.id}/resend`]) {
      const again = await client(stack.url, a.key).post(path);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('invitation_not_pending');
    }
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}/link`)).status).toBe(409);
    expect(await countRows(stack.deps.pool, "select 1 from events where type = 'invitation.revoked' and subject_id = $1", [inv.id])).toBe(1);
  });

  it('answers 409 for resend or revoke of an accepted invitation', async () => {
    const inv = await invite();
    await markInvitationAccepted(stack.deps.pool, inv.id, { burnLink: true });
    expect((await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/resend`)).status).toBe(409);
    expect((await client(stack.url, a.key).post(`/v1/invitations/${inv.id}/revoke`)).status).toBe(409);
  });
});

describe('resend minimum interval', () => {
  it('allows at most one resend a minute (429 with Retry-After)', async () => {
    const strict = await startStack({ worker: false, smtp: false });
    try {
      const agency = await createTestAgency(strict);
      const project = await insertProject(strict.deps.pool, agency.agencyId);
      const inv = (await client(strict.url, agency.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
      const res = await client(strict.url, agency.key).post(`/v1/invitations/${inv.id}/resend`);
      expect(res.status).toBe(429);
      const retry = Number(res.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(50);
      expect(retry).toBeLessThanOrEqual(60);
    } finally {
      await strict.close();
    }
  });
});

describe('POST /v1/invitations/bulk', () => {
  it('refuses 501 ids with 413 before doing anything', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const inv = (await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    const ids = [inv.id, ...Array.from({ length: 500 }, () => crypto.randomUUID())];
    const res = await client(stack.url, a.key).post('/v1/invitations/bulk', { action: 'revoke', ids });
    expect(res.status).toBe(413);
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}`)).body.status).toBe('pending');
  });

  it('gives per-item results for a mix of valid, other-agency, revoked and junk ids', async () => {
    const pa = await insertProject(stack.deps.pool, a.agencyId);
    const pb = await insertProject(stack.deps.pool, b.agencyId);
    const ok1 = (await client(stack.url, a.key).post(`/v1/projects/${pa.id}/invitations`, person(`${unique()}@client.test`))).body.id;
    const ok2 = (await client(stack.url, a.key).post(`/v1/projects/${pa.id}/invitations`, person(`${unique()}@client.test`))).body.id;
    const revoked = (await client(stack.url, a.key).post(`/v1/projects/${pa.id}/invitations`, person(`${unique()}@client.test`))).body.id;
    await client(stack.url, a.key).post(`/v1/invitations/${revoked}/revoke`);
    const foreign = (await client(stack.url, b.key).post(`/v1/projects/${pb.id}/invitations`, person(`${unique()}@client.test`))).body.id;
    const res = await client(stack.url, a.key).post('/v1/invitations/bulk', { action: 'revoke', ids: [ok1, foreign, revoked, 'junk', ok2] });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.results.map((r: { id: string }) => [r.id, r]));
    expect(byId[ok1]).toEqual({ id: ok1, ok: true, status: 'revoked' });
    expect(byId[ok2]).toEqual({ id: ok2, ok: true, status: 'revoked' });
    expect(byId[foreign]).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(byId[revoked]).toMatchObject({ ok: false, error: { code: 'invitation_not_pending' } });
    expect(byId.junk).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect((await client(stack.url, b.key).get(`/v1/invitations/${foreign}`)).body.status).toBe('pending');
  });

  it('rejects an unknown action with 422', async () => {
    const res = await client(stack.url, a.key).post('/v1/invitations/bulk', { action: 'delete', ids: [crypto.randomUUID()] });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].field).toBe('action');
  });
});

describe('tenant isolation', () => {
  it("answers 404 for every endpoint given agency B's ids with agency A's key, and changes nothing", async () => {
    const pb = await insertProject(stack.deps.pool, b.agencyId);
    const inv = (await client(stack.url, b.key).post(`/v1/projects/${pb.id}/invitations`, person(`${unique()}@client.test`))).body;
    const api = client(stack.url, a.key);
    const attempts = [
      api.post(`/v1/projects/${pb.id}/invitations`, person(`${unique()}@client.test`)),
      api.get(`/v1/invitations/${inv.id}`),
      api.post(`/v1/invitations/${inv.id}/resend`),
      api.post(`/v1/invitations/${inv.id}/revoke`),
      api.get(`/v1/invitations/${inv.id}/link`),
      api.post(`/v1/clients/${inv.client.id}/deactivate`),
      api.post(`/v1/clients/${inv.client.id}/reactivate`),
      api.delete(`/v1/projects/${pb.id}/members/${inv.client.id}`),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
      expect(JSON.stringify(res.body)).not.toContain(inv.email);
    }
    const list = await api.get(`/v1/invitations?project_id=${pb.id}`);
    expect(list.body.data).toEqual([]);
    const after = (await client(stack.url, b.key).get(`/v1/invitations/${inv.id}`)).body;
    expect(after).toMatchObject({ status: 'pending', send_count: 1, client: { status: 'invited' } });
    const events = await api.get('/v1/events');
    expect(events.body.data.some((e: { subject_id: string }) => e.subject_id === inv.id)).toBe(false);
  });
});

describe('members and clients', () => {
  it('removing a client from a project deletes the membership and revokes a pending invitation', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const inv = (await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    const res = await client(stack.url, a.key).delete(`/v1/projects/${project.id}/members/${inv.client.id}`);
    expect(res.status).toBe(204);
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}`)).body.status).toBe('revoked');
    expect((await client(stack.url, a.key).delete(`/v1/projects/${project.id}/members/${inv.client.id}`)).status).toBe(404);
  });

  it('deactivation revokes portal sessions at once', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const inv = (await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    await stack.deps.pool.query("insert into client_sessions (token_hash, client_id, agency_id, expires_at) values ($1, $2, $3, now() + interval '1 day')", [
      Buffer.from(unique()),
      inv.client.id,
      a.agencyId,
    ]);
    await client(stack.url, a.key).post(`/v1/clients/${inv.client.id}/deactivate`);
    expect(await countRows(stack.deps.pool, 'select 1 from client_sessions where client_id = $1 and revoked_at is null', [inv.client.id])).toBe(0);
  });
});

describe('expiry', () => {
  it('reads as expired at once, and the sweep marks it with one invitation.expired event', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const inv = (await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    await expireInvitation(stack.deps.pool, inv.id);
    expect((await client(stack.url, a.key).get(`/v1/invitations/${inv.id}`)).body.status).toBe('expired');
    expect((await stack.deps.pool.query('select status from invitations where id = $1', [inv.id])).rows[0].status).toBe('pending');
    expect(await expireInvitations(stack.deps.pool)).toBeGreaterThanOrEqual(1);
    expect((await stack.deps.pool.query('select status, token_hash from invitations where id = $1', [inv.id])).rows[0]).toEqual({
      status: 'expired',
      token_hash: null,
    });
    await expireInvitations(stack.deps.pool);
    expect(await countRows(stack.deps.pool, "select 1 from events where type = 'invitation.expired' and subject_id = $1", [inv.id])).toBe(1);
  });

  it('inviting again after expiry makes a new pending invitation', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const email = `${unique()}@client.test`;
    const first = (await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email))).body;
    await expireInvitation(stack.deps.pool, first.id);
    const second = await client(stack.url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.id);
    expect((await client(stack.url, a.key).get(`/v1/invitations/${first.id}`)).body.status).toBe('expired');
  });

  it('uses the agency expiry setting', async () => {
    const agency = await createTestAgency(stack);
    await stack.deps.pool.query('update agencies set invite_expiry_days = 2 where id = $1', [agency.agencyId]);
    const project = await insertProject(stack.deps.pool, agency.agencyId);
    const inv = (await client(stack.url, agency.key).post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    const days = (new Date(inv.expires_at).getTime() - Date.now()) / 86400_000;
    expect(days).toBeGreaterThan(1.9);
    expect(days).toBeLessThan(2.1);
  });
});

describe('GET /v1/events', () => {
  it('is ascending with a stable cursor and a type filter', async () => {
    const agency = await createTestAgency(stack);
    const project = await insertProject(stack.deps.pool, agency.agencyId);
    const api = client(stack.url, agency.key);
    const i1 = (await api.post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    const i2 = (await api.post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).body;
    await api.post(`/v1/invitations/${i1.id}/revoke`);
    const page1 = await api.get('/v1/events?limit=2');
    expect(page1.body.data.map((e: { type: string }) => e.type)).toEqual(['invitation.created', 'invitation.created']);
    expect(page1.body.data.map((e: { subject_id: string }) => e.subject_id)).toEqual([i1.id, i2.id]);
    const page2 = await api.get(`/v1/events?after=${page1.body.next_cursor}`);
    expect(page2.body.data.map((e: { type: string }) => e.type)).toEqual(['invitation.revoked']);
    const filtered = await api.get('/v1/events?type=invitation.revoked');
    expect(filtered.body.data).toHaveLength(1);
    const bad = await api.get('/v1/events?type=nope');
    expect(bad.status).toBe(422);
  });
});

describe('rate limits shared through Redis', () => {
  it('limits invitations created per agency per hour, and counts only real creations', async () => {
    const limited = await startStack({ worker: false, smtp: false, env: { INVITES_PER_AGENCY_PER_HOUR: '3' } });
    try {
      const agency = await createTestAgency(limited);
      const project = await insertProject(limited.deps.pool, agency.agencyId);
      const api = client(limited.url, agency.key);
      const email = `${unique()}@client.test`;
      expect((await api.post(`/v1/projects/${project.id}/invitations`, person(email))).status).toBe(201);
      // Re-inviting the same person is not a creation and must not use up the quota.
      for (let i = 0; i < 3; i++) expect((await api.post(`/v1/projects/${project.id}/invitations`, person(email))).status).toBe(200);
      expect((await api.post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).status).toBe(201);
      expect((await api.post(`/v1/projects/${project.id}/invitations`, person(`${unique()}@client.test`))).status).toBe(201);
      const refused = `${unique()}@client.test`;
      const over = await api.post(`/v1/projects/${project.id}/invitations`, person(refused));
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
      // The refusal created nothing: no client, no invitation, no email.
      expect(await countRows(limited.deps.pool, 'select 1 from clients where agency_id = $1 and email = $2', [agency.agencyId, refused])).toBe(0);
      expect(await countRows(limited.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(3);
      // With the quota full, a retry of an invitation that exists still answers it (200), not 429.
      const retry = await api.post(`/v1/projects/${project.id}/invitations`, person(email));
      expect(retry.status).toBe(200);
      expect(retry.body.result).toBe('already_invited');
    } finally {
      await limited.close();
    }
  });

  it('a burst of concurrent invites creates exactly the quota, and every other request is a 429 that wrote nothing', async () => {
    // Concurrent requests take their quotas in one Redis pipeline and are written in one statement: the
    // counting must stay exact through both.
    const limited = await startStack({ worker: false, smtp: false, env: { INVITES_PER_AGENCY_PER_HOUR: '5' } });
    try {
      const agency = await createTestAgency(limited);
      const project = await insertProject(limited.deps.pool, agency.agencyId);
      const api = client(limited.url, agency.key);
      const emails = Array.from({ length: 20 }, () => `${unique()}@client.test`);
      const responses = await Promise.all(emails.map((e) => api.post(`/v1/projects/${project.id}/invitations`, person(e))));
      const created = emails.filter((_, i) => responses[i]!.status === 201);
      expect(created).toHaveLength(5);
      expect(responses.filter((r) => r.status === 429)).toHaveLength(15);
      expect(await countRows(limited.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(5);
      expect(await countRows(limited.deps.pool, 'select 1 from clients where agency_id = $1', [agency.agencyId])).toBe(5);
      const { rows } = await limited.deps.pool.query<{ email: string }>('select email from invitations where project_id = $1', [project.id]);
      expect(rows.map((r) => r.email).sort()).toEqual(created.sort());
    } finally {
      await limited.close();
    }
  });

  it('limits emails per recipient per day', async () => {
    const limited = await startStack({ worker: false, smtp: false, env: { EMAILS_PER_RECIPIENT_PER_DAY: '2' } });
    try {
      const agency = await createTestAgency(limited);
      const api = client(limited.url, agency.key);
      const email = `${unique()}@client.test`;
      for (let i = 0; i < 2; i++) {
        const project = await insertProject(limited.deps.pool, agency.agencyId);
        expect((await api.post(`/v1/projects/${project.id}/invitations`, person(email))).status).toBe(201);
      }
      const project = await insertProject(limited.deps.pool, agency.agencyId);
      const over = await api.post(`/v1/projects/${project.id}/invitations`, person(email));
      expect(over.status).toBe(429);
      // Without an email, the recipient quota does not apply.
      const quiet = await api.post(`/v1/projects/${project.id}/invitations`, person(email, { send_email: false }));
      expect(quiet.status).toBe(201);
      expect(quiet.body.delivery_status).toBe('not_sent');
      expect(quiet.body.send_count).toBe(0);
    } finally {
      await limited.close();
    }
  });
});
