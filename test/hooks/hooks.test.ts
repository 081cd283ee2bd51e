import { createHmac } from 'node:crypto';
import { emptyImportCounts, withTransaction, type PoolClient } from '@onramp/core';
import { startStack, createTestAgency, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { Receiver, until } from '../support/receiver.js';
import { unique } from '../support/unique.js';
import { recordEvent } from '../support/state.js';

// ---- fixtures: rows + their event in one transaction, as the real use cases do ---------------------------

let stack: TestStack;
let strict: TestStack;
const receiver = new Receiver();

async function insertProject(tx: PoolClient, agency: TestAgency, name = `Project ${unique()}`): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(`insert into projects (agency_id, name, external_id, created_by) values ($1, $2, $3, $4) returning id`, [
    agency.agencyId,
    name,
    `crm-${unique()}`,
    agency.userId,
  ]);
  const projectId = rows[0]!.id;
  await tx.query(`insert into tasks (agency_id, project_id, position, title) values ($1, $2, 0, 'Welcome call'), ($1, $2, 1, 'Share brand assets')`, [
    agency.agencyId,
    projectId,
  ]);
  return projectId;
}

/** A project.created event's data (as the event catalog has it) for a project the fixtures inserted. */
async function projectData(tx: PoolClient, projectId: string): Promise<{ name: string; external_id: string | null; template_id: string | null }> {
  const { rows } = await tx.query<{ name: string; external_id: string | null; template_id: string | null }>(
    'select name, external_id, template_id from projects where id = $1',
    [projectId],
  );
  return rows[0]!;
}

async function projectCreated(agency: TestAgency): Promise<{ projectId: string; eventId: number }> {
  return withTransaction(stack.deps.pool, async (tx) => {
    const projectId = await insertProject(tx, agency);
    const e = await recordEvent(tx, {
      agencyId: agency.agencyId,
      type: 'project.created',
      subjectId: projectId,
      actorId: agency.userId,
      data: await projectData(tx, projectId),
    });
    return { projectId, eventId: e.id };
  });
}

async function insertInvitation(tx: PoolClient, agency: TestAgency, accepted: boolean): Promise<string> {
  const projectId = await insertProject(tx, agency);
  const tag = unique();
  const c = await tx.query<{ id: string }>(
    `insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'Ada', 'Client', $3) returning id`,
    [agency.agencyId, `ada-${tag}@client.test`, accepted ? 'active' : 'invited'],
  );
  const i = await tx.query<{ id: string }>(
    `insert into invitations (agency_id, project_id, client_id, email, created_by, status, expires_at, send_count, accepted_at, message)
     values ($1, $2, $3, $4, $5, $6, now() + interval '7 days', 1, $7, 'Welcome aboard') returning id`,
    [agency.agencyId, projectId, c.rows[0]!.id, `ada-${tag}@client.test`, agency.userId, accepted ? 'accepted' : 'pending', accepted ? new Date() : null],
  );
  return i.rows[0]!.id;
}

async function invitationEvent(agency: TestAgency, type: 'invitation.created' | 'invitation.accepted'): Promise<{ invitationId: string; eventId: number }> {
  return withTransaction(stack.deps.pool, async (tx) => {
    const invitationId = await insertInvitation(tx, agency, type === 'invitation.accepted');
    const { rows } = await tx.query<{ project_id: string; client_id: string; email: string }>(
      'select project_id, client_id, email from invitations where id = $1',
      [invitationId],
    );
    const { project_id, client_id, email } = rows[0]!;
    const e =
      type === 'invitation.created'
        ? await recordEvent(tx, { agencyId: agency.agencyId, type, subjectId: invitationId, actorId: agency.userId, data: { project_id, client_id, email } })
        : await recordEvent(tx, { agencyId: agency.agencyId, type, subjectId: invitationId, actorId: agency.userId, data: { project_id, client_id } });
    return { invitationId, eventId: e.id };
  });
}

async function importCompleted(agency: TestAgency): Promise<{ importId: string; eventId: number }> {
  return withTransaction(stack.deps.pool, async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      `insert into imports (agency_id, created_by, status, filename, rows_total, checkpoint_row, counts, started_at, finished_at)
       values ($1, $2, 'completed', 'clients.csv', 3, 3, '{"rows": 3, "projects_created": 1, "clients_invited": 2}', now(), now()) returning id`,
      [agency.agencyId, agency.userId],
    );
    const e = await recordEvent(tx, {
      agencyId: agency.agencyId,
      type: 'import.completed',
      subjectId: rows[0]!.id,
      data: { counts: { ...emptyImportCounts(), rows: 3, projects_created: 1, clients_invited: 2 }, dry_run: false },
    });
    return { importId: rows[0]!.id, eventId: e.id };
  });
}

async function subscribe(agency: TestAgency, event: string, url: string): Promise<{ id: string; secret: string }> {
  const res = await client(stack.url, agency.key).post('/v1/hooks', { target_url: url, event });
  expect(res.status).toBe(201);
  return res.body;
}

const deliveriesOf = async (agency: TestAgency, hookId: string) => (await client(stack.url, agency.key).get(`/v1/hooks/${hookId}/deliveries`)).body;

beforeAll(async () => {
  await receiver.start();
  stack = await startStack({ smtp: false, env: { WEBHOOK_BACKOFF_MS: '200', WEBHOOK_DISABLE_AFTER_FAILURES: '2' } });
  // The production rules, API only: no worker, so nothing of this stack ever sends a request.
  strict = await startStack({ smtp: false, worker: false, env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' } });
});
afterAll(async () => {
  await stack?.close();
  await strict?.close();
  await receiver.close();
});

describe('POST /v1/hooks validation (production rules)', () => {
  let agency: TestAgency;
  beforeAll(async () => {
    agency = await createTestAgency(strict, 'Strict');
  });

  const cases: Array<[string, unknown, string, RegExp]> = [
    ['a value that is not a URL', { target_url: 'not a url', event: 'project.created' }, 'target_url', /not a valid URL/],
    ['plain http', { target_url: 'http://hooks.zapier.com/hooks/standard/1', event: 'project.created' }, 'target_url', /must start with https:\/\//],
    ['a name resolving to loopback', { target_url: 'https://localhost/hook', event: 'project.created' }, 'target_url', /resolves to .*loopback/],
    ['the cloud metadata address', { target_url: 'https://169.254.169.254/latest/meta-data/', event: 'project.created' }, 'target_url', /link-local/],
    ['an IPv4-mapped private address', { target_url: 'https://[::ffff:10.0.0.1]/', event: 'project.created' }, 'target_url', /IPv4-mapped 10\.0\.0\.1/],
    ['a missing target_url', { event: 'project.created' }, 'target_url', /./],
    [
      'an unknown event',
      { target_url: 'https://8.8.8.8/hook', event: 'invitation.revoked' },
      'event',
      /must be one of: invitation\.accepted, invitation\.created, project\.created, import\.completed/,
    ],
  ];
  it.each(cases)('rejects %s with 422 naming the field', async (_name, body, field, message) => {
    const res = await client(strict.url, agency.key).post('/v1/hooks', body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([{ field, message: expect.stringMatching(message) }]));
    const list = await client(strict.url, agency.key).get('/v1/hooks');
    expect(list.body.data).toEqual([]);
  });

  it('accepts an https URL on a public address (and returns the secret once)', async () => {
    const res = await client(strict.url, agency.key).post('/v1/hooks', { target_url: 'https://8.8.8.8/hook', event: 'project.created' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ event: 'project.created', target_url: 'https://8.8.8.8/hook', status: 'active' });
    expect(res.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // This agency never has an event, and the hook is gone before the test ends: nothing is ever sent to it.
    expect((await client(strict.url, agency.key).delete(`/v1/hooks/${res.body.id}`)).status).toBe(204);
  });
});

describe('deliveries', () => {
  it('POSTs a signed payload to every subscription of the event, once each', async () => {
    const agency = await createTestAgency(stack);
    const t1 = receiver.target();
    const t2 = receiver.target();
    const h1 = await subscribe(agency, 'project.created', t1.url);
    const h2 = await subscribe(agency, 'project.created', t2.url);
    expect(h1.secret).not.toBe(h2.secret);
    const { projectId, eventId } = await projectCreated(agency);

    for (const [t, h] of [
      [t1, h1],
      [t2, h2],
    ] as const) {
      const [req] = await until('the delivery', async () => (receiver.at(t.path).length ? receiver.at(t.path) : null));
      const sig = createHmac('sha256', h.secret).update(`${req!.headers['onramp-timestamp']}.${req!.raw}`).digest('hex');
      expect(req!.headers['onramp-signature']).toBe(`v1=${sig}`);
      expect(req!.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': 'Onramp-Webhooks/1',
        'onramp-event': 'project.created',
        'onramp-delivery-id': expect.stringMatching(/^[0-9a-f-]{36}$/),
        'onramp-timestamp': expect.stringMatching(/^\d{10}$/),
      });
      expect(req!.body).toMatchObject({
        id: projectId,
        event: 'project.created',
        event_id: String(eventId),
        tasks: [{ title: 'Welcome call' }, { title: 'Share brand assets' }],
      });
    }
    // Give a duplicate every chance to show up: another event delivered later proves the scans ran past it.
    await projectCreated(agency);
    await until('the second event', async () => receiver.at(t1.path).length === 2 && receiver.at(t2.path).length === 2);
    expect(receiver.at(t1.path).map((r) => r.body.event_id)).toEqual([String(eventId), expect.any(String)]);
    const log = await deliveriesOf(agency, h1.id);
    expect(log.data).toHaveLength(2);
    expect(log.data[1]).toMatchObject({
      event: 'project.created',
      event_id: String(eventId),
      status: 'succeeded',
      attempts: [{ attempt: 1, status_code: 200, error: null }],
    });
  });

  it('retries 500s with backoff: delivered on the 3rd attempt, every attempt recorded', async () => {
    const agency = await createTestAgency(stack);
    const t = receiver.target([500, 500]);
    const hook = await subscribe(agency, 'invitation.accepted', t.url);
    await invitationEvent(agency, 'invitation.accepted');
    const d = await until('the delivery to succeed', async () => {
      const log = await deliveriesOf(agency, hook.id);
      return log.data[0]?.status === 'succeeded' ? log.data[0] : null;
    });
    expect(d.attempts).toEqual([
      { attempt: 1, status_code: 500, error: 'the receiver answered 500', duration_ms: expect.any(Number), created_at: expect.any(String) },
      { attempt: 2, status_code: 500, error: 'the receiver answered 500', duration_ms: expect.any(Number), created_at: expect.any(String) },
      { attempt: 3, status_code: 200, error: null, duration_ms: expect.any(Number), created_at: expect.any(String) },
    ]);
    expect(receiver.at(t.path)).toHaveLength(3);
    // Same delivery id and body on every attempt: receivers dedupe on Onramp-Delivery-Id.
    expect(new Set(receiver.at(t.path).map((r) => r.headers['onramp-delivery-id'])).size).toBe(1);
    expect(new Set(receiver.at(t.path).map((r) => r.raw)).size).toBe(1);
  });

  it('410 Gone deletes the subscription', async () => {
    const agency = await createTestAgency(stack);
    const t = receiver.target([410]);
    const hook = await subscribe(agency, 'invitation.created', t.url);
    await invitationEvent(agency, 'invitation.created');
    await until('the hook to be deleted', async () => (await client(stack.url, agency.key).get('/v1/hooks')).body.data.length === 0);
    expect(receiver.at(t.path)).toHaveLength(1);
    expect((await client(stack.url, agency.key).delete(`/v1/hooks/${hook.id}`)).status).toBe(404);
  });

  it('another 4xx fails the delivery for good; repeated failures disable the hook with a reason', async () => {
    const agency = await createTestAgency(stack);
    const t = receiver.target([400, 404]);
    const hook = await subscribe(agency, 'project.created', t.url);
    await projectCreated(agency);
    const failed = await until('the delivery to fail', async () => {
      const log = await deliveriesOf(agency, hook.id);
      return log.data[0]?.status === 'failed' ? log.data[0] : null;
    });
    expect(failed).toMatchObject({ last_status_code: 400, last_error: 'the receiver answered 400', attempts: [{ attempt: 1, status_code: 400 }] });
    let listed = (await client(stack.url, agency.key).get('/v1/hooks')).body.data[0];
    expect(listed).toMatchObject({ status: 'active', consecutive_failures: 1 });

    await projectCreated(agency); // answered 404: the second failure in a row (WEBHOOK_DISABLE_AFTER_FAILURES=2)
    listed = await until('the hook to be disabled', async () => {
      const h = (await client(stack.url, agency.key).get('/v1/hooks')).body.data[0];
      return h.status === 'disabled' ? h : null;
    });
    expect(listed.disabled_reason).toMatch(/2 deliveries in a row failed; last: the receiver answered 404/);
    expect(receiver.at(t.path)).toHaveLength(2);
  });

  it('never delivers an event from before the hook existed', async () => {
    const agency = await createTestAgency(stack);
    const before = await projectCreated(agency);
    const t = receiver.target();
    const hook = await subscribe(agency, 'project.created', t.url);
    const after = await projectCreated(agency);
    await until('the later event', async () => receiver.at(t.path).length > 0);
    // A full rescan window later, the older event still has no delivery.
    await stack.deps.redis.del(`${stack.config.redisPrefix}:webhook-dispatch-full`);
    await projectCreated(agency);
    await until('the third event', async () => receiver.at(t.path).length === 2);
    expect(receiver.at(t.path).map((r) => r.body.event_id)).not.toContain(String(before.eventId));
    expect(receiver.at(t.path)[0]!.body.event_id).toBe(String(after.eventId));
    const { rows } = await stack.deps.pool.query('select 1 from webhook_deliveries where hook_id = $1 and event_id = $2', [hook.id, before.eventId]);
    expect(rows).toEqual([]);
  });

  it('delivers an event whose transaction commits after a later event was already dispatched', async () => {
    const agency = await createTestAgency(stack);
    const t = receiver.target();
    await subscribe(agency, 'project.created', t.url);
    const slow = await stack.deps.pool.connect();
    try {
      await slow.query('begin');
      const projectId = await insertProject(slow, agency, 'Slow project');
      const early = await recordEvent(slow, {
        agencyId: agency.agencyId,
        type: 'project.created',
        subjectId: projectId,
        data: await projectData(slow, projectId),
      });
      const later = await projectCreated(agency);
      expect(later.eventId).toBeGreaterThan(early.id);
      await until('the later event', async () => receiver.at(t.path).some((r) => r.body.event_id === String(later.eventId)));
      await slow.query('commit');
      const got = await until('the early event', async () => receiver.at(t.path).find((r) => r.body.event_id === String(early.id)));
      expect(got.body).toMatchObject({ id: projectId, name: 'Slow project' });
    } finally {
      slow.release();
    }
    expect(receiver.at(t.path)).toHaveLength(2);
  });

  it('unsubscribing stops deliveries', async () => {
    const agency = await createTestAgency(stack);
    const gone = receiver.target();
    const kept = receiver.target();
    const hook = await subscribe(agency, 'invitation.created', gone.url);
    await subscribe(agency, 'invitation.created', kept.url);
    await invitationEvent(agency, 'invitation.created');
    await until('both deliveries', async () => receiver.at(gone.path).length === 1 && receiver.at(kept.path).length === 1);
    expect((await client(stack.url, agency.key).delete(`/v1/hooks/${hook.id}`)).status).toBe(204);
    await invitationEvent(agency, 'invitation.created');
    await until('the kept hook', async () => receiver.at(kept.path).length === 2);
    expect(receiver.at(gone.path)).toHaveLength(1);
  });
});

describe('tenant isolation', () => {
  it("one agency can neither see, delete nor read the deliveries of another's hooks, nor receive its events", async () => {
    const { a, b } = await createTwoAgencies(stack);
    const ta = receiver.target();
    const tb = receiver.target();
    const hookA = await subscribe(a, 'project.created', ta.url);
    const hookB = await subscribe(b, 'project.created', tb.url);
    const api = client(stack.url, a.key);

    expect((await api.delete(`/v1/hooks/${hookB.id}`)).status).toBe(404);
    expect((await api.get(`/v1/hooks/${hookB.id}/deliveries`)).status).toBe(404);
    expect((await api.get('/v1/hooks')).body.data.map((h: { id: string }) => h.id)).toEqual([hookA.id]);
    expect((await api.get('/v1/hooks')).body.data[0]).not.toHaveProperty('secret');

    const eventB = await projectCreated(b);
    const eventA = await projectCreated(a);
    await until('both deliveries', async () => receiver.at(ta.path).length === 1 && receiver.at(tb.path).length === 1);
    expect(receiver.at(ta.path)[0]!.body.event_id).toBe(String(eventA.eventId));
    expect(receiver.at(tb.path)[0]!.body.event_id).toBe(String(eventB.eventId));
    expect((await client(stack.url, b.key).get('/v1/hooks')).body.data.map((h: { id: string }) => h.id)).toEqual([hookB.id]);
    // B's hook still exists after A's delete attempt, and A's feed holds only A's project.
    expect((await client(stack.url, b.key).get(`/v1/hooks/${hookB.id}/deliveries`)).body.data).toHaveLength(1);
    expect((await api.get('/v1/feeds/project.created')).body.data.map((p: { id: string }) => p.id)).toEqual([eventA.projectId]);
  });
});

describe('polling feeds', () => {
  it.each([
    ['invitation.accepted', (ag: TestAgency) => invitationEvent(ag, 'invitation.accepted')],
    ['invitation.created', (ag: TestAgency) => invitationEvent(ag, 'invitation.created')],
    ['project.created', projectCreated],
    ['import.completed', importCompleted],
  ] as const)('the %s feed item deep-equals the delivered payload', async (event, make) => {
    const agency = await createTestAgency(stack);
    const t = receiver.target();
    await subscribe(agency, event, t.url);
    await make(agency);
    const [delivered] = await until('the delivery', async () => (receiver.at(t.path).length ? receiver.at(t.path) : null));
    const feed = await client(stack.url, agency.key).get(`/v1/feeds/${event}`);
    expect(feed.status).toBe(200);
    expect(feed.body.data).toHaveLength(1);
    expect(feed.body.data[0]).toStrictEqual(delivered!.body);
    expect(Object.keys(feed.body.data[0]).sort()).toEqual(Object.keys(delivered!.body).sort());
  });

  it('lists newest first, one item per entity, honours limit and validates its inputs', async () => {
    const agency = await createTestAgency(stack);
    const first = await invitationEvent(agency, 'invitation.created');
    const second = await invitationEvent(agency, 'invitation.created');
    const third = await invitationEvent(agency, 'invitation.created');
    const api = client(stack.url, agency.key);
    const all = await api.get('/v1/feeds/invitation.created');
    expect(all.body.data.map((p: { id: string }) => p.id)).toEqual([third.invitationId, second.invitationId, first.invitationId]);
    expect(all.body.data[0]).toMatchObject({
      event: 'invitation.created',
      event_id: String(third.eventId),
      status: 'pending',
      project: { id: expect.any(String) },
    });
    expect((await api.get('/v1/feeds/invitation.created?limit=2')).body.data).toHaveLength(2);
    expect((await api.get('/v1/feeds/invitation.created?limit=0')).status).toBe(422);
    expect((await api.get('/v1/feeds/invitation.created?limit=101')).status).toBe(422);
    // No such feed: a 404 like any path that names nothing, saying which feeds exist.
    const unknown = await api.get('/v1/feeds/client.deactivated');
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/must be one of.*invitation\.accepted/);
  });
});
