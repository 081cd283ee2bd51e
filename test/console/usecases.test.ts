import { randomBytes } from 'node:crypto';
import { bulkAssignClients, issueApiKey, getTemplateUsage, listClientDirectory, countInvitations, type Principal } from '@onramp/core';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';
import { addFirmUser } from '../support/state.js';

/**
 * The core pieces the console's pages stand on, each through the API door too: the client directory
 * search, adding a client without inviting, adding an active client to another project, "all N matching"
 * bulk actions, a template's usage and assigning many clients to many tasks. Real PostgreSQL and Redis.
 */
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

const principalOf = (agency: TestAgency): Principal => ({
  agencyId: agency.agencyId,
  userId: agency.userId,
  userEmail: agency.email,
  userName: 'Owner',
  agencyName: 'A',
  role: 'owner',
  apiKeyId: '',
});

async function memberKey(agency: TestAgency): Promise<string> {
  const user = await addFirmUser(stack.deps.pool, {
    agencyId: agency.agencyId,
    email: `member-${randomBytes(3).toString('hex')}@agency.test`,
    name: 'Mo',
    role: 'member',
  });
  return (await issueApiKey(stack.deps.pool, { agencyId: agency.agencyId, userId: user.id })).key;
}

async function newProject(agency: TestAgency, name: string): Promise<string> {
  const res = await client(stack.url, agency.key).post('/v1/projects', { name, template_name: 'Client onboarding' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('client directory search (GET /v1/clients?q=&status=)', () => {
  const made: Record<string, string> = {};
  beforeAll(async () => {
    const api = client(stack.url, a.key);
    const people = [
      ['Ada', 'Lovelace', 'ada@analytical.test'],
      ['Adam', 'Smith', 'adam.smith@wealth.test'],
      ['Grace', 'Hopper', 'GRACE@navy.test'],
      ['Alan', 'Turing', 'alan@bletchley.test'],
      ['Percent', 'Sign', 'ada_x@odd.test'],
    ];
    for (const [first, last, email] of people) {
      const res = await api.post('/v1/clients', { first_name: first, last_name: last, email });
      expect(res.status).toBe(201);
      made[email!] = res.body.id;
    }
    // Another agency's Ada never shows up in A's directory.
    expect((await client(stack.url, b.key).post('/v1/clients', { first_name: 'Ada', last_name: 'Other', email: 'ada@other.test' })).status).toBe(201);
  });

  const emails = async (query: string) => {
    const res = await client(stack.url, a.key).get(`/v1/clients?${query}`);
    expect(res.status).toBe(200);
    return (res.body.data as Array<{ email: string }>).map((c) => c.email).sort();
  };

  it('matches a prefix of the email, first name, last name or full name, case-insensitively', async () => {
    expect(await emails('q=ada')).toEqual(['ada@analytical.test', 'ada_x@odd.test', 'adam.smith@wealth.test']);
    expect(await emails('q=ADAM')).toEqual(['adam.smith@wealth.test']);
    expect(await emails('q=love')).toEqual(['ada@analytical.test']);
    expect(await emails('q=grace%40navy')).toEqual(['GRACE@navy.test']);
    expect(await emails('q=%20ada%20%20love%20')).toEqual(['ada@analytical.test']);
    expect(await emails('q=lovelace%20ada')).toEqual([]);
    // Not a substring search: "ring" is inside Turing, not at the start of anything.
    expect(await emails('q=ring')).toEqual([]);
  });

  it('takes LIKE wildcards literally', async () => {
    expect(await emails('q=ada_')).toEqual(['ada_x@odd.test']);
    expect(await emails('q=ada%25')).toEqual([]);
    expect(await emails('q=a_a')).toEqual([]);
  });

  it('filters by status, combined with the search, and pages with a cursor', async () => {
    await stack.deps.pool.query(`update clients set status = 'active', activated_at = now() where id = $1`, [made['ada@analytical.test']]);
    expect(await emails('status=active')).toEqual(['ada@analytical.test']);
    expect(await emails('status=inactive&q=ada')).toEqual(['ada_x@odd.test', 'adam.smith@wealth.test']);
    const api = client(stack.url, a.key);
    const first = await api.get('/v1/clients?limit=2');
    expect(first.body.data).toHaveLength(2);
    const second = await api.get(`/v1/clients?limit=2&cursor=${first.body.next_cursor}`);
    const third = await api.get(`/v1/clients?limit=2&cursor=${second.body.next_cursor}`);
    const all = [...first.body.data, ...second.body.data, ...third.body.data].map((c: { email: string }) => c.email);
    expect(new Set(all).size).toBe(5);
    expect(third.body.next_cursor).toBeNull();
  });

  it('refuses a status that does not exist and an over-long search', async () => {
    const api = client(stack.url, a.key);
    const bad = await api.get('/v1/clients?status=gone');
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('status');
    expect((await api.get(`/v1/clients?q=${'x'.repeat(201)}`)).status).toBe(422);
  });

  it('the directory read model adds project and pending counts', async () => {
    const page = await listClientDirectory(stack.deps.pool, a.agencyId, { q: 'grace' }, { limit: 10 });
    expect(page.data).toEqual([expect.objectContaining({ email: 'GRACE@navy.test', status: 'inactive', projects: 0, pending: 0 })]);
  });

  it('has a byte-ordered (text_pattern_ops) index for each branch, so a prefix is a range scan whatever the collation', async () => {
    const { rows } = await stack.deps.pool.query<{ indexname: string; indexdef: string }>(
      `select indexname, indexdef from pg_indexes where tablename = 'clients' and indexdef like '%text_pattern_ops%' order by indexname`,
    );
    expect(rows.map((r) => r.indexname)).toEqual([
      'clients_agency_email_prefix_idx',
      'clients_agency_first_name_prefix_idx',
      'clients_agency_last_name_prefix_idx',
    ]);
  });
});

describe('add a client without inviting (POST /v1/clients)', () => {
  it('creates an inactive client with its event and no email; the same address again is a 409 naming the client', async () => {
    const api = client(stack.url, a.key);
    const res = await api.post('/v1/clients', { first_name: ' Mary ', last_name: 'Shelley', email: 'Mary@Frankenstein.test' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'Mary@Frankenstein.test', first_name: 'Mary', status: 'inactive' });
    expect(await countRows(stack.deps.pool, `select 1 from events where type = 'client.created' and subject_id = $1`, [res.body.id])).toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [res.body.id])).toBe(0);
    const again = await api.post('/v1/clients', { first_name: 'Mary', last_name: 'S', email: ' mary@frankenstein.test ' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'conflict', client_id: res.body.id, errors: [{ field: 'email' }] });
  });

  it('refuses a firm user address, bad input and members, changing nothing', async () => {
    const api = client(stack.url, a.key);
    const firm = await api.post('/v1/clients', { first_name: 'O', last_name: 'W', email: a.email });
    expect(firm.status).toBe(409);
    expect(firm.body.code).toBe('email_belongs_to_firm_user');
    const bad = await api.post('/v1/clients', { first_name: '', last_name: 'W', email: 'not-an-email' });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['email', 'first_name']);
    const member = await client(stack.url, await memberKey(a)).post('/v1/clients', { first_name: 'M', last_name: 'M', email: 'member-made@x.test' });
    expect(member.status).toBe(403);
    expect(await countRows(stack.deps.pool, `select 1 from clients where email_normalized in ('member-made@x.test', 'not-an-email')`)).toBe(0);
  });
});

describe('add an active client to another project (POST /v1/projects/:id/members)', () => {
  it('adds an active client without an email, once; refuses one who is not active; another agency is 404', async () => {
    const api = client(stack.url, a.key);
    const p1 = await newProject(a, 'First workspace');
    const p2 = await newProject(a, 'Second workspace');
    const invited = await api.post(`/v1/projects/${p1}/invitations`, { email: 'kim@client.test', first_name: 'Kim', last_name: 'Lee', send_email: false });
    const clientId = invited.body.client.id as string;
    const notYet = await api.post(`/v1/projects/${p2}/members`, { client_id: clientId });
    expect(notYet.status).toBe(409);
    expect(notYet.body.detail).toMatch(/invited .*Invite them/);

    await stack.deps.pool.query(`update clients set status = 'active', activated_at = now() where id = $1`, [clientId]);
    const emailsBefore = await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [clientId]);
    const added = await api.post(`/v1/projects/${p2}/members`, { client_id: clientId });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ result: 'added', client: { id: clientId, status: 'active' } });
    expect((await api.post(`/v1/projects/${p2}/members`, { client_id: clientId })).status).toBe(200);
    expect(await countRows(stack.deps.pool, 'select 1 from memberships where project_id = $1 and client_id = $2', [p2, clientId])).toBe(1);
    expect(await countRows(stack.deps.pool, `select 1 from events where type = 'client.added_to_project' and subject_id = $1`, [clientId])).toBe(1);
    expect(await countRows(stack.deps.pool, 'select 1 from emails where client_id = $1', [clientId])).toBe(emailsBefore);

    const other = client(stack.url, b.key);
    expect((await other.post(`/v1/projects/${p2}/members`, { client_id: clientId })).status).toBe(404);
    const bProject = await newProject(b, 'B workspace');
    expect((await other.post(`/v1/projects/${bProject}/members`, { client_id: clientId })).status).toBe(404);
    expect((await api.post(`/v1/projects/${p2}/members`, { client_id: 'nope' })).status).toBe(422);
  });
});

describe('every invitation matching a filter (POST /v1/invitations/bulk/matching)', () => {
  let project: string;
  beforeAll(async () => {
    project = await newProject(a, 'Bulk by filter');
    const api = client(stack.url, a.key);
    // Not emailed, so never "sent too recently": the resend limits are exercised below on purpose.
    for (let i = 0; i < 230; i++) {
      const res = await api.post(`/v1/projects/${project}/invitations`, {
        email: `bulk${i}@many.test`,
        first_name: 'Bulk',
        last_name: `N${i}`,
        send_email: false,
      });
      expect(res.status).toBe(201);
    }
    await api.post(`/v1/projects/${project}/invitations`, { email: 'zed@elsewhere.test', first_name: 'Zed', last_name: 'Other', send_email: false });
  });

  it('resends every match across slices, and the resend limits answer per item the second time', async () => {
    const api = client(stack.url, a.key);
    const { count, newestSeq } = await countInvitations(stack.deps.pool, a.agencyId, { status: 'pending', projectId: project, q: 'bulk' });
    expect(count).toBe(230);
    // Created after the count was shown: left out.
    await api.post(`/v1/projects/${project}/invitations`, { email: 'bulklate@many.test', first_name: 'Bulk', last_name: 'Late', send_email: false });
    const res = await api.post('/v1/invitations/bulk/matching', {
      action: 'resend',
      filter: { status: 'pending', project_id: project, q: 'bulk' },
      through_seq: newestSeq,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ attempted: 230, succeeded: 230, failed_by_code: {}, left_over: 0 });
    expect(await countRows(stack.deps.pool, `select 1 from invitations where project_id = $1 and send_count = 1 and email like 'bulk%'`, [project])).toBe(230);
    expect(await countRows(stack.deps.pool, `select 1 from invitations where email in ('bulklate@many.test', 'zed@elsewhere.test') and send_count = 0`)).toBe(
      2,
    );

    const again = await api.post('/v1/invitations/bulk/matching', { action: 'resend', filter: { status: 'pending', project_id: project, q: 'bulk' }, max: 20 });
    expect(again.body.attempted).toBe(20);
    // The late one was never sent, so it goes; the others were sent a moment ago.
    expect(again.body.succeeded).toBe(1);
    expect(again.body.failed_by_code).toEqual({ rate_limited: 19 });
    expect(again.body.failures[0]).toMatchObject({ code: 'rate_limited', email: expect.stringMatching(/^bulk/) });
    expect(again.body.left_over).toBe(211);
  });

  it('revokes every match; members may not; another agency matches nothing', async () => {
    const member = await client(stack.url, await memberKey(a)).post('/v1/invitations/bulk/matching', { action: 'revoke', filter: { project_id: project } });
    expect(member.status).toBe(403);
    const other = await client(stack.url, b.key).post('/v1/invitations/bulk/matching', { action: 'revoke', filter: { project_id: project } });
    expect(other.body).toMatchObject({ attempted: 0, succeeded: 0 });
    const res = await client(stack.url, a.key).post('/v1/invitations/bulk/matching', {
      action: 'revoke',
      filter: { status: 'pending', project_id: project, q: 'zed' },
    });
    expect(res.body).toMatchObject({ attempted: 1, succeeded: 1 });
    const list = await client(stack.url, a.key).get(`/v1/invitations?project_id=${project}&q=zed`);
    expect(list.body.data).toEqual([expect.objectContaining({ email: 'zed@elsewhere.test', status: 'revoked' })]);
    const bad = await client(stack.url, a.key).post('/v1/invitations/bulk/matching', { action: 'delete', filter: {} });
    expect(bad.status).toBe(422);
  });
});

describe('template usage and bulk assignment by client id', () => {
  it('counts the projects made from a template', async () => {
    const api = client(stack.url, a.key);
    const t = await api.post('/v1/templates', { name: 'Usage', tasks: [{ title: 'One' }] });
    await api.post('/v1/projects', { name: 'U1', template_id: t.body.id });
    await api.post('/v1/projects', { name: 'U2', template_id: t.body.id });
    expect(await getTemplateUsage(stack.deps.pool, a.agencyId, t.body.id)).toEqual({ projects: 2, activeImports: 0 });
    expect(await getTemplateUsage(stack.deps.pool, b.agencyId, t.body.id)).toBeNull();
  });

  it("assigns several clients to several tasks through bulkAssign; another agency's client is reported, not assigned", async () => {
    const api = client(stack.url, a.key);
    const projectId = await newProject(a, 'Assign many');
    const tasks = (await api.get(`/v1/projects/${projectId}/tasks`)).body.data as Array<{ id: string }>;
    const c1 = (await api.post('/v1/clients', { first_name: 'Ana', last_name: 'One', email: 'ana1@assign.test' })).body.id;
    const c2 = (await api.post('/v1/clients', { first_name: 'Ben', last_name: 'Two', email: 'ben2@assign.test' })).body.id;
    const foreign = (await client(stack.url, b.key).post('/v1/clients', { first_name: 'F', last_name: 'F', email: 'f@assign.test' })).body.id;
    const out = await bulkAssignClients(stack.deps, principalOf(a), projectId, {
      clientIds: [c1, c2, foreign],
      taskIds: [tasks[0]!.id, tasks[1]!.id],
      sendEmails: false,
    });
    expect(out.unknownClientIds).toEqual([foreign]);
    expect(out.results).toHaveLength(4);
    expect(out.results.every((r) => r.ok && r.result === 'assigned' && r.invite_result !== undefined)).toBe(true);
    expect(await countRows(stack.deps.pool, 'select 1 from task_assignees a join tasks t on t.id = a.task_id where t.project_id = $1', [projectId])).toBe(4);
    // Not members before: invited, as assigning through the API does.
    expect(await countRows(stack.deps.pool, `select 1 from invitations where project_id = $1 and status = 'pending'`, [projectId])).toBe(2);
    await expect(bulkAssignClients(stack.deps, principalOf(a), projectId, { clientIds: [foreign], taskIds: [] })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

describe('the upload reader shared by POST /v1/imports and the console', () => {
  it('applies options sent after the file (curl -F file=@x -F dry_run=true), and treats an empty field as unset', async () => {
    // Big enough to arrive in many chunks: the fields come well after the file has started streaming.
    const lines = Array.from({ length: 60_000 }, (_, i) => `Project ${i % 50},Ann,Lee,ann${i}@order.test`);
    const form = new FormData();
    form.append('file', new Blob([`project_name,first_name,last_name,email\n${lines.join('\n')}\n`], { type: 'text/csv' }), 'order.csv');
    form.append('dry_run', 'true');
    form.append('send_emails', 'false');
    form.append('default_template', '');
    const res = await fetch(`${stack.url}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${a.key}` }, body: form });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { id: string; dry_run: boolean; send_emails: boolean };
    expect(body).toMatchObject({ dry_run: true, send_emails: false });
    const { rows } = await stack.deps.pool.query<{ dry_run: boolean; send_emails: boolean; default_template: string | null }>(
      'select dry_run, send_emails, default_template from imports where id = $1',
      [body.id],
    );
    expect(rows[0]).toEqual({ dry_run: true, send_emails: false, default_template: null });
  });
});
