import { createTwoAgencies, startStack, type TestAgency, type TestStack } from '../support/stack.js';
import { withBuffers, type Connection } from '../support/plans.js';
import { clientsByIds } from '../../core/src/sql/clients.js';
import { findClientsInProject } from '../../core/src/sql/projects.js';
import { selectClientDetailRow } from '../../core/src/sql/read/clientDetail.js';
import { selectConsoleMemberRows, selectInvitationEmails } from '../../core/src/sql/read/console.js';
import { selectInvitationRows } from '../../core/src/sql/read/invitations.js';
import { selectPortalProjects } from '../../core/src/sql/read/portal.js';
import { listTaskRows, selectProjectRows, selectTaskRow } from '../../core/src/sql/read/projects.js';

/**
 * Lookups of one or a few rows of a large agency (3,000 clients and invitations, 1,000 projects), as
 * PostgreSQL plans them. There are no statistics on agency_id (migration 0097), so "the agency's rows" always
 * look like 0.5% of a table, and a statement that lets the planner reach rows through them (a bitmap of the
 * agency's index, a hash join over its clients) reads all of them on every call. Each statement is checked by
 * the buffers one call reads (auto_explain), never by time: with a generic plan (what a named statement
 * keeps) and a custom one (what these unnamed statements get), before any ANALYZE (a new database, or one that
 * has just grown) and after; and another agency's id finds nothing.
 */
let stack: TestStack;
let a: TestAgency;
let b: TestAgency;
let generic: Connection;
let custom: Connection;
/** The rows the lookups ask for, by what the seed made of them. */
let ids: {
  bigProject: string;
  memberProject: string;
  taskProject: string;
  task: string;
  client: string;
  clientEmail: string;
  invitation: string;
  invitations: string[];
  clients: string[];
  projects: string[];
};

// The stack's database is its own: no autovacuum, so "before ANALYZE" is what it says whatever the timing.
const seeded = ['clients', 'projects', 'invitations', 'memberships', 'tasks', 'task_assignees'];

/**
 * Client k (c<k>@plans.test) is a member of project k % 400 (about 8 members each), has a pending invitation
 * to project 0 if k < 1,500 (half the agency's invitations in one project) or else to project k % 1,000, and
 * is assigned the first of the 3 tasks of project k % 1,000.
 */
async function seed(agency: TestAgency): Promise<void> {
  const c = await stack.deps.pool.connect();
  try {
    await c.query(`insert into projects (agency_id, name) select $1, 'P' || g from generate_series(0, 999) g`, [agency.agencyId]);
    await c.query(
      `insert into clients (agency_id, email, first_name, last_name, status, activated_at)
       select $1, 'c' || g || '@plans.test', 'First' || g, 'Last' || g, 'active', now() from generate_series(0, 2999) g`,
      [agency.agencyId],
    );
    await c.query('create temp table p as select (row_number() over (order by seq) - 1)::int as k, id from projects where agency_id = $1', [agency.agencyId]);
    await c.query('create temp table c as select (row_number() over (order by seq) - 1)::int as k, id, email from clients where agency_id = $1', [
      agency.agencyId,
    ]);
    await c.query(
      `insert into invitations (agency_id, project_id, client_id, email, created_by, token_hash, expires_at, send_count, last_sent_at)
       select $1, p.id, c.id, c.email, $2, sha256(convert_to('plans-' || c.k, 'UTF8')), now() + interval '7 days', 1, now()
         from c join p on p.k = case when c.k < 1500 then 0 else c.k % 1000 end`,
      [agency.agencyId, agency.userId],
    );
    await c.query(`insert into memberships (project_id, client_id, agency_id) select p.id, c.id, $1 from c join p on p.k = c.k % 400`, [agency.agencyId]);
    await c.query(`insert into tasks (agency_id, project_id, position, title) select $1, p.id, g, 'T' || g from p, generate_series(1, 3) g`, [agency.agencyId]);
    await c.query(
      `insert into task_assignees (task_id, client_id, agency_id)
       select t.id, c.id, $1 from c join p on p.k = c.k % 1000 join tasks t on t.project_id = p.id and t.position = 1`,
      [agency.agencyId],
    );
  } finally {
    await c.query('drop table if exists p, c').catch(() => undefined);
    c.release();
  }
}

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  ({ a, b } = await createTwoAgencies(stack));
  const pool = stack.deps.pool;
  for (const t of seeded) await pool.query(`alter table ${t} set (autovacuum_enabled = off)`);
  await seed(a);
  const one = async (sql: string, values: unknown[]) => (await pool.query<{ id: string; email: string }>(sql, values)).rows[0]!;
  const project = async (name: string) => (await one('select id from projects where agency_id = $1 and name = $2', [a.agencyId, name])).id;
  const client = await one(`select id, email from clients where agency_id = $1 and email = 'c401@plans.test'`, [a.agencyId]);
  const taskProject = await project('P401');
  const column = async (sql: string) => (await pool.query<{ id: string }>(sql, [a.agencyId])).rows.map((r) => r.id);
  ids = {
    bigProject: await project('P0'),
    memberProject: await project('P1'),
    taskProject,
    task: (await one('select id from tasks where project_id = $1 and position = 1', [taskProject])).id,
    client: client.id,
    clientEmail: client.email,
    invitation: (await one('select id from invitations where client_id = $1', [client.id])).id,
    invitations: await column('select id from invitations where agency_id = $1 order by seq offset 2000 limit 3'),
    clients: await column('select id from clients where agency_id = $1 order by seq offset 2000 limit 3'),
    projects: await column('select id from projects where agency_id = $1 order by seq offset 600 limit 3'),
  };
  generic = await pool.connect();
  await generic.query('set plan_cache_mode = force_generic_plan');
  custom = await pool.connect();
});
afterAll(async () => {
  await generic?.query('reset plan_cache_mode');
  generic?.release();
  custom?.release();
  await stack.close();
});

interface Lookup {
  name: string;
  /** Buffers one call may read: its key lookups, with room to spare; reaching rows through the agency reads many more. */
  within: number;
  run: (db: Connection, agencyId: string) => Promise<unknown>;
  expectFound: (result: unknown) => void;
}

const sortedIds = (rows: unknown) => (rows as Array<{ id: string }>).map((r) => r.id).sort();

const lookups: Lookup[] = [
  {
    name: "a client's portal projects (selectPortalProjects)",
    within: 40,
    run: (db, agencyId) => selectPortalProjects(db, agencyId, ids.client),
    expectFound: (rows) => expect(rows).toEqual([{ id: ids.memberProject, name: 'P1', archived: false }]),
  },
  {
    name: "a project's members on its console page (selectConsoleMemberRows)",
    within: 40,
    run: (db, agencyId) => selectConsoleMemberRows(db, agencyId, ids.memberProject, 50),
    expectFound: (rows) => {
      expect((rows as Array<{ email: string }>).map((r) => r.email).sort()).toEqual(
        [1, 401, 801, 1201, 1601, 2001, 2401, 2801].map((k) => `c${k}@plans.test`).sort(),
      );
    },
  },
  {
    // The client's own rows (3 projects, 1 task) and each project by key: about 35 buffers.
    name: "a client's detail, with its projects (selectClientDetailRow)",
    within: 60,
    run: (db, agencyId) => selectClientDetailRow(db, agencyId, ids.client),
    expectFound: (row) => {
      const projects = (row as { projects: Array<{ id: string; membership: string; tasks: Array<{ id: string }> }> }).projects;
      expect(projects.map((p) => [p.id, p.membership, p.tasks.map((t) => t.id)])).toEqual([
        [ids.taskProject, 'none', [ids.task]],
        [ids.memberProject, 'member', []],
        [ids.bigProject, 'invited', []],
      ]);
    },
  },
  {
    // Before ANALYZE the old statement looked for the client's invitation among the project's 1,500 pending ones.
    name: 'clients of addresses, with their membership and pending invitation in a project (findClientsInProject)',
    within: 40,
    run: (db, agencyId) => findClientsInProject(db, agencyId, ids.bigProject, [ids.clientEmail, 'nobody@plans.test']),
    expectFound: (rows) => {
      expect(rows).toEqual([{ email: ids.clientEmail, clientId: ids.client, status: 'active', member: false, pendingInvitationId: ids.invitation }]);
    },
  },
  {
    // Three invitations with their project, client and inviter: about 25 buffers.
    name: 'invitations by id, as the API shows them (selectInvitationRows)',
    within: 40,
    run: (db, agencyId) => selectInvitationRows(db, agencyId, ids.invitations),
    expectFound: (rows) => expect(sortedIds(rows)).toEqual([...ids.invitations].sort()),
  },
  // Three rows by primary key read about 3 to 9 buffers.
  {
    name: "invitations' addresses by id (selectInvitationEmails)",
    within: 10,
    run: (db, agencyId) => selectInvitationEmails(db, agencyId, ids.invitations),
    expectFound: (rows) => expect(sortedIds(rows)).toEqual([...ids.invitations].sort()),
  },
  {
    name: 'projects by id (selectProjectRows)',
    within: 10,
    run: (db, agencyId) => selectProjectRows(db, agencyId, ids.projects),
    expectFound: (rows) => expect(sortedIds(rows)).toEqual([...ids.projects].sort()),
  },
  {
    name: 'clients by id (clientsByIds)',
    within: 10,
    run: (db, agencyId) => clientsByIds(db, agencyId, ids.clients),
    expectFound: (rows) => expect(sortedIds(rows)).toEqual([...ids.clients].sort()),
  },
  {
    name: 'a task with its assignees (selectTaskRow)',
    within: 40,
    run: (db, agencyId) => selectTaskRow(db, agencyId, ids.taskProject, ids.task),
    expectFound: (row) => {
      expect((row as { assignees: Array<{ email: string }> }).assignees.map((x) => x.email).sort()).toEqual(
        ['c401@plans.test', 'c1401@plans.test', 'c2401@plans.test'].sort(),
      );
    },
  },
  {
    name: "a project's tasks with their assignees (listTaskRows)",
    within: 40,
    run: (db, agencyId) => listTaskRows(db, agencyId, ids.taskProject),
    expectFound: (rows) => expect((rows as Array<{ assignees: unknown[] }>).map((t) => t.assignees.length)).toEqual([3, 0, 0]),
  },
];

const modes = { 'a generic plan': () => generic, 'a custom plan': () => custom };

async function expectFewBuffers(k: Lookup, c: Connection): Promise<void> {
  const { result, buffers } = await withBuffers(c, () => k.run(c, a.agencyId));
  k.expectFound(result);
  expect(buffers).toHaveLength(1);
  expect(buffers[0]).toBeLessThan(k.within);
}

describe('before ANALYZE, lookups in a large agency read only their rows', () => {
  for (const k of lookups) for (const [mode, c] of Object.entries(modes)) it(`${k.name}, with ${mode}`, () => expectFewBuffers(k, c()));
});

describe('after ANALYZE, lookups in a large agency read only their rows', () => {
  beforeAll(async () => {
    await stack.deps.pool.query(`analyze ${seeded.join(', ')}`);
  });
  for (const k of lookups) for (const [mode, c] of Object.entries(modes)) it(`${k.name}, with ${mode}`, () => expectFewBuffers(k, c()));
});

describe("another agency's lookups", () => {
  for (const k of lookups) {
    it(`find nothing of the agency's: ${k.name}`, async () => {
      const other = await k.run(custom, b.agencyId);
      expect(Array.isArray(other) ? other : other === null ? [] : [other]).toEqual([]);
    });
  }
});
