import pg from 'pg';
import { createPool, loadMigrations, migrate } from '@onramp/core';
import { removeTempDir } from '../support/tempDir.js';
import { unique } from '../support/unique.js';

async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(process.env.TEST_DATABASE_URL!);
  const name = unique('scratch_');
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

describe('migrations', () => {
  it('apply exactly once when several processes migrate at the same moment', async () => {
    const db = await scratchDatabase();
    const pools = Array.from({ length: 4 }, () => createPool(db.url, 2));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const all = await loadMigrations();
      expect(results.flat().sort()).toEqual(all.map((m) => m.name).sort());
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      const { rows } = await pools[0]!.query<{ n: number }>('select count(*)::int as n from schema_migrations');
      expect(rows[0]!.n).toBe(all.length);
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    }
  });

  it('run each migration in its own transaction: a failing one leaves nothing behind and stops the run', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'onramp-migrations-'));
    writeFileSync(join(dir, '0001_first.sql'), 'create table first_table (id int);');
    writeFileSync(join(dir, '0002_broken.sql'), 'create table half_done (id int); select * from no_such_table;');
    writeFileSync(join(dir, '0003_never.sql'), 'create table never_reached (id int);');
    const db = await scratchDatabase();
    const pool = createPool(db.url, 2);
    try {
      await expect(migrate(pool, undefined, `${dir}/`)).rejects.toThrow(/migration 0002_broken failed: .*no_such_table/);
      const tables = await pool.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_name in ('first_table', 'half_done', 'never_reached')",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(['first_table']);
      const applied = await pool.query<{ name: string }>('select name from schema_migrations');
      expect(applied.rows.map((r) => r.name)).toEqual(['0001_first']);
    } finally {
      removeTempDir(dir);
      await pool.end();
      await db.drop();
    }
  });

  it('are numbered in order', async () => {
    const all = await loadMigrations();
    expect(all.length).toBeGreaterThan(0);
    expect(all.map((m) => m.version)).toEqual([...new Set(all.map((m) => m.version))].sort((x, y) => x - y));
  });
});

describe('tenant foreign keys', () => {
  type Tenant = { agency: string; user: string; project: string; client: string; task: string; invitation: string };
  let db: { url: string; drop(): Promise<void> };
  let pool: ReturnType<typeof createPool>;
  let a: Tenant;
  let b: Tenant;

  const one = async (sql: string, params: unknown[]): Promise<string> => (await pool.query<{ id: string }>(`${sql} returning id`, params)).rows[0]!.id;

  async function tenant(name: string): Promise<Tenant> {
    const agency = await one('insert into agencies (name) values ($1)', [name]);
    const user = await one("insert into firm_users (agency_id, email, role) values ($1, $2, 'owner')", [agency, `owner@${name}.test`]);
    const project = await one('insert into projects (agency_id, name) values ($1, $2)', [agency, `Project ${name}`]);
    const client = await one("insert into clients (agency_id, email, first_name, last_name) values ($1, $2, 'Ada', 'Client')", [agency, `ada@${name}.test`]);
    const task = await one("insert into tasks (agency_id, project_id, title) values ($1, $2, 'Kick-off')", [agency, project]);
    const invitation = await one(
      "insert into invitations (agency_id, project_id, client_id, email, created_by, expires_at) values ($1, $2, $3, $4, $5, now() + interval '7 days')",
      [agency, project, client, `ada@${name}.test`, user],
    );
    return { agency, user, project, client, task, invitation };
  }

  /** The database itself must refuse the row, whatever the application code in front of it does. */
  async function expectViolation(sql: string, params: unknown[], code: string, constraint: string | RegExp): Promise<void> {
    const err = await pool.query(sql, params).then(
      () => null,
      (e: { code?: string; constraint?: string }) => e,
    );
    expect({ code: err?.code, constraint: err?.constraint }).toEqual({
      code,
      constraint: typeof constraint === 'string' ? constraint : expect.stringMatching(constraint),
    });
  }

  beforeAll(async () => {
    db = await scratchDatabase();
    pool = createPool(db.url, 2);
    await migrate(pool);
    a = await tenant('a');
    b = await tenant('b');
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('reject a child row whose agency differs from its parent’s (23503)', async () => {
    const fk = '23503';
    // task_assignees: the task of A with the client of B, under either agency.
    await expectViolation(
      'insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)',
      [a.task, b.client, a.agency],
      fk,
      'task_assignees_client_id_agency_id_fkey',
    );
    await expectViolation(
      'insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)',
      [a.task, b.client, b.agency],
      fk,
      'task_assignees_task_id_agency_id_fkey',
    );
    // invitations: A's project for B's client; A's project and client stamped with B's agency.
    const inv = "insert into invitations (agency_id, project_id, client_id, email, expires_at) values ($1, $2, $3, 'x@x.test', now() + interval '1 day')";
    await expectViolation(inv, [a.agency, a.project, b.client], fk, 'invitations_client_id_agency_id_fkey');
    await expectViolation(inv, [b.agency, a.project, b.client], fk, 'invitations_project_id_agency_id_fkey');
    // memberships
    await expectViolation(
      'insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3)',
      [a.project, b.client, a.agency],
      fk,
      'memberships_client_id_agency_id_fkey',
    );
    await expectViolation(
      'insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3)',
      [a.project, b.client, b.agency],
      fk,
      'memberships_project_id_agency_id_fkey',
    );
    // tasks
    await expectViolation(
      "insert into tasks (agency_id, project_id, title) values ($1, $2, 'Stray')",
      [b.agency, a.project],
      fk,
      'tasks_project_id_agency_id_fkey',
    );
    // emails: through the recipient, client or firm user, which every email names.
    const email =
      "insert into emails (agency_id, kind, to_address, invitation_id, client_id, firm_user_id) values ($1, 'invitation_accepted', 'x@x.test', $2, $3, $4)";
    await expectViolation(email, [b.agency, a.invitation, a.client, null], fk, 'emails_client_id_agency_id_fkey');
    await expectViolation(email, [b.agency, null, null, a.user], fk, 'emails_firm_user_id_agency_id_fkey');
    // An email naming no recipient would have no reference to check its agency against.
    await expectViolation(email, [a.agency, a.invitation, null, null], '23514', 'emails_names_a_recipient_check');
    await expectViolation(email, [a.agency, null, null, null], '23514', 'emails_names_a_recipient_check');
    // Moving an existing row to another agency is refused the same way.
    await expectViolation(
      'update invitations set agency_id = $2 where id = $1',
      [a.invitation, b.agency],
      fk,
      /^invitations_(project|client)_id_agency_id_fkey$/,
    );

    // The same rows within one agency are accepted: the refusals above are about the tenant, nothing else.
    await pool.query('insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)', [b.task, b.client, b.agency]);
    await pool.query('insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3)', [b.project, b.client, b.agency]);
    await pool.query(email, [b.agency, b.invitation, b.client, b.user]);
    const { rows } = await pool.query<{ n: number }>(
      `select (select count(*) from task_assignees) + (select count(*) from memberships) + (select count(*) from emails)
            + (select count(*) from invitations) + (select count(*) from tasks) as n`,
    );
    expect(Number(rows[0]!.n)).toBe(3 + 2 + 2);
  });

  it('still cascade: deleting a project removes its tasks, assignments, memberships, invitations and their emails', async () => {
    const c = await tenant('c');
    const other = await one("insert into projects (agency_id, name) values ($1, 'Kept')", [c.agency]);
    const keptTask = await one("insert into tasks (agency_id, project_id, title) values ($1, $2, 'Kept task')", [c.agency, other]);
    await pool.query('insert into task_assignees (task_id, client_id, agency_id) values ($1, $3, $4), ($2, $3, $4)', [c.task, keptTask, c.client, c.agency]);
    await pool.query('insert into memberships (project_id, client_id, agency_id) values ($1, $3, $4), ($2, $3, $4)', [c.project, other, c.client, c.agency]);
    await pool.query("insert into emails (agency_id, kind, to_address, invitation_id, client_id) values ($1, 'invitation', 'ada@c.test', $2, $3)", [
      c.agency,
      c.invitation,
      c.client,
    ]);
    const left = async () =>
      (
        await pool.query<Record<string, number>>(
          `select (select count(*)::int from tasks where agency_id = $1) as tasks,
                  (select count(*)::int from task_assignees where agency_id = $1) as assignees,
                  (select count(*)::int from memberships where agency_id = $1) as memberships,
                  (select count(*)::int from invitations where agency_id = $1) as invitations,
                  (select count(*)::int from emails where agency_id = $1) as emails`,
          [c.agency],
        )
      ).rows[0];
    expect(await left()).toEqual({ tasks: 2, assignees: 2, memberships: 2, invitations: 1, emails: 1 });
    await pool.query('delete from projects where id = $1', [c.project]);
    expect(await left()).toEqual({ tasks: 1, assignees: 1, memberships: 1, invitations: 0, emails: 0 });
    // And deleting the client removes what is left of it.
    await pool.query('delete from clients where id = $1', [c.client]);
    expect(await left()).toEqual({ tasks: 1, assignees: 0, memberships: 0, invitations: 0, emails: 0 });
  });
});

describe('lookups by a tenant key', () => {
  let db: { url: string; drop(): Promise<void> };
  let pool: ReturnType<typeof createPool>;
  let known: string;
  let unseen: string;

  beforeAll(async () => {
    db = await scratchDatabase();
    pool = createPool(db.url, 2);
    await migrate(pool);
    const agency = async (name: string) => (await pool.query<{ id: string }>('insert into agencies (name) values ($1) returning id', [name])).rows[0]!.id;
    known = await agency('Known');
    // The statistics see one big agency; the importing one is created after the ANALYZE.
    await pool.query(
      `insert into clients (agency_id, email, first_name, last_name) select $1, 'c' || g || '@known.test', 'A', 'B' from generate_series(1, 5000) g`,
      [known],
    );
    await pool.query(`insert into projects (agency_id, name, external_id) select $1, 'P' || g, 'x' || g from generate_series(1, 5000) g`, [known]);
    await pool.query('analyze clients, projects');
    unseen = await agency('New');
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const planOf = async (sql: string, params: unknown[]) =>
    (await pool.query<{ 'QUERY PLAN': string }>(`explain ${sql}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');

  // The import's lookups (core/src/sql/imports.ts) for an agency the statistics have not seen: each probe
  // must be one unique-index lookup, not a scan of the agency's rows with the key as a filter.
  it('use the unique (agency_id, key) index for an agency the statistics have never seen', async () => {
    const byEmail = await planOf(
      `select c.id from unnest($2::text[]) as u(em)
        cross join lateral (select id from clients where agency_id = $1 and email_normalized = u.em limit 1) c`,
      [unseen, ['a@new.test', 'b@new.test']],
    );
    // Either index on (agency_id, email_normalized) answers one probe (the unique key, or the byte-ordered
    // one of migration 0110 for prefix search): both columns must be index conditions.
    expect(byEmail).toMatch(/(clients_agency_id_email_normalized_key|clients_agency_email_prefix_idx)/);
    expect(byEmail).toMatch(/Index Cond: \(\(agency_id = .+\) AND \(email_normalized = u\.em\)\)/);
    expect(byEmail).not.toMatch(/Filter: \(email_normalized/);
    const byExternalId = await planOf(
      `select p.id from unnest($2::text[]) as u(x)
        cross join lateral (select id from projects where agency_id = $1 and external_id = u.x limit 1) p`,
      [unseen, ['x1', 'x2']],
    );
    expect(byExternalId).toMatch(/projects_agency_id_external_id_key/);
    const byName = await planOf(
      `select p.id from unnest($2::text[]) as u(n)
        cross join lateral (select id from projects where agency_id = $1 and name = u.n and external_id is null order by seq limit 1) p`,
      [unseen, ['P1', 'P2']],
    );
    expect(byName).toMatch(/projects_agency_name_idx/);
  });
});

describe('the embedded PostgreSQL', () => {
  it('runs with WAL buffers large enough for an import batch (64 MB, not the 4 MB default)', async () => {
    // The run's server was started by startEmbeddedPostgres (test/support/globalSetup.ts), as `onramp start` does.
    const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL! });
    await c.connect();
    try {
      const { rows } = await c.query<{ wal_buffers: string }>('show wal_buffers');
      expect(rows[0]!.wal_buffers).toBe('64MB');
    } finally {
      await c.end();
    }
  });
});
