import type { PoolClient } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client, type ApiResponse } from '../support/http.js';
import { insertProject, countRows } from '../support/fixtures.js';
import { activateClient, addFirmUser, archiveProject } from '../support/state.js';
import { unique } from '../support/unique.js';

/**
 * The invite API writes invites that arrive together in one statement and one commit (group commit,
 * core/src/usecases/inviteGroupCommit.ts). These tests make a group form for certain: the first
 * statements are held on a table lock while the rest arrive, then every request must get exactly the
 * outcome it would get alone.
 */
let stack: TestStack;
let a: TestAgency;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  a = await createTestAgency(stack);
});
afterAll(async () => {
  await stack.close();
});

const person = (email: string) => ({ email, first_name: 'Ada', last_name: 'Lovelace' });

/**
 * Invites taken so far by the agency's hourly quota (in each of the given API processes' Redis prefixes): a
 * request counts once its quota is taken, just before it is written.
 */
async function quotaTaken(stacks: TestStack[] = [stack]): Promise<number> {
  let sum = 0;
  for (const s of stacks) {
    const keys = await s.deps.redis.keys(`${s.config.redisPrefix}:rl:invites:${a.agencyId}:*`);
    const values = keys.length ? await s.deps.redis.mget(...keys) : [];
    sum += values.reduce((total, v) => total + Number(v ?? 0), 0);
  }
  return sum;
}

/**
 * Sends the requests while every invite statement is held (a SHARE lock on email_relay, which each one
 * writes), waits until all of them have taken their quota and so wait to be written, then lets them go.
 */
async function heldTogether(requests: Array<() => Promise<ApiResponse>>, quotaUnits: number, stacks: TestStack[] = [stack]): Promise<ApiResponse[]> {
  const holder: PoolClient = await stack.deps.pool.connect();
  let responses: Promise<ApiResponse[]>;
  try {
    await holder.query('begin');
    await holder.query('lock table email_relay in share mode');
    const before = await quotaTaken(stacks);
    responses = Promise.all(requests.map((r) => r()));
    for (let waited = 0; (await quotaTaken(stacks)) < before + quotaUnits; waited++) {
      if (waited > 1000) throw new Error('the requests never reached the database');
      await new Promise((r) => setTimeout(r, 10));
    }
    // The last quota reply and the request's turn in the queue are one step apart in the API process.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    await holder.query('rollback');
    holder.release();
  }
  return responses;
}

/** Invitations created in the same transaction share xmin: fewer distinct ones than invitations = written together. */
const commitsOf = (projectId: string) => countRows(stack.deps.pool, 'select distinct xmin::text from invitations where project_id = $1', [projectId]);

describe('invites written together (group commit)', () => {
  it('gives each request its own outcome, exactly as alone', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const other = await insertProject(stack.deps.pool, a.agencyId);
    const archived = await insertProject(stack.deps.pool, a.agencyId);
    await archiveProject(stack.deps.pool, archived.id);
    const fresh = Array.from({ length: 24 }, () => `${unique()}@client.test`);
    const twice = `${unique()}@client.test`;
    const twoProjects = `${unique()}@client.test`;
    const teammate = `${unique()}@agency.test`;
    await addFirmUser(stack.deps.pool, { agencyId: a.agencyId, email: teammate, role: 'member' });
    const member = `${unique()}@client.test`;
    const seeded = await client(stack.url, a.key).post(`/v1/projects/${other.id}/invitations`, person(member));
    await activateClient(stack.deps.pool, seeded.body.client.id);

    const api = client(stack.url, a.key);
    const post = (projectId: string, email: string) => () => api.post(`/v1/projects/${projectId}/invitations`, person(email));
    const requests = [
      ...fresh.map((e) => post(project.id, e)),
      post(project.id, twice),
      post(project.id, twice.toUpperCase()),
      post(project.id, twoProjects),
      post(other.id, twoProjects),
      post(archived.id, `${unique()}@client.test`),
      post(project.id, teammate),
      post(project.id, member),
    ];
    // Every request takes its quota before the fast path; the archived project, the teammate and the active
    // member give theirs back when it writes nothing, and take the full path.
    const responses = await heldTogether(requests, requests.length);

    const byEmail = new Map<string, ApiResponse[]>();
    responses.forEach((res, i) => {
      const email = i < fresh.length ? fresh[i]! : [twice, twice, twoProjects, twoProjects, 'archived', teammate, member][i - fresh.length]!;
      byEmail.set(email, [...(byEmail.get(email) ?? []), res]);
    });
    for (const email of fresh) {
      const [res] = byEmail.get(email)!;
      expect(res!.status).toBe(201);
      expect(res!.body).toMatchObject({ result: 'invited', email, status: 'pending', project: { id: project.id }, client: { email, status: 'invited' } });
      // The response is what a read shows.
      const { result: _result, ...created } = res!.body;
      expect((await api.get(`/v1/invitations/${res!.body.id}`)).body).toEqual(created);
    }
    const [first, second] = byEmail.get(twice)!.sort((x, y) => x.status - y.status);
    expect([first!.status, second!.status]).toEqual([200, 201]);
    expect(first!.body.id).toBe(second!.body.id);
    expect(first!.body.result).toBe('already_invited');
    const [p1, p2] = byEmail.get(twoProjects)!;
    expect([p1!.status, p2!.status]).toEqual([201, 201]);
    expect(p1!.body.client.id).toBe(p2!.body.client.id);
    expect(byEmail.get('archived')![0]!.status).toBe(409);
    expect(byEmail.get(teammate)![0]!.status).toBe(409);
    expect(byEmail.get(teammate)![0]!.body.code).toBe('email_belongs_to_firm_user');
    expect(byEmail.get(member)![0]!.status).toBe(201);
    expect(byEmail.get(member)![0]!.body.result).toBe('added');

    // Everything a new invitation writes, once per invitation, and nothing for the refused ones.
    expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(fresh.length + 2);
    expect(
      await countRows(
        stack.deps.pool,
        `select 1 from invitations i join events e on e.subject_id = i.id and e.type = 'invitation.created'
           join emails m on m.invitation_id = i.id join email_relay r on r.email_id = m.id where i.project_id = $1`,
        [project.id],
      ),
    ).toBe(fresh.length + 2);
    expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [archived.id])).toBe(0);
    expect(await countRows(stack.deps.pool, 'select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, teammate])).toBe(0);
    // And they were written together: fewer commits than invitations.
    expect(await commitsOf(project.id)).toBeLessThan(fresh.length);
    // The quota counts the invitations created, not the requests.
    expect(await quotaTaken()).toBe(1 + fresh.length + 3);
  });

  it('a row that fails its statement fails alone; the others of its group are written', async () => {
    const project = await insertProject(stack.deps.pool, a.agencyId);
    const bad = `bad-${unique()}@client.test`;
    // A fault only PostgreSQL knows about (as a constraint added later would be), for one address.
    const fn = unique('refuse_');
    await stack.deps.pool.query(
      `create function ${fn}() returns trigger language plpgsql as $$ begin raise exception 'refused by a test trigger'; end $$;
       create trigger ${fn} before insert on invitations for each row when (new.email = '${bad}') execute function ${fn}();`,
    );
    try {
      const good = Array.from({ length: 12 }, () => `${unique()}@client.test`);
      const api = client(stack.url, a.key);
      const emails = [...good.slice(0, 6), bad, ...good.slice(6)];
      const before = await quotaTaken();
      const responses = await heldTogether(
        emails.map((e) => () => api.post(`/v1/projects/${project.id}/invitations`, person(e))),
        emails.length,
      );
      emails.forEach((e, i) => expect([e, responses[i]!.status]).toEqual([e, e === bad ? 500 : 201]));
      expect(responses[6]!.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(good.length);
      // Nothing of the refused invite stays: not its client, and not its quota unit.
      expect(await countRows(stack.deps.pool, 'select 1 from clients where agency_id = $1 and email_normalized = $2', [a.agencyId, bad])).toBe(0);
      expect(await quotaTaken()).toBe(before + good.length);
    } finally {
      await stack.deps.pool.query(`drop trigger ${fn} on invitations; drop function ${fn}()`);
    }
  });

  it('two API processes grouping the same addresses in opposite orders: one client and one invitation each, every request answered', async () => {
    // A second API process on the same database (its own pool, so its own group commit, its own Redis prefix).
    const other = await startStack({ worker: false, smtp: false, env: { DATABASE_URL: stack.config.databaseUrl! } });
    try {
      const project = await insertProject(stack.deps.pool, a.agencyId);
      const emails = Array.from({ length: 30 }, () => `${unique()}@client.test`);
      const post = (url: string, email: string) => () => client(url, a.key).post(`/v1/projects/${project.id}/invitations`, person(email));
      const requests = [...emails.map((e) => post(stack.url, e)), ...[...emails].reverse().map((e) => post(other.url, e))];
      const responses = await heldTogether(requests, requests.length, [stack, other]);

      expect(responses.filter((r) => r.status >= 500)).toEqual([]);
      for (const [i, email] of emails.entries()) {
        const pair = [responses[i]!, responses[2 * emails.length - 1 - i]!];
        expect(pair.map((r) => r.status).sort()).toEqual([200, 201]);
        expect(pair[0]!.body.id).toBe(pair[1]!.body.id);
        expect(pair.map((r) => r.body.email)).toEqual([email, email]);
      }
      expect(await countRows(stack.deps.pool, 'select 1 from invitations where project_id = $1', [project.id])).toBe(emails.length);
      expect(await countRows(stack.deps.pool, 'select 1 from clients where agency_id = $1 and email = any($2)', [a.agencyId, emails])).toBe(emails.length);
      expect(
        await countRows(stack.deps.pool, 'select 1 from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1', [project.id]),
      ).toBe(emails.length);
    } finally {
      await other.close();
    }
  });
});
