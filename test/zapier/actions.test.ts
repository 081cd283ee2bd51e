import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { loadZapierApp, shapeOf, op, rejection, withCursorStore, type LoadedApp, type ZBundle } from './zapierApp.js';
import { until } from '../support/receiver.js';
import { unique } from '../support/unique.js';

/**
 * The Zapier app's creates, searches, polling triggers and dropdowns, driven through zapier-platform-core's
 * appTester against a real Onramp API (real PostgreSQL and Redis; no nock): what the app sends is what the API
 * accepts, and what the API answers has the fields the app's samples promise to the Zap editor.
 */

let stack: TestStack;
let zapier: LoadedApp;
let agency: TestAgency;

const auth = (key = agency.key): ZBundle['authData'] => ({ base_url: stack.url, api_key: key });
const api = () => client(stack.url, agency.key);
type Item = Record<string, unknown> & { id: string };
type Kind = 'creates' | 'searches' | 'triggers';

const run = <T = Item>(kind: Kind, key: string, inputData: Record<string, unknown> = {}, extra: Partial<ZBundle> = {}) =>
  zapier.appTester<T>(op(zapier.app[kind][key]), { authData: auth(), inputData, ...extra });
const sampleOf = (kind: Kind, key: string) => zapier.app[kind][key]!.operation.sample;

/** The sample contract: a live answer has every field of the action's sample, with the same value types. */
const comparedSamples = new Set<string>();
function expectSampleShape(kind: Kind, key: string, live: unknown): void {
  comparedSamples.add(`${kind}.${key}`);
  expect(shapeOf(live)).toEqual(shapeOf(sampleOf(kind, key)));
}

/** The default template every agency starts with. */
const onboardingTasks = ['Welcome call', 'Share brand assets', 'Grant account access', 'Review the project plan'];

interface CreatedProject extends Item {
  name: string;
  created: boolean;
  tasks: Array<{ id: string; title: string; assignees: Array<{ email: string }> }>;
  clients: Array<{ email: string; client_id: string; invitation_id: string | null; result: string }>;
}

/** Create Project as a Zap fills it in: template from the dropdown, clients and assignments as line items. */
async function createProject(input: Record<string, unknown> = {}): Promise<CreatedProject> {
  const templates = await zapier.appTester<Item[]>(withCursorStore(op(zapier.app.triggers.template_list), { value: '', sets: [] }), {
    authData: auth(),
    meta: { page: 0 },
  });
  const email = `ada-${unique()}@example.test`;
  return run<CreatedProject>('creates', 'create_project', {
    name: `Acme ${unique()}`,
    template_id: templates.find((t) => t.name === 'Client onboarding')!.id,
    clients: [{ email, first_name: 'Ada', last_name: 'Lovelace' }],
    assignments: [{ task: 'Welcome call', emails: email }],
    send_emails: 'no',
    ...input,
  });
}

/** A CSV file served over HTTP, as Zapier hands a file from an earlier step to the app: a URL to download. */
class FileServer {
  readonly requests: Array<{ url: string; authorization: string | undefined }> = [];
  private server!: Server;
  private readonly files = new Map<string, string>();
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const body = this.files.get(req.url ?? '');
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/csv', 'content-disposition': 'attachment; filename="deals-export.csv"' }).end(body);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  serve(csv: string): string {
    const path = `/files/${unique()}`;
    this.files.set(path, csv);
    return `${this.base}${path}`;
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
const files = new FileServer();

interface ImportJson extends Item {
  status: string;
  counts: Record<string, number>;
}

/** import_csv through the app, then the worker runs the import to its end. */
async function importCsv(csv: string, options: Record<string, unknown> = {}): Promise<{ accepted: ImportJson; done: ImportJson }> {
  const accepted = await run<ImportJson>('creates', 'import_csv', { file: files.serve(csv), send_emails: 'false', ...options });
  const done = await until('the import to finish', async () => {
    const res = await api().get(`/v1/imports/${accepted.id}`);
    return ['completed', 'failed', 'cancelled'].includes(res.body.status) ? (res.body as ImportJson) : null;
  });
  return { accepted, done };
}

beforeAll(async () => {
  zapier = await loadZapierApp();
  await files.start();
  // A worker runs the CSV imports; emails go to the stack's local outbox (no SMTP needed here).
  stack = await startStack({ smtp: false });
  agency = await createTestAgency(stack, 'Zapier Actions');
}, 600_000);
afterAll(async () => {
  await stack?.close();
  await files.close();
});

describe('create_project', () => {
  it('creates the project from the template with its clients and assignments, shaped like the sample', async () => {
    const externalId = `crm-deal-${unique()}`;
    const created = await createProject({ external_id: externalId });
    expect(created).toMatchObject({ external_id: externalId, created: true, archived: false });
    expect(created.tasks.map((t) => t.title)).toEqual(onboardingTasks);
    expect(created.tasks[0]!.assignees.map((a) => a.email)).toEqual([created.clients[0]!.email]);
    expect(created.clients).toEqual([
      { email: created.clients[0]!.email, client_id: expect.any(String), invitation_id: expect.any(String), result: 'invited' },
    ]);
    expectSampleShape('creates', 'create_project', created);
  });

  it('twice with the same external id -> one project; the second answer is created: false', async () => {
    const externalId = `crm-deal-${unique()}`;
    const first = await createProject({ external_id: externalId });
    const second = await createProject({ external_id: externalId, name: 'A different name from a replayed Zap' });
    expect(second).toMatchObject({ id: first.id, name: first.name, created: false });
    expect(second.tasks.map((t) => t.id)).toEqual(first.tasks.map((t) => t.id));
    const found = await api().get(`/v1/projects?external_id=${externalId}`);
    expect(found.body.data.map((p: Item) => p.id)).toEqual([first.id]);
  });

  it('a client line item without a last name halts naming the item, and creates nothing', async () => {
    const externalId = `crm-deal-${unique()}`;
    const error = await rejection(
      createProject({ external_id: externalId, clients: [{ email: `x-${unique()}@example.test`, first_name: 'X' }], assignments: [] }),
    );
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('clients[0].last_name');
    expect((await api().get(`/v1/projects?external_id=${externalId}`)).body.data).toEqual([]);
  });
});

describe('find_project and find_client', () => {
  it('find_project: a miss is [], a hit by external id or by name is the project, shaped like the sample', async () => {
    expect(await run('searches', 'find_project', { external_id: `nothing-${unique()}` })).toEqual([]);
    expect(await run('searches', 'find_project', { name: `Nothing ${unique()}` })).toEqual([]);
    const project = await createProject({ external_id: `crm-${unique()}` });
    for (const input of [{ external_id: project.external_id }, { name: project.name }, { external_id: project.external_id, name: project.name }]) {
      const found = await run<Item[]>('searches', 'find_project', input);
      expect(found.map((p) => p.id)).toEqual([project.id]);
      expectSampleShape('searches', 'find_project', found[0]);
    }
    expect(await run('searches', 'find_project', { external_id: project.external_id, name: 'Another name' })).toEqual([]);
  });

  it('find_client: a hit (any case) is the client, shaped like the sample; a miss is []', async () => {
    const project = await createProject();
    const email = project.clients[0]!.email;
    const found = await run<Item[]>('searches', 'find_client', { email: ` ${email.toUpperCase()} ` });
    expect(found).toEqual([expect.objectContaining({ id: project.clients[0]!.client_id, email, status: 'invited' })]);
    expectSampleShape('searches', 'find_client', found[0]);
    expect(await run('searches', 'find_client', { email: `nobody-${unique()}@example.test` })).toEqual([]);
  });
});

describe('find-or-create, as Zapier runs it: the search, then the create only when the search found nothing', () => {
  async function findOrCreate(key: string, searchInput: Record<string, unknown>, createInput: Record<string, unknown>) {
    const pair = zapier.app.searchOrCreates[key]!;
    const found = await run<Item[]>('searches', pair.search, searchInput);
    if (found.length) return { created: false, item: found[0]! };
    return { created: true, item: await run<Item>('creates', pair.create, createInput) };
  }

  it('Find or Create Project: creates once, then finds the same project', async () => {
    const externalId = `crm-${unique()}`;
    const name = `Find or create ${unique()}`;
    const first = await findOrCreate('find_project', { external_id: externalId }, { name, external_id: externalId });
    expect(first.created).toBe(true);
    expect(first.item).toMatchObject({ name, external_id: externalId, created: true });
    const second = await findOrCreate('find_project', { external_id: externalId }, { name, external_id: externalId });
    expect(second).toEqual({ created: false, item: expect.objectContaining({ id: first.item.id, name }) });
  });

  it('Find Client or Invite Client: invites once, then finds the invited client', async () => {
    const project = await createProject({ clients: [], assignments: [] });
    const email = `grace-${unique()}@example.test`;
    const createInput = { project_id: project.id, email, first_name: 'Grace', last_name: 'Hopper' };
    const first = await findOrCreate('find_client', { email }, createInput);
    expect(first.created).toBe(true);
    expect(first.item).toMatchObject({ result: 'invited', status: 'pending', email, client: { email, status: 'invited' } });
    const second = await findOrCreate('find_client', { email }, createInput);
    expect(second).toEqual({ created: false, item: expect.objectContaining({ id: (first.item.client as Item).id, email, status: 'invited' }) });
  });
});

describe('invite_client', () => {
  it('invites once; the same email again returns the same pending invitation (already_invited)', async () => {
    const project = await createProject({ clients: [], assignments: [] });
    const email = `jane-${unique()}@example.test`;
    const input = { project_id: project.id, email, first_name: 'Jane', last_name: 'Doe', message: 'Welcome aboard' };
    const first = await run('creates', 'invite_client', input);
    expect(first).toMatchObject({
      result: 'invited',
      status: 'pending',
      email,
      message: 'Welcome aboard',
      project: { id: project.id, name: project.name },
      client: { email, first_name: 'Jane', last_name: 'Doe', status: 'invited' },
      created_by: { id: agency.userId },
      send_count: 1,
    });
    expectSampleShape('creates', 'invite_client', first);

    const again = await run('creates', 'invite_client', { ...input, email: email.toUpperCase() });
    expect(again).toMatchObject({ id: first.id, result: 'already_invited', status: 'pending', send_count: 1 });
    expect((await api().get(`/v1/invitations?project_id=${project.id}`)).body.data).toHaveLength(1);
  });

  it('a bad email halts the step with the field and the reason, said once, and creates nothing', async () => {
    const project = await createProject({ clients: [], assignments: [] });
    const error = await rejection(run('creates', 'invite_client', { project_id: project.id, email: 'not-an-email', first_name: 'X', last_name: 'Y' }));
    expect(error.name).toBe('HaltedError');
    // zapier-platform-core appends a "What happened" trace to the message: the first line is the step's error.
    const said = error.message.split('\n')[0]!;
    expect(said).toMatch(/Email \(email\): /);
    expect(said.split('(email): ')).toHaveLength(2);
    expect(said).toContain('HTTP 422, validation_failed');
    expect((await api().get(`/v1/invitations?project_id=${project.id}`)).body.data).toEqual([]);
  });

  it("another agency's project halts as not found", async () => {
    const other = await createTestAgency(stack, 'Other');
    const theirs = await client(stack.url, other.key).post('/v1/projects', { name: 'Theirs' });
    const error = await rejection(
      run('creates', 'invite_client', { project_id: theirs.body.id, email: `x-${unique()}@example.test`, first_name: 'X', last_name: 'Y' }),
    );
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('HTTP 404, not_found');
  });
});

describe('assign_client_to_task, with the task dropdown following the chosen project', () => {
  const taskDropdown = (projectId: string) =>
    zapier.appTester<Item[]>(withCursorStore(op(zapier.app.triggers.task_list), { value: '', sets: [] }), {
      authData: auth(),
      inputData: { project_id: projectId },
      meta: { page: 0 },
    });

  it('lists the chosen project’s tasks; assigns (inviting a newcomer) once, then already_assigned', async () => {
    const a = await createProject({ clients: [], assignments: [] });
    const b = await createProject({ clients: [], assignments: [] });
    const tasksA = await taskDropdown(a.id);
    const tasksB = await taskDropdown(b.id);
    expect(tasksA.map((t) => t.title)).toEqual(onboardingTasks);
    expect(tasksA.map((t) => t.id)).toEqual(a.tasks.map((t) => t.id));
    expect(tasksB.map((t) => t.id)).toEqual(b.tasks.map((t) => t.id));
    expect(tasksA.map((t) => t.id)).not.toEqual(expect.arrayContaining([tasksB[0]!.id]));
    // No project chosen yet: an empty dropdown, no request.
    expect(await taskDropdown('')).toEqual([]);

    const email = `linus-${unique()}@example.test`;
    const input = { project_id: a.id, task_id: tasksA[1]!.id, email, first_name: 'Linus', last_name: 'Torvalds' };
    const assigned = await run('creates', 'assign_client_to_task', input);
    expect(assigned).toMatchObject({
      task_id: tasksA[1]!.id,
      result: 'assigned',
      invite_result: 'invited',
      client: { email, status: 'invited' },
      invitation: { status: 'pending', email, project: { id: a.id } },
    });
    expectSampleShape('creates', 'assign_client_to_task', assigned);
    const again = await run('creates', 'assign_client_to_task', { project_id: a.id, task_id: tasksA[1]!.id, email });
    expect(again).toMatchObject({ task_id: tasksA[1]!.id, result: 'already_assigned' });
    const listed = (await taskDropdown(a.id))[1]!;
    expect(listed.assignees).toEqual([expect.objectContaining({ email })]);
    expectSampleShape('triggers', 'task_list', listed);
  });

  it('a task of another project halts as not found', async () => {
    const a = await createProject({ clients: [], assignments: [] });
    const b = await createProject({ clients: [], assignments: [] });
    const error = await rejection(
      run('creates', 'assign_client_to_task', {
        project_id: a.id,
        task_id: b.tasks[0]!.id,
        email: `x-${unique()}@example.test`,
        first_name: 'X',
        last_name: 'Y',
      }),
    );
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('HTTP 404, not_found');
  });
});

describe('import_csv', () => {
  it('downloads the file from the earlier step (without the Onramp key), uploads it, and the import runs', async () => {
    const externalId = `crm-${unique()}`;
    const csv = [
      'project_name,project_external_id,template,first_name,last_name,email,tasks',
      `Imported Co,${externalId},Client onboarding,Ann,Lee,ann-${unique()}@example.test,Welcome call`,
      `Imported Co,${externalId},Client onboarding,Bob,Ray,bob-${unique()}@example.test,Welcome call;Share brand assets`,
      `Imported Co,${externalId},Client onboarding,Bad,Row,not-an-email,`,
    ].join('\n');
    const { accepted, done } = await importCsv(csv);
    expect(accepted).toMatchObject({ status: 'queued', dry_run: false, send_emails: false, filename: 'deals-export.csv' });
    expectSampleShape('creates', 'import_csv', accepted);
    // The file came from a server that is not Onramp: the API key must never go there.
    const download = files.requests.at(-1)!;
    expect(download.authorization).toBeUndefined();

    expect(done).toMatchObject({ status: 'completed', counts: { rows: 3, projects_created: 1, clients_invited: 2, assignments: 3, errors: 1 } });
    const [project] = await run<Item[]>('searches', 'find_project', { external_id: externalId });
    expect(project).toMatchObject({ name: 'Imported Co', external_id: externalId });
  });

  it('a dry run changes nothing', async () => {
    const externalId = `crm-${unique()}`;
    const { done } = await importCsv(
      `project_name,project_external_id,first_name,last_name,email\nDry Co,${externalId},Ann,Lee,ann-${unique()}@example.test\n`,
      {
        dry_run: 'yes',
      },
    );
    expect(done).toMatchObject({ status: 'completed', dry_run: true, counts: { rows: 1, projects_created: 1, clients_invited: 1 } });
    expect(await run('searches', 'find_project', { external_id: externalId })).toEqual([]);
  });

  it('a file without a required column halts naming the column', async () => {
    const error = await rejection(run('creates', 'import_csv', { file: files.serve('project_name,email\nX,x@example.test\n') }));
    expect(error.name).toBe('HaltedError');
    expect(error.message.split('\n')[0]).toMatch(/first_name|last_name/);
    expect(error.message).toContain('HTTP 422');
  });
});

describe('polling triggers read the feeds: items with id, newest first, shaped like the sample', () => {
  const newestFirst = (items: Item[]) => {
    const ids = items.map((i) => Number(i.event_id));
    expect(ids).toEqual([...ids].sort((x, y) => y - x));
  };

  it('new_invitation', async () => {
    const project = await createProject({ clients: [], assignments: [] });
    const a = await run('creates', 'invite_client', { project_id: project.id, email: `a-${unique()}@example.test`, first_name: 'A', last_name: 'Client' });
    const b = await run('creates', 'invite_client', {
      project_id: project.id,
      email: `b-${unique()}@example.test`,
      first_name: 'B',
      last_name: 'Client',
      message: 'Welcome aboard',
    });
    const items = await run<Item[]>('triggers', 'new_invitation');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([b.id, a.id]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'invitation.created', status: 'pending', project: { id: project.id } });
    expectSampleShape('triggers', 'new_invitation', items[0]);
  });

  it('new_project', async () => {
    const p1 = await createProject();
    const p2 = await createProject({ external_id: `crm-${unique()}` });
    const items = await run<Item[]>('triggers', 'new_project');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([p2.id, p1.id]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'project.created', name: p2.name, tasks: p2.tasks });
    expectSampleShape('triggers', 'new_project', items[0]);
  });

  it('import_completed', async () => {
    const csv = (n: number) => `project_name,first_name,last_name,email\nImported ${unique()},Ann,Lee,ann-${n}-${unique()}@example.test\n`;
    const i1 = (await importCsv(csv(1))).done;
    const i2 = (await importCsv(csv(2))).done;
    const items = await run<Item[]>('triggers', 'import_completed');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([i2.id, i1.id]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'import.completed', status: 'completed', counts: { rows: 1, projects_created: 1, clients_invited: 1 } });
    expectSampleShape('triggers', 'import_completed', items[0]);
  });

  it('a revoked key fails the poll as an expired connection', async () => {
    const other = await createTestAgency(stack, 'Revoked Poll');
    await stack.deps.pool.query('update api_keys set revoked_at = now() where agency_id = $1', [other.agencyId]);
    const error = await rejection(zapier.appTester(op(zapier.app.triggers.new_invitation), { authData: auth(other.key) }));
    expect(error.name).toBe('ExpiredAuthError');
  });
});

describe('dropdown paging (project_list)', () => {
  it('page 2 continues where page 1 stopped, through the API cursor; the page after the last is empty', async () => {
    // Its own agency, so the count is exact. The app asks for 100 per page; 103 projects make two pages.
    const paged = await createTestAgency(stack, 'Paged');
    const mine = client(stack.url, paged.key);
    const ids: string[] = [];
    for (let i = 0; i < 103; i++) {
      // The newest (listed first) has everything a project can have, to hold up against the sample's shape.
      const full = i === 102 ? { external_id: `crm-${unique()}`, template_name: 'Client onboarding' } : {};
      ids.push((await mine.post('/v1/projects', { name: `Project ${String(i).padStart(3, '0')}`, ...full })).body.id);
    }

    const store = { value: '', sets: [] as string[] };
    const perform = withCursorStore(op(zapier.app.triggers.project_list), store);
    const page = (n: number) => zapier.appTester<Item[]>(perform, { authData: auth(paged.key), meta: { page: n } });

    const page1 = await page(0);
    expect(page1).toHaveLength(100);
    expect(store.value).not.toBe('');
    const page2 = await page(1);
    expect(page2).toHaveLength(3);
    expect(page1.map((p) => p.id)).not.toEqual(expect.arrayContaining(page2.map((p) => p.id)));
    // Together: every project once, newest first.
    expect([...page1, ...page2].map((p) => p.id)).toEqual([...ids].reverse());
    expect(store.sets).toEqual([store.sets[0], '']);
    expect(await page(2)).toEqual([]);
    expectSampleShape('triggers', 'project_list', page1[0]);
  });
});

describe('the sample contract', () => {
  it("template_list: the dropdown lists the new agency's template, shaped like the sample", async () => {
    const templates = await zapier.appTester<Item[]>(withCursorStore(op(zapier.app.triggers.template_list), { value: '', sets: [] }), {
      authData: auth(),
      meta: { page: 0 },
    });
    const onboarding = templates.find((t) => t.name === 'Client onboarding')!;
    expect(onboarding).toBeDefined();
    expectSampleShape('triggers', 'template_list', onboarding);
  });

  it('every trigger, create and search with a sample was compared with a live answer above (invitation_accepted in hooks.test.ts)', () => {
    const all = (['triggers', 'creates', 'searches'] as const).flatMap((kind) =>
      Object.values(zapier.app[kind])
        .filter((d) => d.operation.sample)
        .map((d) => `${kind}.${d.key}`),
    );
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((k) => !comparedSamples.has(k)).sort()).toEqual(['triggers.invitation_accepted']);
  });
});
