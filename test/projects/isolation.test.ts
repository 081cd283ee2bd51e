import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

/** Everything B can see of its own data, to prove A's calls changed nothing. */
async function snapshotOfB(ids: { project: string; template: string; client: string }) {
  const asB = client(stack.url, b.key);
  const [project, tasks, template, theClient] = await Promise.all([
    asB.get(`/v1/projects/${ids.project}`),
    asB.get(`/v1/projects/${ids.project}/tasks`),
    asB.get(`/v1/templates/${ids.template}`),
    asB.get(`/v1/clients/${ids.client}`),
  ]);
  const { rows } = await stack.deps.pool.query('select count(*)::int as n from events where agency_id = $1', [b.agencyId]);
  return { project: project.body, tasks: tasks.body, template: template.body, client: theClient.body, events: rows[0].n };
}

describe("tenant isolation: another agency's ids answer 404 and change nothing", () => {
  it('covers every projects, tasks, assignments, templates and clients endpoint', async () => {
    const asB = client(stack.url, b.key);
    const asA = client(stack.url, a.key);
    const email = `iso-${Date.now()}@client.test`;
    const tpl = await asB.post('/v1/templates', { name: 'B only', tasks: [{ title: 'Secret task' }] });
    const created = await asB.post('/v1/projects', {
      name: 'B project',
      external_id: 'b-ext',
      template_id: tpl.body.id,
      clients: [{ email, first_name: 'Bee', last_name: 'Client' }],
      assignments: [{ task: 'Secret task', emails: [email] }],
    });
    expect(created.status).toBe(201);
    const ids = { project: created.body.id, template: tpl.body.id, client: created.body.clients[0].client_id, task: created.body.tasks[0].id };
    const before = await snapshotOfB(ids);
    const ownProject = await asA.post('/v1/projects', { name: 'A project', template_name: 'Client onboarding' });

    const p = `/v1/projects/${ids.project}`;
    const t = `${p}/tasks/${ids.task}`;
    const calls: Array<[string, () => Promise<{ status: number }>]> = [
      ['GET project', () => asA.get(p)],
      ['PATCH project', () => asA.patch(p, { name: 'Hijacked', archived: true })],
      ['GET tasks', () => asA.get(`${p}/tasks`)],
      ['POST task', () => asA.post(`${p}/tasks`, { title: 'Injected' })],
      ['GET task', () => asA.get(t)],
      ['PATCH task', () => asA.patch(t, { title: 'Hijacked' })],
      ['DELETE task', () => asA.delete(t)],
      ['POST assignee', () => asA.post(`${t}/assignees`, { email: 'a-side@client.test', first_name: 'A', last_name: 'Side' })],
      ['DELETE assignee', () => asA.delete(`${t}/assignees/${ids.client}`)],
      ['POST bulk', () => asA.post(`${p}/assignments/bulk`, { items: [{ task_id: ids.task, email, first_name: 'X', last_name: 'Y' }] })],
      [
        "POST assignee with B's task in A's project",
        () => asA.post(`/v1/projects/${ownProject.body.id}/tasks/${ids.task}/assignees`, { email: 'x@client.test', first_name: 'X', last_name: 'Y' }),
      ],
      ['GET template', () => asA.get(`/v1/templates/${ids.template}`)],
      ['PATCH template', () => asA.patch(`/v1/templates/${ids.template}`, { name: 'Hijacked' })],
      ['DELETE template', () => asA.delete(`/v1/templates/${ids.template}`)],
      ['GET client', () => asA.get(`/v1/clients/${ids.client}`)],
    ];
    for (const [name, call] of calls) {
      const res = await call();
      expect({ name, status: res.status }).toEqual({ name, status: 404 });
    }

    // Lists and finds never show B's rows to A.
    expect((await asA.get('/v1/projects?external_id=b-ext&include_archived=true')).body.data).toEqual([]);
    expect((await asA.get('/v1/projects?name=B%20project')).body.data).toEqual([]);
    expect((await asA.get('/v1/templates?limit=100')).body.data.map((x: { id: string }) => x.id)).not.toContain(ids.template);
    expect((await asA.get(`/v1/clients?email=${encodeURIComponent(email)}`)).body.data).toEqual([]);
    // B's template is unknown to A's create; B's client is not in A's project.
    expect((await asA.post('/v1/projects', { name: 'X', template_id: ids.template })).status).toBe(422);
    const bulk = await asA.post(`/v1/projects/${ownProject.body.id}/assignments/bulk`, { items: [{ task_id: ids.task, email }] });
    expect(bulk.body.results[0]).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const viaCreate = await asA.post('/v1/projects', {
      name: 'Y',
      template_name: 'Client onboarding',
      assignments: [{ task: 'Welcome call', emails: [email] }],
    });
    expect(viaCreate.status).toBe(422);

    expect(await snapshotOfB(ids)).toEqual(before);
  });
});
