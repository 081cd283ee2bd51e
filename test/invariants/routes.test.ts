// Invariants that hold for every /v1 route, proven route by route from the live OpenAPI document:
// idempotency keys (replay, different request), tenant isolation (another agency's ids), and bad input
// (a specific problem naming the field, nothing changed). A route added later without a case here fails
// the enumeration test, so the invariants cannot silently skip it.
import { issueApiKey, setFirmUserPassword } from '@onramp/core';
import { addFirmUser } from '../support/state.js';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { agencyFingerprint, expectProblem, send } from './helpers.js';
import { unique } from '../support/unique.js';
import { activateClient } from '../support/state.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  // No worker: imports stay queued (so they can be cancelled) and nothing changes rows behind a snapshot.
  stack = await startStack({ worker: false, smtp: false, env: { RESEND_MIN_INTERVAL_SECONDS: '0', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const HEADER = 'project_name,project_external_id,template,first_name,last_name,email,tasks,message';

/** The rows one agency needs so that every route has something real to act on. Built through the API. */
interface World {
  agency: TestAgency;
  tag: string;
  projectId: string;
  taskIds: [string, string];
  clientIds: [string, string];
  emails: [string, string];
  invitationIds: [string, string];
  templateIds: [string, string];
  hookIds: [string, string];
  importIds: [string, string];
  userIds: [string, string];
  apiKeyIds: [string, string];
  /** Strings only this world's data contains: a response to another agency must contain none. */
  secrets: string[];
}

async function ok(res: Awaited<ReturnType<typeof send>>, what: string) {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.body;
}

async function buildWorld(agency: TestAgency): Promise<World> {
  const tag = unique();
  const as = (method: string, path: string, body?: unknown) => send(stack.url, method, path, { key: agency.key, ...(body === undefined ? {} : { body }) });
  const emails: [string, string] = [`one-${tag}@client.test`, `two-${tag}@client.test`];
  const t1 = await ok(await as('POST', '/v1/templates', { name: `Template ${tag}`, tasks: [{ title: `Alpha ${tag}` }, { title: `Beta ${tag}` }] }), 'template');
  const t2 = await ok(await as('POST', '/v1/templates', { name: `Spare ${tag}`, tasks: [{ title: 'Only' }] }), 'template 2');
  const project = await ok(
    await as('POST', '/v1/projects', {
      name: `Project ${tag}`,
      external_id: `crm-${tag}`,
      template_id: t1.id,
      clients: emails.map((email) => ({ email, first_name: `First${tag}`, last_name: 'Client', message: `Secret note ${tag}` })),
      assignments: [{ task: `Alpha ${tag}`, emails }],
    }),
    'project',
  );
  const h1 = await ok(await as('POST', '/v1/hooks', { target_url: `http://127.0.0.1:9/hook-${tag}-1`, event: 'project.created' }), 'hook');
  const h2 = await ok(await as('POST', '/v1/hooks', { target_url: `http://127.0.0.1:9/hook-${tag}-2`, event: 'invitation.created' }), 'hook 2');
  const upload = (n: number) =>
    send(stack.url, 'POST', `/v1/imports?filename=file-${tag}-${n}.csv`, {
      key: agency.key,
      rawBody: `${HEADER}\nImported ${tag},,,Imp,Orted,imp${n}-${tag}@client.test,,\n`,
      headers: { 'content-type': 'text/csv' },
    });
  const i1 = await ok(await upload(1), 'import');
  const i2 = await ok(await upload(2), 'import 2');
  const u1 = await ok(await as('POST', '/v1/users', { email: `mate-${tag}-1@agency.test`, role: 'member' }), 'teammate');
  const u2 = await ok(await as('POST', '/v1/users', { email: `mate-${tag}-2@agency.test`, role: 'admin' }), 'teammate 2');
  const k1 = await ok(await as('POST', '/v1/api-keys', { name: `Key ${tag} 1` }), 'api key');
  const k2 = await ok(await as('POST', '/v1/api-keys', { name: `Key ${tag} 2` }), 'api key 2');
  return {
    agency,
    tag,
    projectId: project.id,
    taskIds: [project.tasks[0].id, project.tasks[1].id],
    clientIds: [project.clients[0].client_id, project.clients[1].client_id],
    emails,
    invitationIds: [project.clients[0].invitation_id, project.clients[1].invitation_id],
    templateIds: [t1.id, t2.id],
    hookIds: [h1.id, h2.id],
    importIds: [i1.id, i2.id],
    userIds: [u1.id, u2.id],
    apiKeyIds: [k1.id, k2.id],
    secrets: [tag, ...emails],
  };
}

/** Fills an OpenAPI path with a world's ids; `alt` picks the second row of each kind. */
function fill(path: string, w: World, alt = false): string {
  const i = alt ? 1 : 0;
  const resource = path.split('/')[2];
  const idFor: Record<string, string> = {
    projects: w.projectId,
    invitations: w.invitationIds[i],
    clients: w.clientIds[i],
    templates: w.templateIds[i],
    hooks: w.hookIds[i],
    imports: w.importIds[i],
    users: w.userIds[i],
    'api-keys': w.apiKeyIds[i],
  };
  return path
    .replace('{id}', () => {
      const id = idFor[resource!];
      if (!id) throw new Error(`no id for ${path}`);
      return id;
    })
    .replace('{taskId}', w.taskIds[i])
    .replace('{clientId}', w.clientIds[i]);
}

interface WriteOp {
  /** A valid body (routes that take one). */
  body?: (w: World) => unknown;
  /** A second, different valid request; the same Idempotency-Key on it must be refused. */
  other: (w: World) => { path?: string; body?: unknown };
  /** An invalid body and the field the problem must name (routes that take a body). */
  bad?: (w: World) => { body: unknown; field: string };
  /** Puts the world in the state the route acts on. */
  prepare?: (w: World) => Promise<void>;
  /** What an Idempotency-Key replay answers, when not the first response itself (a secret shown once). */
  replay?: (first: any) => unknown;
  /** A member's key: refused with 403 unless said otherwise (self-service routes; another user's key is 404). */
  member?: 'allowed' | 404;
}

const person = (tag: string) => ({ email: `new-${tag}-${unique()}@client.test`, first_name: 'New', last_name: 'Person' });

/** Every write operation of /v1 except the upload (POST /v1/imports: not JSON, tested on its own below). */
const writeOps: Record<string, WriteOp> = {
  'post /v1/projects': {
    body: (w) => ({ name: `Created ${w.tag}`, external_id: `new-${w.tag}` }),
    other: (w) => ({ body: { name: `Other ${w.tag}`, external_id: `other-${w.tag}` } }),
    bad: () => ({ body: { name: '' }, field: 'name' }),
  },
  'patch /v1/projects/{id}': {
    body: (w) => ({ name: `Renamed ${w.tag}` }),
    other: (w) => ({ body: { name: `Renamed again ${w.tag}` } }),
    bad: () => ({ body: { archived: 'yes' }, field: 'archived' }),
  },
  'post /v1/projects/{id}/tasks': {
    body: () => ({ title: 'Gamma' }),
    other: () => ({ body: { title: 'Delta' } }),
    bad: () => ({ body: { title: '' }, field: 'title' }),
  },
  'patch /v1/projects/{id}/tasks/{taskId}': {
    body: () => ({ title: 'Alpha renamed' }),
    other: () => ({ body: { title: 'Alpha renamed twice' } }),
    bad: () => ({ body: { title: 'x'.repeat(301) }, field: 'title' }),
  },
  'delete /v1/projects/{id}/tasks/{taskId}': { other: (w) => ({ path: fill('/v1/projects/{id}/tasks/{taskId}', w, true) }) },
  'post /v1/projects/{id}/tasks/{taskId}/assignees': {
    body: (w) => person(w.tag),
    other: (w) => ({ body: person(w.tag) }),
    bad: () => ({ body: { email: 'not-an-email' }, field: 'email' }),
  },
  'delete /v1/projects/{id}/tasks/{taskId}/assignees/{clientId}': {
    // The second client on the first task: a different request (both are assigned to it).
    other: (w) => ({ path: `/v1/projects/${w.projectId}/tasks/${w.taskIds[0]}/assignees/${w.clientIds[1]}` }),
  },
  'post /v1/projects/{id}/assignments/bulk': {
    body: (w) => ({ items: [{ task_id: w.taskIds[1], email: w.emails[0] }] }),
    other: (w) => ({ body: { items: [{ task_id: w.taskIds[1], email: w.emails[1] }] } }),
    bad: () => ({ body: { items: [] }, field: 'items' }),
  },
  'post /v1/projects/{id}/invitations': {
    body: (w) => person(w.tag),
    other: (w) => ({ body: person(w.tag) }),
    bad: (w) => ({ body: { ...person(w.tag), email: 'nope' }, field: 'email' }),
  },
  'delete /v1/projects/{id}/members/{clientId}': { other: (w) => ({ path: fill('/v1/projects/{id}/members/{clientId}', w, true) }) },
  'post /v1/invitations/bulk': {
    body: (w) => ({ action: 'revoke', ids: [w.invitationIds[0]] }),
    other: (w) => ({ body: { action: 'revoke', ids: [w.invitationIds[1]] } }),
    bad: (w) => ({ body: { action: 'delete', ids: [w.invitationIds[0]] }, field: 'action' }),
  },
  'post /v1/invitations/bulk/matching': {
    body: (w) => ({ action: 'revoke', filter: { client_id: w.clientIds[0] } }),
    other: (w) => ({ body: { action: 'revoke', filter: { client_id: w.clientIds[1] } } }),
    bad: (w) => ({ body: { action: 'delete', filter: { client_id: w.clientIds[0] } }, field: 'action' }),
  },
  'post /v1/clients': {
    body: (w) => person(w.tag),
    other: (w) => ({ body: person(w.tag) }),
    bad: (w) => ({ body: { ...person(w.tag), email: 'nope' }, field: 'email' }),
  },
  'post /v1/projects/{id}/members': {
    // "From another workspace": only an active client joins without an email.
    prepare: async (w) => {
      for (const id of w.clientIds) await activateClient(stack.deps.pool, id);
    },
    body: (w) => ({ client_id: w.clientIds[0] }),
    other: (w) => ({ body: { client_id: w.clientIds[1] } }),
    bad: () => ({ body: { client_id: 'nope' }, field: 'client_id' }),
  },
  'post /v1/invitations/{id}/resend': { other: (w) => ({ path: fill('/v1/invitations/{id}/resend', w, true) }) },
  'post /v1/invitations/{id}/revoke': { other: (w) => ({ path: fill('/v1/invitations/{id}/revoke', w, true) }) },
  'post /v1/clients/{id}/deactivate': { other: (w) => ({ path: fill('/v1/clients/{id}/deactivate', w, true) }) },
  'post /v1/clients/{id}/reactivate': {
    prepare: async (w) => {
      await ok(await send(stack.url, 'POST', `/v1/clients/${w.clientIds[0]}/deactivate`, { key: w.agency.key }), 'deactivate');
    },
    other: (w) => ({ path: fill('/v1/clients/{id}/reactivate', w, true) }),
  },
  'post /v1/templates': {
    body: (w) => ({ name: `New template ${w.tag}`, tasks: [{ title: 'One' }] }),
    other: (w) => ({ body: { name: `Other template ${w.tag}`, tasks: [{ title: 'One' }] } }),
    bad: () => ({ body: { name: 'No tasks', tasks: [] }, field: 'tasks' }),
  },
  'patch /v1/templates/{id}': {
    body: (w) => ({ name: `Renamed template ${w.tag}` }),
    other: (w) => ({ body: { name: `Renamed template again ${w.tag}` } }),
    bad: () => ({ body: { tasks: [{ title: 'Same' }, { title: 'same' }] }, field: 'tasks[1].title' }),
  },
  'delete /v1/templates/{id}': { other: (w) => ({ path: fill('/v1/templates/{id}', w, true) }) },
  'post /v1/hooks': {
    body: (w) => ({ target_url: `http://127.0.0.1:9/new-${w.tag}`, event: 'import.completed' }),
    other: (w) => ({ body: { target_url: `http://127.0.0.1:9/other-${w.tag}`, event: 'import.completed' } }),
    bad: () => ({ body: { target_url: 'http://127.0.0.1:9/x', event: 'client.deleted' }, field: 'event' }),
  },
  'delete /v1/hooks/{id}': { other: (w) => ({ path: fill('/v1/hooks/{id}', w, true) }) },
  'post /v1/imports/{id}/cancel': { other: (w) => ({ path: fill('/v1/imports/{id}/cancel', w, true) }) },
  'patch /v1/agency': {
    body: (w) => ({ display_name: `Studio ${w.tag}` }),
    other: (w) => ({ body: { display_name: `Other studio ${w.tag}` } }),
    bad: () => ({ body: { brand_color: 'red' }, field: 'brand_color' }),
  },
  'post /v1/users': {
    body: (w) => ({ email: `new-mate-${w.tag}@agency.test`, role: 'member' }),
    other: (w) => ({ body: { email: `other-mate-${w.tag}@agency.test`, role: 'member' } }),
    bad: () => ({ body: { email: 'nope', role: 'member' }, field: 'email' }),
  },
  'patch /v1/users/{id}': {
    body: () => ({ first_name: 'Renamed' }),
    other: () => ({ body: { first_name: 'Renamed again' } }),
    bad: () => ({ body: { role: 'king' }, field: 'role' }),
  },
  'post /v1/users/{id}/deactivate': { other: (w) => ({ path: fill('/v1/users/{id}/deactivate', w, true) }) },
  'post /v1/users/{id}/resend-invitation': { other: (w) => ({ path: fill('/v1/users/{id}/resend-invitation', w, true) }) },
  'post /v1/api-keys': {
    body: (w) => ({ name: `New key ${w.tag}` }),
    other: (w) => ({ body: { name: `Other key ${w.tag}` } }),
    bad: () => ({ body: { name: '' }, field: 'name' }),
    replay: (first) => ({ ...first, key: null }),
    member: 'allowed',
  },
  'delete /v1/api-keys/{id}': { other: (w) => ({ path: fill('/v1/api-keys/{id}', w, true) }), member: 404 },
  'patch /v1/me': {
    body: () => ({ first_name: 'Olivia' }),
    other: () => ({ body: { first_name: 'Oliver' } }),
    bad: () => ({ body: { first_name: '' }, field: 'first_name' }),
    member: 'allowed',
  },
  'post /v1/me/password': {
    prepare: async (w) => {
      await setFirmUserPassword(stack.deps.pool, w.agency.email, 'the first long passphrase');
    },
    body: () => ({ current_password: 'the first long passphrase', new_password: 'the second long passphrase' }),
    other: () => ({ body: { current_password: 'the second long passphrase', new_password: 'the third long passphrase' } }),
    bad: () => ({ body: { current_password: 'x', new_password: 'short' }, field: 'new_password' }),
    member: 'allowed',
  },
};
const UPLOAD = 'post /v1/imports';

const opKey = (method: string, path: string) => `${method} ${path}`;
const splitOp = (op: string) => {
  const [method, path] = op.split(' ') as [string, string];
  return { method: method.toUpperCase(), path };
};

let openapi: { paths: Record<string, Record<string, unknown>> };
beforeAll(async () => {
  openapi = (await send(stack.url, 'GET', '/v1/openapi.json')).body;
});

describe('the routes under test are exactly the live OpenAPI document', () => {
  it('has a case for every post/put/patch/delete operation, and no case for a route that does not exist', () => {
    const live: string[] = [];
    for (const [path, methods] of Object.entries(openapi.paths)) {
      for (const method of Object.keys(methods)) if (['post', 'put', 'patch', 'delete'].includes(method)) live.push(opKey(method, path));
    }
    expect(live.sort()).toEqual([...Object.keys(writeOps), UPLOAD].sort());
  });
});

describe('Idempotency-Key on every write operation', () => {
  it.each(Object.keys(writeOps))('%s: a replay returns the first response and changes nothing; another request with the key is refused', async (op) => {
    const { method, path } = splitOp(op);
    const def = writeOps[op]!;
    const w = await buildWorld(a);
    await def.prepare?.(w);
    const key = `idem-${unique()}`;
    const target = fill(path, w);
    const body = def.body?.(w);
    const request = () => send(stack.url, method, target, { key: a.key, headers: { 'idempotency-key': key }, ...(body === undefined ? {} : { body }) });

    const first = await request();
    expect({ op, status: first.status }).toEqual({ op, status: expect.any(Number) });
    expect(first.status).toBeGreaterThanOrEqual(200);
    expect(first.status).toBeLessThan(300);
    const after = await agencyFingerprint(stack.deps.pool, a.agencyId);

    const replay = await request();
    expect(replay.status).toBe(first.status);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text === '' ? null : replay.body).toEqual(first.text === '' ? null : def.replay ? def.replay(first.body) : first.body);
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(after);

    const other = def.other(w);
    const otherPath = other.path ?? target;
    const otherBody = other.body;
    expect({ path: otherPath, body: otherBody }).not.toEqual({ path: target, body });
    const reused = await send(stack.url, method, otherPath, {
      key: a.key,
      headers: { 'idempotency-key': key },
      ...(otherBody === undefined ? {} : { body: otherBody }),
    });
    expectProblem(reused, 422, 'idempotency_key_reused');
    expect(reused.body.errors).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    // Refused before anything ran: the other request's target is untouched.
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(after);
  });
});

describe('Idempotency-Key on the upload (POST /v1/imports)', () => {
  const file = (name: string) => `${HEADER}\n${name},,,Up,Load,up-${name}@client.test,,\n`;
  const importsOf = async (agencyId: string) =>
    (await stack.deps.pool.query('select count(*)::int as n from imports where agency_id = $1', [agencyId])).rows[0].n as number;

  it('text/csv: a replay returns the same import; another file of the same size with the key is refused', async () => {
    const key = `idem-${unique()}`;
    const one = file('aaaa');
    const two = file('bbbb');
    expect(Buffer.byteLength(one)).toBe(Buffer.byteLength(two));
    const up = (body: string) =>
      send(stack.url, 'POST', '/v1/imports', { key: a.key, rawBody: body, headers: { 'content-type': 'text/csv', 'idempotency-key': key } });
    const first = await up(one);
    expect(first.status).toBe(202);
    const before = await agencyFingerprint(stack.deps.pool, a.agencyId);
    const replay = await up(one);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
    const other = await up(two);
    expectProblem(other, 422, 'idempotency_key_reused');
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
  });

  it('multipart/form-data: the same file again (a new boundary) is a replay; another file or other options are refused', async () => {
    const key = `idem-${unique()}`;
    const up = async (csv: string, fields: Record<string, string> = {}) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'clients.csv');
      const res = await fetch(`${stack.url}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${a.key}`, 'idempotency-key': key }, body: form });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    };
    const count = await importsOf(a.agencyId);
    const first = await up(file('mmmm'));
    expect(first.status).toBe(202);
    const replay = await up(file('mmmm'));
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await importsOf(a.agencyId)).toBe(count + 1);
    const otherFile = await up(file('nnnn'));
    expect({ status: otherFile.status, code: otherFile.body.code }).toEqual({ status: 422, code: 'idempotency_key_reused' });
    const otherOptions = await up(file('mmmm'), { dry_run: 'true' });
    expect({ status: otherOptions.status, code: otherOptions.body.code }).toEqual({ status: 422, code: 'idempotency_key_reused' });
    expect(await importsOf(a.agencyId)).toBe(count + 1);
  });
});

describe("a member's key on every write operation", () => {
  let memberKey: string;
  beforeAll(async () => {
    const user = await addFirmUser(stack.deps.pool, {
      agencyId: a.agencyId,
      email: `member-${unique()}@agency.test`,
      firstName: 'Mo',
      lastName: 'Member',
      role: 'member',
    });
    memberKey = (await issueApiKey(stack.deps.pool, { agencyId: a.agencyId, userId: user.id, name: 'member' })).key;
  });
  const refused = Object.keys(writeOps).filter((op) => writeOps[op]!.member !== 'allowed');

  it.each(refused)("%s: 403 forbidden (404 for another user's key), and nothing changes", async (op) => {
    const { method, path } = splitOp(op);
    const def = writeOps[op]!;
    const w = await buildWorld(a);
    await def.prepare?.(w);
    const before = await agencyFingerprint(stack.deps.pool, a.agencyId);
    const body = def.body?.(w);
    const res = await send(stack.url, method, fill(path, w), { key: memberKey, ...(body === undefined ? {} : { body }) });
    if (def.member === 404) expectProblem(res, 404, 'not_found');
    else expectProblem(res, 403, 'forbidden');
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
  });

  it('the upload (POST /v1/imports): 403', async () => {
    const res = await send(stack.url, 'POST', '/v1/imports', {
      key: memberKey,
      rawBody: `${HEADER}\nP,,,A,B,m-${unique()}@client.test,,\n`,
      headers: { 'content-type': 'text/csv' },
    });
    expectProblem(res, 403, 'forbidden');
  });

  it.each(Object.keys(writeOps).filter((op) => writeOps[op]!.member === 'allowed'))('%s: self-service, allowed for a member', async (op) => {
    const { method, path } = splitOp(op);
    expect(path.startsWith('/v1/me') || path === '/v1/api-keys').toBe(true);
    const res = await send(stack.url, method, path, {
      key: memberKey,
      body: op === 'post /v1/me/password' ? { current_password: 'x', new_password: 'long enough passphrase' } : writeOps[op]!.body!({ tag: unique() } as World),
    });
    // The member has no console password: the change is refused on the field, not by role.
    if (op === 'post /v1/me/password') expect({ status: res.status, field: res.body.errors[0].field }).toEqual({ status: 422, field: 'current_password' });
    else expect(res.status).toBeLessThan(300);
  });
});

describe("tenant isolation on every route with an id: agency B's ids with agency A's key", () => {
  it("answers 404 problem+json like an unknown id, shows none of B's data, and changes none of B's rows", async () => {
    const wb = await buildWorld(b);
    const wa = await buildWorld(a);
    const before = await agencyFingerprint(stack.deps.pool, b.agencyId);
    const ids = [
      wb.projectId,
      ...wb.taskIds,
      ...wb.clientIds,
      ...wb.invitationIds,
      ...wb.templateIds,
      ...wb.hookIds,
      ...wb.importIds,
      ...wb.userIds,
      ...wb.apiKeyIds,
    ];
    const unknown: World = {
      ...wb,
      projectId: crypto.randomUUID(),
      taskIds: [crypto.randomUUID(), crypto.randomUUID()],
      clientIds: [crypto.randomUUID(), crypto.randomUUID()],
      invitationIds: [crypto.randomUUID(), crypto.randomUUID()],
      templateIds: [crypto.randomUUID(), crypto.randomUUID()],
      hookIds: [crypto.randomUUID(), crypto.randomUUID()],
      importIds: [crypto.randomUUID(), crypto.randomUUID()],
      userIds: [crypto.randomUUID(), crypto.randomUUID()],
      apiKeyIds: [crypto.randomUUID(), crypto.randomUUID()],
    };
    const scrub = (text: string, w: World) => {
      let out = text;
      for (const id of [
        w.projectId,
        ...w.taskIds,
        ...w.clientIds,
        ...w.invitationIds,
        ...w.templateIds,
        ...w.hookIds,
        ...w.importIds,
        ...w.userIds,
        ...w.apiKeyIds,
      ])
        out = out.split(id).join('<id>');
      const { request_id: _r, instance: _i, ...rest } = JSON.parse(out);
      return rest;
    };

    const routes: Array<{ method: string; path: string }> = [];
    for (const [path, methods] of Object.entries(openapi.paths)) {
      // /v1/feeds/{event} takes an event name, not an id; /v1/imports/template.csv none.
      if (!/\{(id|taskId|clientId)\}/.test(path)) continue;
      for (const method of Object.keys(methods)) routes.push({ method, path });
    }
    expect(routes.length).toBeGreaterThanOrEqual(25);

    const checked: string[] = [];
    for (const { method, path } of routes) {
      const def = writeOps[opKey(method, path)];
      const variants: Array<[string, string, World]> = [[`${method} ${path}`, fill(path, wb), unknown]];
      // A's own project with B's task or client: the child id must be checked against the agency too.
      if (path.includes('{taskId}') || path.includes('{clientId}')) {
        const mixed = { ...wb, projectId: wa.projectId };
        variants.push([`${method} ${path} (A's project, B's child)`, fill(path, mixed), { ...unknown, projectId: wa.projectId }]);
      }
      for (const [name, target, control] of variants) {
        const body = def?.body?.(wb);
        const res = await send(stack.url, method.toUpperCase(), target, { key: a.key, ...(body === undefined ? {} : { body }) });
        expect({ name, status: res.status, code: res.body?.code }).toEqual({ name, status: 404, code: 'not_found' });
        for (const secret of wb.secrets) expect({ name, leaked: res.text.includes(secret) }).toEqual({ name, leaked: false });
        // Indistinguishable from an id that exists nowhere.
        const controlPath = target === fill(path, wb) ? fill(path, control) : fill(path, { ...control, projectId: wa.projectId });
        const controlBody = def?.body?.(control);
        const res2 = await send(stack.url, method.toUpperCase(), controlPath, { key: a.key, ...(controlBody === undefined ? {} : { body: controlBody }) });
        expect({ name, status: res2.status }).toEqual({ name, status: res.status });
        expect(scrub(res.text, wb)).toEqual(scrub(res2.text, control));
        checked.push(name);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(routes.length);
    // Every id-bearing route was exercised with B's id somewhere in the path.
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(await agencyFingerprint(stack.deps.pool, b.agencyId)).toEqual(before);
  });
});

describe('bad input on every write operation: a specific problem, and nothing changes', () => {
  const withBody = Object.keys(writeOps).filter((op) => writeOps[op]!.bad);
  const bodyless = Object.keys(writeOps).filter((op) => !writeOps[op]!.bad);
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(a);
  });

  it.each(withBody)('%s: an invalid body is a 422 naming the field; malformed JSON 400; another media type 415', async (op) => {
    const { method, path } = splitOp(op);
    const target = fill(path, w);
    const before = await agencyFingerprint(stack.deps.pool, a.agencyId);
    const { body, field } = writeOps[op]!.bad!(w);
    const invalid = await send(stack.url, method, target, { key: a.key, body });
    expectProblem(invalid, 422, 'validation_failed');
    expect(invalid.body.errors).toEqual(expect.arrayContaining([{ field, message: expect.any(String) }]));
    for (const e of invalid.body.errors) expect(e.message.length).toBeGreaterThan(3);

    const malformed = await send(stack.url, method, target, { key: a.key, rawBody: '{"name": ', headers: { 'content-type': 'application/json' } });
    expectProblem(malformed, 400, 'malformed_json');
    const notJson = await send(stack.url, method, target, { key: a.key, rawBody: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(notJson, 415, 'unsupported_media_type');
    const missing = await send(stack.url, method, target, { key: a.key });
    expectProblem(missing, 422, 'validation_failed');
    expect(missing.body.errors[0].field).toBeTruthy();
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
  });

  it.each(bodyless)('%s: a malformed id is a 404, like an unknown one; nothing changes', async (op) => {
    const { method, path } = splitOp(op);
    const before = await agencyFingerprint(stack.deps.pool, a.agencyId);
    // Only the last id is malformed, so the problem is about it.
    const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const last = params[params.length - 1]!;
    const res = await send(stack.url, method, fill(path.replace(`{${last}}`, 'not-an-id'), w), { key: a.key });
    expectProblem(res, 404, 'not_found');
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
  });

  it('the upload: a file without a required column is a 422 naming the file and the column; a JSON body is a 415', async () => {
    const before = await agencyFingerprint(stack.deps.pool, a.agencyId);
    const res = await send(stack.url, 'POST', '/v1/imports', {
      key: a.key,
      rawBody: 'project,first_name,email\nP,A,a@x.test\n',
      headers: { 'content-type': 'text/csv' },
    });
    expectProblem(res, 422, 'validation_failed');
    expect(res.body.errors).toEqual([{ field: 'file.columns.last_name', message: 'is required' }]);
    expect(res.body.detail).toMatch(/missing required column: last_name/);
    const json = await send(stack.url, 'POST', '/v1/imports', { key: a.key, body: { file: 'x' } });
    expectProblem(json, 415, 'unsupported_media_type');
    expect(await agencyFingerprint(stack.deps.pool, a.agencyId)).toEqual(before);
  });
});
