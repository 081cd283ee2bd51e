import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';

let stack: TestStack;
let a: TestAgency;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  a = await createTestAgency(stack, 'Templates');
});
afterAll(async () => {
  await stack.close();
});

const tasks = (n: number) => Array.from({ length: n }, (_, i) => ({ title: `Task ${i + 1}` }));

describe('templates', () => {
  it('a new agency starts with the "Client onboarding" template', async () => {
    const res = await client(stack.url, a.key).get('/v1/templates');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([
      {
        id: expect.any(String),
        name: 'Client onboarding',
        tasks: expect.arrayContaining([expect.objectContaining({ title: 'Welcome call', position: 1 })]),
        created_at: expect.any(String),
      },
    ]);
    expect(res.body.next_cursor).toBeNull();
  });

  it('creates, reads, renames, replaces tasks and deletes a template', async () => {
    const api = client(stack.url, a.key);
    const created = await api.post('/v1/templates', { name: 'Website', tasks: [{ title: 'Sitemap', description: 'Pages we need' }, { title: 'Copy' }] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name: 'Website',
      tasks: [
        { id: expect.any(String), title: 'Sitemap', description: 'Pages we need', position: 1 },
        { id: expect.any(String), title: 'Copy', description: null, position: 2 },
      ],
      created_at: expect.any(String),
    });
    expect((await api.get(`/v1/templates/${created.body.id}`)).body).toEqual(created.body);

    const renamed = await api.patch(`/v1/templates/${created.body.id}`, { name: 'Website v2' });
    expect(renamed.body).toMatchObject({ name: 'Website v2', tasks: created.body.tasks });
    const replaced = await api.patch(`/v1/templates/${created.body.id}`, { tasks: [{ title: 'Launch' }] });
    expect(replaced.body.tasks).toEqual([{ id: expect.any(String), title: 'Launch', description: null, position: 1 }]);

    // Projects made from it keep their own tasks when it changes or goes.
    const project = await api.post('/v1/projects', { name: 'From v2', template_id: created.body.id });
    expect((await api.delete(`/v1/templates/${created.body.id}`)).status).toBe(204);
    expect((await api.get(`/v1/templates/${created.body.id}`)).status).toBe(404);
    expect((await api.delete(`/v1/templates/${created.body.id}`)).status).toBe(404);
    const after = await api.get(`/v1/projects/${project.body.id}`);
    expect(after.body).toMatchObject({ template_id: null, tasks: [expect.objectContaining({ title: 'Launch' })] });
  });

  it('checks 1-200 tasks and unique titles, naming the field', async () => {
    const api = client(stack.url, a.key);
    const none = await api.post('/v1/templates', { name: 'Empty', tasks: [] });
    expect(none.status).toBe(422);
    expect(none.body.errors).toEqual([{ field: 'tasks', message: 'must have at least 1 task' }]);
    const tooMany = await api.post('/v1/templates', { name: 'Huge', tasks: tasks(201) });
    expect(tooMany.body.errors).toEqual([{ field: 'tasks', message: 'must have at most 200 tasks' }]);
    expect((await api.post('/v1/templates', { name: 'Max', tasks: tasks(200) })).status).toBe(201);
    const dup = await api.post('/v1/templates', { name: 'Dup', tasks: [{ title: 'Call' }, { title: 'Mail' }, { title: ' call ' }] });
    expect(dup.status).toBe(422);
    expect(dup.body.errors).toEqual([{ field: 'tasks[2].title', message: 'duplicates tasks[0].title ("call"); titles must be unique within a template' }]);
    const blank = await api.post('/v1/templates', { name: ' ', tasks: [{ title: '' }] });
    expect(blank.body.errors).toEqual([
      { field: 'name', message: 'is required' },
      { field: 'tasks[0].title', message: 'is required' },
    ]);
    const patchDup = await api.patch(`/v1/templates/${(await api.get('/v1/templates')).body.data[0].id}`, { tasks: [{ title: 'A' }, { title: 'a' }] });
    expect(patchDup.body.errors).toEqual([{ field: 'tasks[1].title', message: expect.stringMatching(/^duplicates tasks\[0\]\.title/) }]);
    expect(await countRows(stack.deps.pool, "select 1 from templates where agency_id = $1 and name in ('Empty', 'Huge', 'Dup')", [a.agencyId])).toBe(0);
  });

  it('refuses a second template with the same name (case-insensitive), 409 naming the field', async () => {
    const api = client(stack.url, a.key);
    const res = await api.post('/v1/templates', { name: 'client ONBOARDING', tasks: tasks(1) });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', errors: [{ field: 'name', message: 'is already used by another template of this agency' }] });
  });

  it('pages newest first with a cursor', async () => {
    const agency = await createTestAgency(stack, 'Pager');
    const api = client(stack.url, agency.key);
    for (const name of ['One', 'Two', 'Three']) await api.post('/v1/templates', { name, tasks: tasks(1) });
    const p1 = await api.get('/v1/templates?limit=2');
    expect(p1.body.data.map((t: { name: string }) => t.name)).toEqual(['Three', 'Two']);
    const p2 = await api.get(`/v1/templates?limit=2&cursor=${p1.body.next_cursor}`);
    expect(p2.body.data.map((t: { name: string }) => t.name)).toEqual(['One', 'Client onboarding']);
    expect(p2.body.next_cursor).toBeNull();
    expect((await api.get('/v1/templates?cursor=garbage')).status).toBe(422);
  });
});
