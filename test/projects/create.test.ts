import { startStack, createTwoAgencies, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  // No worker: these tests look at what the API writes (rows, outbox, jobs); delivery is in delivery.test.ts.
  stack = await startStack({ worker: false, smtp: false });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const person = (email: string, first = 'Ada', last = 'Lovelace') => ({ email, first_name: first, last_name: last });
const count = (sql: string, params: unknown[] = []) => countRows(stack.deps.pool, sql, params);

async function makeTemplate(key: string, titles: string[]): Promise<{ id: string; name: string }> {
  const name = `Tpl ${unique()}`;
  const res = await client(stack.url, key).post('/v1/templates', { name, tasks: titles.map((title) => ({ title, description: `About ${title}` })) });
  expect(res.status).toBe(201);
  return res.body;
}

describe('POST /v1/projects (compound create)', () => {
  it('creates the project, its tasks from the template, invites the clients and assigns them, in one call', async () => {
    const tpl = await makeTemplate(a.key, ['Kickoff', 'Brand assets', 'Sign contract']);
    const ext = `crm-${unique()}`;
    const [e1, e2] = [`${unique()}@client.test`, `${unique()}@client.test`];
    const res = await client(stack.url, a.key).post('/v1/projects', {
      name: 'Acme website',
      external_id: ext,
      template_name: tpl.name.toUpperCase(),
      clients: [{ ...person(e1), message: 'Welcome!' }, person(e2, 'Grace', 'Hopper')],
      assignments: [
        { task: 'kickoff', emails: [e1, e2] },
        { task: 'Brand assets', emails: [e2.toUpperCase()] },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Acme website', external_id: ext, template_id: tpl.id, archived: false, created: true });
    expect(res.body.tasks.map((t: { title: string }) => t.title)).toEqual(['Kickoff', 'Brand assets', 'Sign contract']);
    const kickoff = res.body.tasks[0];
    expect(kickoff).toMatchObject({ project_id: res.body.id, description: 'About Kickoff', position: 1, due_date: null });
    expect(kickoff.assignees.map((x: { email: string }) => x.email).sort()).toEqual([e1, e2].sort());
    expect(res.body.tasks[1].assignees).toEqual([{ client_id: expect.any(String), email: e2, first_name: 'Grace', last_name: 'Hopper' }]);
    expect(res.body.tasks[2].assignees).toEqual([]);
    expect(res.body.clients).toEqual([
      { email: e1, client_id: expect.any(String), invitation_id: expect.any(String), result: 'invited' },
      { email: e2, client_id: expect.any(String), invitation_id: expect.any(String), result: 'invited' },
    ]);

    const inv = await client(stack.url, a.key).get(`/v1/invitations/${res.body.clients[0].invitation_id}`);
    expect(inv.body).toMatchObject({ status: 'pending', message: 'Welcome!', project: { id: res.body.id }, delivery_status: 'queued' });
    expect(
      await count("select 1 from emails where kind = 'invitation' and invitation_id = any($1::uuid[])", [
        res.body.clients.map((c: { invitation_id: string }) => c.invitation_id),
      ]),
    ).toBe(2);
    expect(await count("select 1 from events where type = 'project.created' and subject_id = $1", [res.body.id])).toBe(1);
    const { rows: assigned } = await stack.deps.pool.query(
      "select data from events where type = 'task.assigned' and agency_id = $1 and data->>'project_id' = $2",
      [a.agencyId, res.body.id],
    );
    expect(assigned).toHaveLength(3);
    expect(assigned.map((r) => r.data)).toContainEqual(
      expect.objectContaining({ task_id: kickoff.id, task_title: 'Kickoff', email: e1, first_name: 'Ada', last_name: 'Lovelace' }),
    );
    const jobs = await stack.deps.jobs.queue('email').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    for (const c of res.body.clients) {
      const { rows } = await stack.deps.pool.query<{ id: string }>('select id from emails where invitation_id = $1', [c.invitation_id]);
      expect(jobs.some((j) => j.id === `send-email-${rows[0]!.id}`)).toBe(true);
    }
  });

  it('creates a bare project from just a name (no template: no tasks)', async () => {
    const res = await client(stack.url, a.key).post('/v1/projects', { name: '  Bare  ' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'Bare', external_id: null, template_id: null, created: true, tasks: [], clients: [] });
  });

  it('uses the default "Client onboarding" template by id, and send_emails=false invites without queuing mail', async () => {
    const tpls = await client(stack.url, a.key).get('/v1/templates?limit=100');
    const onboarding = tpls.body.data.find((t: { name: string }) => t.name === 'Client onboarding');
    expect(onboarding.tasks.length).toBeGreaterThanOrEqual(3);
    const email = `${unique()}@client.test`;
    const res = await client(stack.url, a.key).post('/v1/projects', {
      name: 'Quiet',
      template_id: onboarding.id,
      clients: [person(email)],
      send_emails: false,
    });
    expect(res.status).toBe(201);
    expect(res.body.tasks).toHaveLength(onboarding.tasks.length);
    expect(res.body.clients[0].result).toBe('invited');
    expect(await count('select 1 from emails where invitation_id = $1', [res.body.clients[0].invitation_id])).toBe(0);
    const inv = await client(stack.url, a.key).get(`/v1/invitations/${res.body.clients[0].invitation_id}`);
    expect(inv.body).toMatchObject({ status: 'pending', delivery_status: 'not_sent', send_count: 0 });
  });

  it('adds an active client without an email, and reuses a pending invitation', async () => {
    const active = `${unique()}@client.test`;
    await stack.deps.pool.query(
      "insert into clients (agency_id, email, first_name, last_name, status, activated_at) values ($1, $2, 'Act', 'Ive', 'active', now())",
      [a.agencyId, active],
    );
    const ext = `crm-${unique()}`;
    const pendingEmail = `${unique()}@client.test`;
    const first = await client(stack.url, a.key).post('/v1/projects', { name: 'P', external_id: ext, clients: [person(pendingEmail)] });
    const again = await client(stack.url, a.key).post('/v1/projects', { name: 'P', external_id: ext, clients: [person(pendingEmail), person(active)] });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);
    expect(again.body.clients).toEqual([
      { email: pendingEmail, client_id: first.body.clients[0].client_id, invitation_id: first.body.clients[0].invitation_id, result: 'already_invited' },
      { email: active, client_id: expect.any(String), invitation_id: null, result: 'added' },
    ]);
    expect(await count('select 1 from memberships where project_id = $1', [first.body.id])).toBe(1);
    expect(await count('select 1 from emails where to_address = $1', [active])).toBe(0);
    expect(await count('select 1 from emails where to_address = $1', [pendingEmail])).toBe(1);
  });

  it('gives each client the outcome the invitation rules give it alone, whatever mix one call brings', async () => {
    const q = (sql: string, params: unknown[]) => stack.deps.pool.query(sql, params);
    const addr = (what: string) => `${what}-${unique()}@client.test`;
    const [fresh, inactive, invitedElsewhere, active, pending, expired] = ['fresh', 'inactive', 'elsewhere', 'active', 'pending', 'expired'].map(addr);
    await q("insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'In', 'Active', 'inactive')", [a.agencyId, inactive]);
    await q("insert into clients (agency_id, email, first_name, last_name, status, activated_at) values ($1, $2, 'Act', 'Ive', 'active', now())", [
      a.agencyId,
      active,
    ]);
    const elsewhere = await client(stack.url, a.key).post('/v1/projects', { name: 'Elsewhere', clients: [person(invitedElsewhere)] });
    expect(elsewhere.body.clients[0].result).toBe('invited');
    const ext = `mix-${unique()}`;
    const first = await client(stack.url, a.key).post('/v1/projects', { name: 'Mix', external_id: ext, clients: [person(pending), person(expired)] });
    const before = new Map(first.body.clients.map((c: { email: string; invitation_id: string }) => [c.email, c.invitation_id]));
    await q("update invitations set expires_at = now() - interval '1 minute' where id = $1", [before.get(expired)]);

    // Given out of address order, one address in capitals: outcomes come back in the order given.
    const given = [expired, active, fresh.toUpperCase(), pending, inactive, invitedElsewhere];
    const res = await client(stack.url, a.key).post('/v1/projects', { name: 'Mix', external_id: ext, clients: given.map((e) => person(e)) });
    expect(res.status).toBe(200);
    expect(res.body.clients.map((c: { email: string; result: string }) => [c.email, c.result])).toEqual([
      [expired, 'invited'],
      [active, 'added'],
      [fresh.toUpperCase(), 'invited'],
      [pending, 'already_invited'],
      [inactive, 'invited'],
      [invitedElsewhere, 'invited'],
    ]);
    const out = new Map(res.body.clients.map((c: { email: string; invitation_id: string | null; client_id: string }) => [c.email, c]));
    const project = res.body.id;
    // The pending one is the same invitation, with no second email; the expired one is expired and replaced.
    expect((out.get(pending) as { invitation_id: string }).invitation_id).toBe(before.get(pending));
    expect(await count('select 1 from emails where to_address = $1', [pending])).toBe(1);
    expect((out.get(expired) as { invitation_id: string }).invitation_id).not.toBe(before.get(expired));
    expect(await count("select 1 from invitations where id = $1 and status = 'expired'", [before.get(expired)])).toBe(1);
    expect(await count("select 1 from events where subject_id = $1 and type = 'invitation.expired'", [before.get(expired)])).toBe(1);
    // One pending invitation, one invitation.created event and one queued email for each client invited by this call.
    for (const email of [expired, fresh, inactive, invitedElsewhere]) {
      const { rows } = await q(
        `select i.id, (select count(*)::int from events e where e.subject_id = i.id and e.type = 'invitation.created') as events,
                (select count(*)::int from emails m where m.invitation_id = i.id and m.status = 'queued') as emails
           from invitations i where i.project_id = $1 and i.email_normalized = $2 and i.status = 'pending'`,
        [project, email],
      );
      expect(rows).toEqual([{ id: expect.any(String), events: 1, emails: 1 }]);
    }
    // The inactive client is invited now; the active one is a member, told by an event and not by email.
    expect(await count("select 1 from clients where agency_id = $1 and email_normalized = $2 and status = 'invited'", [a.agencyId, inactive])).toBe(1);
    const activeId = (out.get(active) as { client_id: string }).client_id;
    expect(await count('select 1 from memberships where project_id = $1 and client_id = $2', [project, activeId])).toBe(1);
    expect(await count("select 1 from events where subject_id = $1 and type = 'client.added_to_project'", [activeId])).toBe(1);
    expect(await count('select 1 from emails where to_address = $1', [active])).toBe(0);
    expect(await count('select 1 from invitations where project_id = $1', [project])).toBe(6);
  });
});

describe('idempotency by external_id', () => {
  it('the same call again returns the existing project (200, created: false) and adds only what is missing', async () => {
    const tpl = await makeTemplate(a.key, ['One', 'Two']);
    const ext = `deal-${unique()}`;
    const [e1, e2] = [`${unique()}@client.test`, `${unique()}@client.test`];
    const body = { name: 'Deal', external_id: ext, template_id: tpl.id, clients: [person(e1)], assignments: [{ task: 'One', emails: [e1] }] };
    const first = await client(stack.url, a.key).post('/v1/projects', body);
    expect(first.status).toBe(201);
    const same = await client(stack.url, a.key).post('/v1/projects', body);
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ id: first.body.id, created: false });
    expect(same.body.clients).toEqual([{ ...first.body.clients[0], result: 'already_invited' }]);
    expect(same.body.tasks).toEqual(first.body.tasks);

    // A later call with one more client and assignment: only those are added. A client already in the
    // project may be assigned without being listed again.
    const more = await client(stack.url, a.key).post('/v1/projects', {
      ...body,
      name: 'Renamed in the CRM',
      clients: [person(e2, 'Grace', 'Hopper')],
      assignments: [
        { task: 'Two', emails: [e1, e2] },
        { task: 'One', emails: [e1] },
      ],
    });
    expect(more.status).toBe(200);
    expect(more.body.name).toBe('Deal');
    expect(more.body.clients).toEqual([expect.objectContaining({ email: e2, result: 'invited' })]);
    expect(more.body.tasks[1].assignees.map((x: { email: string }) => x.email).sort()).toEqual([e1, e2].sort());
    expect(await count('select 1 from projects where agency_id = $1 and external_id = $2', [a.agencyId, ext])).toBe(1);
    expect(await count('select 1 from tasks where project_id = $1', [first.body.id])).toBe(2);
    expect(await count('select 1 from invitations where project_id = $1', [first.body.id])).toBe(2);
    expect(await count("select 1 from events where type = 'project.created' and subject_id = $1", [first.body.id])).toBe(1);
    expect(await count("select 1 from events where type = 'task.assigned' and data->>'project_id' = $1", [first.body.id])).toBe(3);
    expect(await count('select 1 from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1', [first.body.id])).toBe(2);
  });

  it('10 identical calls at once create one project, one invitation per client and one email each', async () => {
    const tpl = await makeTemplate(a.key, ['Alpha', 'Beta', 'Gamma']);
    const ext = `race-${unique()}`;
    const emails = [0, 1, 2].map(() => `${unique()}@client.test`);
    const body = {
      name: 'Race',
      external_id: ext,
      template_id: tpl.id,
      clients: emails.map((e) => person(e)),
      assignments: [
        { task: 'Alpha', emails },
        { task: 'Gamma', emails: [emails[0]] },
      ],
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => client(stack.url, a.key).post('/v1/projects', body)));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const projectId = results[0]!.body.id;
    expect(await count('select 1 from projects where agency_id = $1 and external_id = $2', [a.agencyId, ext])).toBe(1);
    expect(await count('select 1 from tasks where project_id = $1', [projectId])).toBe(3);
    expect(await count('select 1 from invitations where project_id = $1', [projectId])).toBe(3);
    expect(await count('select 1 from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1', [projectId])).toBe(3);
    expect(await count('select 1 from task_assignees a join tasks t on t.id = a.task_id where t.project_id = $1', [projectId])).toBe(4);
    expect(await count("select 1 from events where type = 'project.created' and subject_id = $1", [projectId])).toBe(1);
    expect(await count("select 1 from events where type = 'invitation.created' and data->>'project_id' = $1", [projectId])).toBe(3);
    expect(await count("select 1 from events where type = 'task.assigned' and data->>'project_id' = $1", [projectId])).toBe(4);
    const invited = results.flatMap((r) => r.body.clients).filter((c: { result: string }) => c.result === 'invited');
    expect(invited).toHaveLength(3);
  });

  it('external ids are per agency: the same external_id in another agency is another project', async () => {
    const ext = `shared-${unique()}`;
    const inA = await client(stack.url, a.key).post('/v1/projects', { name: 'A side', external_id: ext });
    const inB = await client(stack.url, b.key).post('/v1/projects', { name: 'B side', external_id: ext });
    expect(inA.status).toBe(201);
    expect(inB.status).toBe(201);
    expect(inB.body.id).not.toBe(inA.body.id);
  });
});

describe('validation: a 422 naming the item, and nothing created', () => {
  async function expectNothingCreated(agencyId: string, ext: string, emails: string[]) {
    expect(await count('select 1 from projects where agency_id = $1 and external_id = $2', [agencyId, ext])).toBe(0);
    expect(await count('select 1 from clients where agency_id = $1 and email_normalized = any($2::text[])', [agencyId, emails])).toBe(0);
    expect(await count('select 1 from emails where agency_id = $1 and to_address = any($2::text[])', [agencyId, emails])).toBe(0);
  }

  it('an unknown template name', async () => {
    const ext = `bad-${unique()}`;
    const email = `${unique()}@client.test`;
    const res = await client(stack.url, a.key).post('/v1/projects', {
      name: 'X',
      external_id: ext,
      template_name: 'No such template',
      clients: [person(email)],
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      // The answer names the agency's templates, so a typo can be fixed from the error alone.
      errors: [
        {
          field: 'template_name',
          message: expect.stringMatching(/^no template named "No such template" in this agency; its templates are .*"Client onboarding"/),
        },
      ],
    });
    await expectNothingCreated(a.agencyId, ext, [email]);
  });

  it("another agency's template id is unknown here", async () => {
    const theirs = await makeTemplate(b.key, ['Theirs']);
    const res = await client(stack.url, a.key).post('/v1/projects', { name: 'X', template_id: theirs.id });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([
      { field: 'template_id', message: expect.stringMatching(/no template with id .*; its templates are .*"Client onboarding"/) },
    ]);
    // Only this agency's names are listed.
    expect(res.body.errors[0].message).not.toContain(theirs.name);
    const byName = await client(stack.url, a.key).post('/v1/projects', { name: 'X', template_name: theirs.name });
    expect(byName.status).toBe(422);
    expect(byName.body.errors[0].message.split('its templates are')[1]).not.toContain(theirs.name);
  });

  it('an assignment to a task the project does not have', async () => {
    const tpl = await makeTemplate(a.key, ['Real task']);
    const ext = `bad-${unique()}`;
    const email = `${unique()}@client.test`;
    const res = await client(stack.url, a.key).post('/v1/projects', {
      name: 'X',
      external_id: ext,
      template_id: tpl.id,
      clients: [person(email)],
      assignments: [
        { task: 'Real task', emails: [email] },
        { task: 'Imaginary task', emails: [email] },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'assignments[1].task', message: 'the project has no task "Imaginary task"' }]);
    await expectNothingCreated(a.agencyId, ext, [email]);
  });

  it('an assignment email that is neither among the clients nor in the project', async () => {
    const tpl = await makeTemplate(a.key, ['T']);
    const ext = `bad-${unique()}`;
    const [listed, stranger] = [`${unique()}@client.test`, `${unique()}@client.test`];
    const res = await client(stack.url, a.key).post('/v1/projects', {
      name: 'X',
      external_id: ext,
      template_id: tpl.id,
      clients: [person(listed)],
      assignments: [{ task: 'T', emails: [listed, stranger] }],
    });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'assignments[0].emails[1]', message: `"${stranger}" is not among clients and is not in the project` }]);
    await expectNothingCreated(a.agencyId, ext, [listed, stranger]);
  });

  it("a client the invitation rules refuse (a firm user's address) rolls everything back and names the client", async () => {
    const ext = `bad-${unique()}`;
    const ok = `${unique()}@client.test`;
    const res = await client(stack.url, a.key).post('/v1/projects', { name: 'X', external_id: ext, clients: [person(ok), person(a.email)] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_belongs_to_firm_user');
    expect(res.body.errors[0].field).toBe('clients[1].email');
    await expectNothingCreated(a.agencyId, ext, [ok]);
  });

  it('a deactivated client rolls everything back and names the client', async () => {
    const ext = `bad-${unique()}`;
    const ok = `${unique()}@client.test`;
    const gone = `gone-${unique()}@client.test`;
    await stack.deps.pool.query("insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'De', 'Activated', 'deactivated')", [
      a.agencyId,
      gone,
    ]);
    const res = await client(stack.url, a.key).post('/v1/projects', { name: 'X', external_id: ext, clients: [person(gone), person(ok)] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('client_deactivated');
    expect(res.body.errors[0].field).toBe('clients[0].email');
    await expectNothingCreated(a.agencyId, ext, [ok]);
    expect(await count("select 1 from clients where agency_id = $1 and email_normalized = $2 and status = 'deactivated'", [a.agencyId, gone])).toBe(1);
  });

  it('shape errors name each field: duplicates, too many clients, both template keys', async () => {
    const email = `${unique()}@client.test`;
    const dup = await client(stack.url, a.key).post('/v1/projects', { name: 'X', clients: [person(email), person(email.toUpperCase())] });
    expect(dup.status).toBe(422);
    expect(dup.body.errors).toEqual([{ field: 'clients[1].email', message: 'duplicates clients[0].email' }]);
    const many = await client(stack.url, a.key).post('/v1/projects', { name: 'X', clients: Array.from({ length: 101 }, (_, i) => person(`${i}-${email}`)) });
    expect(many.status).toBe(422);
    expect(many.body.errors).toEqual([{ field: 'clients', message: 'must have at most 100 clients' }]);
    const both = await client(stack.url, a.key).post('/v1/projects', { name: 'X', template_id: '00000000-0000-4000-8000-000000000000', template_name: 'Y' });
    expect(both.body.errors).toEqual([{ field: 'template_name', message: 'give template_id or template_name, not both' }]);
    const noName = await client(stack.url, a.key).post('/v1/projects', { clients: [{ email: 'not-an-email', first_name: 'A' }] });
    expect(noName.status).toBe(422);
    expect(noName.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['clients[0].email', 'clients[0].last_name', 'name']);
  });

  it('a member (not an owner or admin) cannot create projects', async () => {
    const { rows } = await stack.deps.pool.query<{ id: string }>("insert into firm_users (agency_id, email, role) values ($1, $2, 'member') returning id", [
      a.agencyId,
      `${unique()}@agency.test`,
    ]);
    const { issueApiKey } = await import('@onramp/core');
    const key = await issueApiKey(stack.deps.pool, { agencyId: a.agencyId, userId: rows[0]!.id });
    const res = await client(stack.url, key.key).post('/v1/projects', { name: 'Nope' });
    expect(res.status).toBe(403);
    expect((await client(stack.url, key.key).get('/v1/projects')).status).toBe(200);
  });
});

describe('GET /v1/projects (find), GET /v1/projects/:id, PATCH /v1/projects/:id', () => {
  let agency: TestAgency;
  beforeAll(async () => {
    agency = await createTestAgency(stack, 'Finder');
  });

  it('finds by exact name and by external_id; archived projects are hidden unless asked', async () => {
    const api = client(stack.url, agency.key);
    const one = await api.post('/v1/projects', { name: 'Blue', external_id: 'e-1' });
    const two = await api.post('/v1/projects', { name: 'Blue', external_id: 'e-2' });
    await api.post('/v1/projects', { name: 'blue' });
    expect((await api.get('/v1/projects?name=Blue')).body.data.map((p: { id: string }) => p.id)).toEqual([two.body.id, one.body.id]);
    expect((await api.get('/v1/projects?external_id=e-1')).body.data).toEqual([
      { id: one.body.id, name: 'Blue', external_id: 'e-1', template_id: null, archived: false, created_at: one.body.created_at },
    ]);
    expect((await api.get('/v1/projects?external_id=e-404')).body).toEqual({ data: [], next_cursor: null });

    const archived = await api.patch(`/v1/projects/${one.body.id}`, { archived: true, name: 'Blue (old)' });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ archived: true, name: 'Blue (old)' });
    expect((await api.get('/v1/projects?external_id=e-1')).body.data).toEqual([]);
    expect((await api.get('/v1/projects?external_id=e-1&include_archived=true')).body.data).toHaveLength(1);
    const all = await api.get('/v1/projects?limit=100');
    expect(all.body.data.map((p: { id: string }) => p.id)).not.toContain(one.body.id);

    const back = await api.patch(`/v1/projects/${one.body.id}`, { archived: false });
    expect(back.body.archived).toBe(false);
    expect((await api.get('/v1/projects?external_id=e-1')).body.data).toHaveLength(1);
  });

  it('pages with a cursor', async () => {
    const api = client(stack.url, agency.key);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { data: Array<{ id: string }>; next_cursor: string | null } } = await api.get(
        `/v1/projects?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      res.body.data.forEach((p) => seen.add(p.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 20);
    expect(seen.size).toBe(pages);
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });

  it('gets one project with its tasks', async () => {
    const api = client(stack.url, agency.key);
    const tpl = await api.post('/v1/templates', { name: `T ${unique()}`, tasks: [{ title: 'A' }, { title: 'B' }] });
    const created = await api.post('/v1/projects', { name: 'With tasks', template_id: tpl.body.id });
    const res = await api.get(`/v1/projects/${created.body.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: created.body.id, name: 'With tasks', template_id: tpl.body.id });
    expect(res.body.tasks.map((t: { title: string }) => t.title)).toEqual(['A', 'B']);
    expect((await api.get('/v1/projects/not-a-uuid')).status).toBe(404);
  });

  it('PATCH validates and refuses an external_id another project has', async () => {
    const api = client(stack.url, agency.key);
    const p = await api.post('/v1/projects', { name: 'Patch me', external_id: `pm-${unique()}` });
    const other = await api.post('/v1/projects', { name: 'Other', external_id: `pm-${unique()}` });
    const clash = await api.patch(`/v1/projects/${p.body.id}`, { external_id: other.body.external_id });
    expect(clash.status).toBe(409);
    expect(clash.body.errors).toEqual([{ field: 'external_id', message: 'is already used by another project of this agency' }]);
    expect((await api.patch(`/v1/projects/${p.body.id}`, {})).status).toBe(422);
    expect((await api.patch(`/v1/projects/${p.body.id}`, { name: '' })).body.errors).toEqual([{ field: 'name', message: 'is required' }]);
    const cleared = await api.patch(`/v1/projects/${p.body.id}`, { external_id: null });
    expect(cleared.body.external_id).toBeNull();
  });

  it('an archived project refuses new clients on a repeated create (409) and keeps what it had', async () => {
    const api = client(stack.url, agency.key);
    const ext = `arch-${unique()}`;
    const p = await api.post('/v1/projects', { name: 'Old', external_id: ext });
    await api.patch(`/v1/projects/${p.body.id}`, { archived: true });
    const res = await api.post('/v1/projects', { name: 'Old', external_id: ext, clients: [person(`${unique()}@client.test`)] });
    expect(res.status).toBe(409);
    expect(await count('select 1 from invitations where project_id = $1', [p.body.id])).toBe(0);
    const plain = await api.post('/v1/projects', { name: 'Old', external_id: ext });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ id: p.body.id, archived: true, created: false });
  });
});
