import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let a: TestAgency;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  a = await createTestAgency(stack, 'Tasks');
  api = client(stack.url, a.key);
});
afterAll(async () => {
  await stack.close();
});

const person = (email: string, first = 'Ada', last = 'Lovelace') => ({ email, first_name: first, last_name: last });
const count = (sql: string, params: unknown[] = []) => countRows(stack.deps.pool, sql, params);

async function projectWithTasks(titles: string[], clients: Array<ReturnType<typeof person>> = []) {
  const tpl = await api.post('/v1/templates', { name: `T ${unique()}`, tasks: titles.map((title) => ({ title })) });
  const res = await api.post('/v1/projects', { name: `P ${unique()}`, template_id: tpl.body.id, clients });
  expect(res.status).toBe(201);
  return res.body as { id: string; tasks: Array<{ id: string; title: string }>; clients: Array<{ client_id: string; invitation_id: string }> };
}

async function activeClient(email: string): Promise<string> {
  const { rows } = await stack.deps.pool.query<{ id: string }>(
    "insert into clients (agency_id, email, first_name, last_name, status, activated_at) values ($1, $2, 'Act', 'Ive', 'active', now()) returning id",
    [a.agencyId, email],
  );
  return rows[0]!.id;
}

describe('tasks CRUD', () => {
  it('adds tasks at the end, lists them in order with a cursor, changes and deletes them', async () => {
    const p = await projectWithTasks(['First', 'Second']);
    const added = await api.post(`/v1/projects/${p.id}/tasks`, { title: 'Third', description: 'Later', due_date: '2027-01-31' });
    expect(added.status).toBe(201);
    expect(added.body).toEqual({
      id: expect.any(String),
      project_id: p.id,
      title: 'Third',
      description: 'Later',
      due_date: '2027-01-31',
      position: 3,
      assignees: [],
    });

    const page1 = await api.get(`/v1/projects/${p.id}/tasks?limit=2`);
    expect(page1.body.data.map((t: { title: string }) => t.title)).toEqual(['First', 'Second']);
    const page2 = await api.get(`/v1/projects/${p.id}/tasks?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body).toEqual({ data: [added.body], next_cursor: null });

    const changed = await api.patch(`/v1/projects/${p.id}/tasks/${added.body.id}`, { title: 'Third, renamed', due_date: null, position: 0 });
    expect(changed.body).toMatchObject({ title: 'Third, renamed', due_date: null, description: 'Later', position: 0 });
    expect((await api.get(`/v1/projects/${p.id}/tasks`)).body.data[0].id).toBe(added.body.id);
    expect((await api.get(`/v1/projects/${p.id}/tasks/${added.body.id}`)).body).toEqual(changed.body);

    expect((await api.delete(`/v1/projects/${p.id}/tasks/${added.body.id}`)).status).toBe(204);
    expect((await api.get(`/v1/projects/${p.id}/tasks/${added.body.id}`)).status).toBe(404);
    expect((await api.delete(`/v1/projects/${p.id}/tasks/${added.body.id}`)).status).toBe(404);
  });

  it('validates and refuses a duplicate title in the project', async () => {
    const p = await projectWithTasks(['Only']);
    const dup = await api.post(`/v1/projects/${p.id}/tasks`, { title: 'ONLY' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors).toEqual([{ field: 'title', message: 'is already used by another task of this project' }]);
    const bad = await api.post(`/v1/projects/${p.id}/tasks`, { title: '', due_date: '31/01/2027' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([
      { field: 'title', message: 'is required' },
      { field: 'due_date', message: 'must be a date (YYYY-MM-DD)' },
    ]);
    expect((await api.post('/v1/projects/00000000-0000-4000-8000-000000000000/tasks', { title: 'x' })).status).toBe(404);
    expect((await api.get('/v1/projects/00000000-0000-4000-8000-000000000000/tasks')).status).toBe(404);
  });
});

describe('POST /v1/projects/:id/tasks/:taskId/assignees', () => {
  it('invites someone who is not yet in the project, then assigns them; repeating changes nothing', async () => {
    const p = await projectWithTasks(['Design']);
    const email = `${unique()}@client.test`;
    const url = `/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}/assignees`;
    const res = await api.post(url, person(email));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      task_id: p.tasks[0]!.id,
      result: 'assigned',
      invite_result: 'invited',
      client: { email, first_name: 'Ada', last_name: 'Lovelace', status: 'invited' },
      invitation: { status: 'pending', email, project: { id: p.id }, delivery_status: 'queued', send_count: 1 },
    });
    expect(await count('select 1 from emails where invitation_id = $1', [res.body.invitation.id])).toBe(1);
    expect(await count("select 1 from events where type = 'task.assigned' and subject_id = $1", [p.tasks[0]!.id])).toBe(1);

    const again = await api.post(url, { email: email.toUpperCase() });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ result: 'already_assigned', invite_result: 'already_invited', invitation: { id: res.body.invitation.id } });
    expect(await count('select 1 from invitations where project_id = $1', [p.id])).toBe(1);
    expect(await count('select 1 from emails where invitation_id = $1', [res.body.invitation.id])).toBe(1);
    expect(await count("select 1 from events where type = 'task.assigned' and subject_id = $1", [p.tasks[0]!.id])).toBe(1);
  });

  it('needs first_name and last_name to invite a non-member, and changes nothing without them', async () => {
    const p = await projectWithTasks(['Design']);
    const email = `${unique()}@client.test`;
    const res = await api.post(`/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}/assignees`, { email, first_name: 'Ada' });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'last_name', message: 'is required to invite someone who is not yet in the project' }]);
    expect(await count('select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, email])).toBe(0);
  });

  it('just assigns an existing member (no invitation, no email); an active client of another project is added without email', async () => {
    const p = await projectWithTasks(['Design', 'Build']);
    const email = `${unique()}@client.test`;
    const clientId = await activeClient(email);
    const added = await api.post(`/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}/assignees`, person(email));
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ result: 'assigned', invite_result: 'added', invitation: null, client: { id: clientId, status: 'active' } });
    const member = await api.post(`/v1/projects/${p.id}/tasks/${p.tasks[1]!.id}/assignees`, { email });
    expect(member.status).toBe(201);
    expect(member.body).toMatchObject({ result: 'assigned', invite_result: 'already_member', invitation: null });
    expect(await count('select 1 from emails where client_id = $1', [clientId])).toBe(0);
    expect(await count('select 1 from invitations where client_id = $1', [clientId])).toBe(0);
  });

  it('unassigns (the client stays in the project)', async () => {
    const email = `${unique()}@client.test`;
    const p = await projectWithTasks(['Design'], [person(email)]);
    const url = `/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}/assignees`;
    await api.post(url, { email });
    const clientId = p.clients[0]!.client_id;
    expect((await api.delete(`${url}/${clientId}`)).status).toBe(204);
    expect((await api.get(`/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}`)).body.assignees).toEqual([]);
    expect((await api.delete(`${url}/${clientId}`)).status).toBe(404);
    expect(await count("select 1 from invitations where project_id = $1 and status = 'pending'", [p.id])).toBe(1);
  });

  it('answers 404 for an unknown task and 409 for an archived project', async () => {
    const p = await projectWithTasks(['Design']);
    const email = `${unique()}@client.test`;
    expect((await api.post(`/v1/projects/${p.id}/tasks/00000000-0000-4000-8000-000000000000/assignees`, person(email))).status).toBe(404);
    await api.patch(`/v1/projects/${p.id}`, { archived: true });
    expect((await api.post(`/v1/projects/${p.id}/tasks/${p.tasks[0]!.id}/assignees`, person(email))).status).toBe(409);
    expect(await count('select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, email])).toBe(0);
  });
});

describe('POST /v1/projects/:id/assignments/bulk', () => {
  it('gives one result per item: assigned, invited, already assigned, unknown task, missing names, deactivated client', async () => {
    const [known, fresh, nameless, deactivated] = [0, 1, 2, 3].map(() => `${unique()}@client.test`) as [string, string, string, string];
    const p = await projectWithTasks(['A', 'B'], [person(known)]);
    const [tA, tB] = [p.tasks[0]!.id, p.tasks[1]!.id];
    await api.post(`/v1/projects/${p.id}/tasks/${tA}/assignees`, { email: known });
    const { rows } = await stack.deps.pool.query<{ id: string }>(
      "insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'De', 'Activated', 'deactivated') returning id",
      [a.agencyId, deactivated],
    );
    const res = await api.post(`/v1/projects/${p.id}/assignments/bulk`, {
      items: [
        { task_id: tA, email: known },
        { task_id: tB, email: known },
        { task_id: tA, email: fresh },
        { task_id: tB, email: fresh, first_name: 'Fresh', last_name: 'Person' },
        { task_id: '00000000-0000-4000-8000-000000000000', email: known },
        { task_id: tA, email: nameless },
        { task_id: tA, email: deactivated, first_name: 'De', last_name: 'Activated' },
      ],
    });
    expect(res.status).toBe(200);
    const r = res.body.results;
    expect(r).toHaveLength(7);
    expect(r[0]).toMatchObject({ index: 0, ok: true, result: 'already_assigned', invite_result: 'already_invited' });
    expect(r[1]).toMatchObject({ index: 1, ok: true, result: 'assigned', invite_result: 'already_invited' });
    // Names given on any item for an address serve every item for it.
    expect(r[2]).toMatchObject({ index: 2, ok: true, result: 'assigned', invite_result: 'invited', invitation_id: expect.any(String) });
    expect(r[3]).toMatchObject({ index: 3, ok: true, result: 'assigned', invite_result: 'already_invited', invitation_id: r[2].invitation_id });
    expect(r[4]).toMatchObject({ index: 4, ok: false, error: { code: 'not_found', field: 'task_id' } });
    expect(r[5]).toMatchObject({ index: 5, ok: false, error: { code: 'validation_failed', field: 'first_name' } });
    expect(r[6]).toMatchObject({ index: 6, ok: false, error: { code: 'client_deactivated' } });

    expect(await count('select 1 from invitations where project_id = $1', [p.id])).toBe(2);
    expect(await count('select 1 from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1', [p.id])).toBe(2);
    expect(await count('select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, nameless])).toBe(0);
    expect(await count('select 1 from task_assignees where client_id = $1', [rows[0]!.id])).toBe(0);
    expect(await count('select 1 from task_assignees a join tasks t on t.id = a.task_id where t.project_id = $1', [p.id])).toBe(4);
    expect(await count("select 1 from events where type = 'task.assigned' and data->>'project_id' = $1", [p.id])).toBe(4);

    const replay = await api.post(`/v1/projects/${p.id}/assignments/bulk`, {
      items: [
        { task_id: tA, email: fresh },
        { task_id: tB, email: fresh },
      ],
    });
    expect(replay.body.results.map((x: { result: string }) => x.result)).toEqual(['already_assigned', 'already_assigned']);
  });

  it('limits a request to 1,000 items', async () => {
    const p = await projectWithTasks(['A']);
    const items = Array.from({ length: 1001 }, (_, i) => ({ task_id: p.tasks[0]!.id, email: `${i}@client.test` }));
    const res = await api.post(`/v1/projects/${p.id}/assignments/bulk`, { items });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'items', message: 'must have at most 1000 items' }]);
  });
});

describe('clients: find by email, get with projects and tasks', () => {
  it('finds a client by exact, case-insensitive email', async () => {
    const email = `${unique()}@Client.test`;
    await projectWithTasks(['A'], [person(email)]);
    const res = await api.get(`/v1/clients?email=${encodeURIComponent(`  ${email.toUpperCase()} `)}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      { id: expect.any(String), email, first_name: 'Ada', last_name: 'Lovelace', status: 'invited', created_at: expect.any(String) },
    ]);
    expect((await api.get(`/v1/clients?email=${encodeURIComponent(`x${email}`)}`)).body.data).toEqual([]);
  });

  it('shows the projects a client is in and the tasks assigned there', async () => {
    const email = `${unique()}@client.test`;
    const p1 = await projectWithTasks(['A', 'B'], [person(email)]);
    const p2 = await projectWithTasks(['C'], [person(email)]);
    await api.post(`/v1/projects/${p1.id}/tasks/${p1.tasks[1]!.id}/assignees`, { email });
    const clientId = p1.clients[0]!.client_id;
    const res = await api.get(`/v1/clients/${clientId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: clientId, email, status: 'invited' });
    expect(res.body.projects).toEqual([
      { id: p2.id, name: expect.any(String), external_id: null, archived: false, membership: 'invited', tasks: [] },
      {
        id: p1.id,
        name: expect.any(String),
        external_id: null,
        archived: false,
        membership: 'invited',
        tasks: [{ id: p1.tasks[1]!.id, title: 'B', due_date: null, position: 2 }],
      },
    ]);
    expect((await api.get('/v1/clients/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
