import { randomBytes } from 'node:crypto';
import { eventsSql, withTransaction } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { keyPaths, loadZapierApp, op, rejection, type LoadedApp, type ZBundle } from './zapierApp.js';

/**
 * The Zapier app's creates, searches and polling triggers, driven through zapier-platform-core's appTester
 * against a real Onramp API (real PostgreSQL and Redis; no nock): what the app sends is what the API accepts,
 * and what the API answers has the fields the app's samples promise to the Zap editor.
 */

let stack: TestStack;
let zapier: LoadedApp;
let agency: TestAgency;

const tag = () => randomBytes(4).toString('hex');
const auth = (key = agency.key): ZBundle['authData'] => ({ base_url: stack.url, api_key: key });
const api = () => client(stack.url, agency.key);
type Item = Record<string, unknown> & { id: string };

const run = <T = Item>(kind: 'creates' | 'searches' | 'triggers', key: string, inputData: Record<string, unknown> = {}, meta?: Record<string, unknown>) =>
  zapier.appTester<T>(op(zapier.app[kind][key]), { authData: auth(), inputData, ...(meta ? { meta } : {}) });
const sampleOf = (kind: 'creates' | 'searches' | 'triggers', key: string) => zapier.app[kind][key]!.operation.sample;

/** A project with two tasks and its project.created event in one transaction, as the projects feature writes them. */
async function projectWithEvent(name = `Project ${tag()}`): Promise<{ id: string; name: string }> {
  return withTransaction(stack.deps.pool, async (tx) => {
    const { rows } = await tx.query<{ id: string }>('insert into projects (agency_id, name, external_id, created_by) values ($1, $2, $3, $4) returning id', [
      agency.agencyId,
      name,
      `crm-${tag()}`,
      agency.userId,
    ]);
    const id = rows[0]!.id;
    const tasks = await tx.query<{ id: string }>(
      `insert into tasks (agency_id, project_id, position, title) values ($1, $2, 0, 'Kick-off call'), ($1, $2, 1, 'Upload brand assets') returning id`,
      [agency.agencyId, id],
    );
    const c = await tx.query<{ id: string }>(
      `insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'Ada', 'Client', 'inactive') returning id`,
      [agency.agencyId, `ada-${tag()}@example.test`],
    );
    await tx.query('insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)', [tasks.rows[0]!.id, c.rows[0]!.id, agency.agencyId]);
    await eventsSql.appendEvent(tx, { agencyId: agency.agencyId, type: 'project.created', subjectId: id, actorId: agency.userId });
    return { id, name };
  });
}

/** A finished import and its import.completed event, as the CSV worker writes them. */
async function completedImport(): Promise<string> {
  return withTransaction(stack.deps.pool, async (tx) => {
    const { rows } = await tx.query<{ id: string }>(
      `insert into imports (agency_id, created_by, status, filename, size_bytes, rows_total, checkpoint_row, counts, started_at, finished_at)
       values ($1, $2, 'completed', 'clients.csv', 120, 3, 3, '{"rows": 3, "projects_created": 1, "clients_invited": 2}', now(), now()) returning id`,
      [agency.agencyId, agency.userId],
    );
    await eventsSql.appendEvent(tx, { agencyId: agency.agencyId, type: 'import.completed', subjectId: rows[0]!.id });
    return rows[0]!.id;
  });
}

beforeAll(async () => {
  zapier = loadZapierApp();
  stack = await startStack({ smtp: false, worker: false });
  agency = await createTestAgency(stack, 'Zapier Actions');
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe('invite_client', () => {
  it('invites once; the same email again returns the same pending invitation (already_invited)', async () => {
    const project = await projectWithEvent();
    const email = `jane-${tag()}@example.test`;
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
    expect(keyPaths(first)).toEqual(keyPaths(sampleOf('creates', 'invite_client')));

    const again = await run('creates', 'invite_client', { ...input, email: email.toUpperCase() });
    expect(again).toMatchObject({ id: first.id, result: 'already_invited', status: 'pending', send_count: 1 });
    const list = await api().get(`/v1/invitations?project_id=${project.id}`);
    expect(list.body.data).toHaveLength(1);
  });

  it('a bad email halts the step with the field and the reason, and creates nothing', async () => {
    const project = await projectWithEvent();
    const error = await rejection(run('creates', 'invite_client', { project_id: project.id, email: 'not-an-email', first_name: 'X', last_name: 'Y' }));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toMatch(/email: /);
    // Said once, although Onramp's detail and its field list both carry it.
    // (zapier-platform-core appends a "What happened" trace to the message: the first line is the step's error.)
    expect(error.message.split('\n')[0]!.split('email: ').length).toBe(2);
    expect(error.message).toContain('HTTP 422, validation_failed');
    expect((await api().get(`/v1/invitations?project_id=${project.id}`)).body.data).toEqual([]);
  });

  it("another agency's project halts as not found", async () => {
    const other = await createTestAgency(stack, 'Other');
    const { rows } = await stack.deps.pool.query<{ id: string }>('insert into projects (agency_id, name) values ($1, $2) returning id', [other.agencyId, 'Theirs']);
    const error = await rejection(run('creates', 'invite_client', { project_id: rows[0]!.id, email: `x-${tag()}@example.test`, first_name: 'X', last_name: 'Y' }));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('HTTP 404, not_found');
  });
});

describe('polling triggers read the feeds: items with id, newest first, shaped like the sample', () => {
  const newestFirst = (items: Item[]) => {
    const ids = items.map((i) => Number(i.event_id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  };

  it('new_invitation', async () => {
    const project = await projectWithEvent();
    const a = await run('creates', 'invite_client', { project_id: project.id, email: `a-${tag()}@example.test`, first_name: 'A', last_name: 'Client' });
    const b = await run('creates', 'invite_client', { project_id: project.id, email: `b-${tag()}@example.test`, first_name: 'B', last_name: 'Client' });
    const items = await run<Item[]>('triggers', 'new_invitation');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([b.id, a.id]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'invitation.created', status: 'pending', project: { id: project.id } });
    expect(keyPaths(items[0])).toEqual(keyPaths(sampleOf('triggers', 'new_invitation')));
  });

  it('new_project', async () => {
    const p1 = await projectWithEvent();
    const p2 = await projectWithEvent();
    const items = await run<Item[]>('triggers', 'new_project');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([p2.id, p1.id]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'project.created', name: p2.name, tasks: [{ title: 'Kick-off call' }, { title: 'Upload brand assets' }] });
    expect(keyPaths(items[0])).toEqual(keyPaths(sampleOf('triggers', 'new_project')));
  });

  it('import_completed', async () => {
    const i1 = await completedImport();
    const i2 = await completedImport();
    const items = await run<Item[]>('triggers', 'import_completed');
    expect(items.slice(0, 2).map((i) => i.id)).toEqual([i2, i1]);
    newestFirst(items);
    expect(items[0]).toMatchObject({ event: 'import.completed', status: 'completed', counts: { rows: 3, projects_created: 1, clients_invited: 2 } });
    expect(keyPaths(items[0])).toEqual(keyPaths(sampleOf('triggers', 'import_completed')));
  });

  it('a revoked key fails the poll as an expired connection', async () => {
    const other = await createTestAgency(stack, 'Revoked Poll');
    await stack.deps.pool.query('update api_keys set revoked_at = now() where agency_id = $1', [other.agencyId]);
    const error = await rejection(zapier.appTester(op(zapier.app.triggers.new_invitation), { authData: auth(other.key) }));
    expect(error.name).toBe('ExpiredAuthError');
  });
});
