import pg from 'pg';
import { applyImportBatch, mapHeader } from '@onramp/core';
// The set-based reference checks are SQL-level behaviour (no use case exposes them alone): a test-only path.
import * as importsSql from '../../core/src/sql/imports.js';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { unique } from '../support/unique.js';
import { HEADER, agencySnapshot, csv, importAndWait } from './helpers.js';

/**
 * An import batch checks its foreign keys by set (each parent once, locked FOR KEY SHARE) instead of by a
 * trigger per row written, when its database role may. These tests hold it to what the triggers give.
 */
let bySet: TestStack;
let byTrigger: TestStack;

beforeAll(async () => {
  [bySet, byTrigger] = await Promise.all([
    startStack({ smtp: false, env: { IMPORT_BATCH_SIZE: '10' } }),
    startStack({ smtp: false, env: { IMPORT_BATCH_SIZE: '10', IMPORT_SET_BASED_FK_CHECKS: 'false' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([bySet?.close(), byTrigger?.close()]);
});

/** Existing state the file runs into: a project with a pending invitation, and a deactivated client. */
async function seed(stack: TestStack, agency: TestAgency): Promise<void> {
  const api = client(stack.url, agency.key);
  const existing = await api.post('/v1/projects', {
    name: 'Existing',
    external_id: 'ext-old',
    template_name: 'Client onboarding',
    clients: [{ email: 'old@refs.test', first_name: 'Old', last_name: 'Client' }],
  });
  expect(existing.status).toBe(201);
  const other = await api.post('/v1/projects', { name: 'Other', clients: [{ email: 'gone@refs.test', first_name: 'Gone', last_name: 'Client' }] });
  expect(other.status).toBe(201);
  const off = await api.post(`/v1/clients/${other.body.clients[0].client_id}/deactivate`, {});
  expect(off.status).toBe(200);
}

const fileFor = (agency: TestAgency) =>
  csv(
    HEADER,
    'New one,ext-1,Client onboarding,Ada,Lovelace,ada@refs.test,Welcome call;Share brand assets,Hi',
    'New one,ext-1,,Bob,Builder,bob@refs.test,Welcome call,',
    'New one,ext-1,,Ada,Again,ADA@refs.test,,',
    'Existing,ext-old,,Old,Client,old@refs.test,Grant account access,',
    'Existing,ext-old,,Newer,Client,newer@refs.test,Welcome call,',
    'Named only,,,Cy,Named,cy@refs.test,,',
    `New one,ext-1,,Owner,Self,${agency.email},,`,
    'New one,ext-1,,Gone,Client,gone@refs.test,,',
    'New one,ext-1,,Ann,Unknown,ann@refs.test,No such task,',
  );

/** An import row to hang a batch on (the tests below call the batch's pieces directly, not the runner). */
async function newImportId(agency: TestAgency): Promise<string> {
  const { rows } = await bySet.deps.pool.query<{ id: string }>(
    `insert into imports (agency_id, created_by, filename, dry_run, send_emails) values ($1, $2, 'x.csv', false, true) returning id`,
    [agency.agencyId, agency.userId],
  );
  return rows[0]!.id;
}

/** A batch's transaction left open, and another connection that gives up on a row lock after 300 ms. */
async function withOpenBatch(fn: (batch: pg.PoolClient, other: pg.PoolClient) => Promise<void>): Promise<void> {
  const batch = await bySet.deps.pool.connect();
  const other = await bySet.deps.pool.connect();
  try {
    await batch.query('begin');
    await other.query(`set lock_timeout = '300ms'`);
    await fn(batch, other);
  } finally {
    await batch.query('rollback').catch(() => undefined);
    await other.query('reset lock_timeout');
    batch.release();
    other.release();
  }
}

describe('set-based foreign-key checks', () => {
  it('write exactly what the per-row triggers write, on a first upload and on the same file again', async () => {
    const [x, y] = await Promise.all([createTestAgency(bySet, 'By set'), createTestAgency(byTrigger, 'By trigger')]);
    await seed(bySet, x);
    await seed(byTrigger, y);
    const first = await Promise.all([importAndWait(bySet.url, x.key, fileFor(x)), importAndWait(byTrigger.url, y.key, fileFor(y))]);
    expect(first[0].status).toBe('completed');
    expect(first[0].counts).toEqual(first[1].counts);
    expect(first[0].counts).toMatchObject({
      rows: 9,
      projects_created: 2,
      projects_reused: 1,
      clients_invited: 4,
      already_invited: 1,
      duplicates: 1,
      errors: 3,
    });
    const again = await Promise.all([importAndWait(bySet.url, x.key, fileFor(x)), importAndWait(byTrigger.url, y.key, fileFor(y))]);
    expect(again[0].counts).toEqual(again[1].counts);
    expect(again[0].counts).toMatchObject({ projects_created: 0, clients_invited: 0, assignments: 0, errors: 3 });
    expect(await agencySnapshot(bySet.deps.pool, x.agencyId)).toEqual(await agencySnapshot(byTrigger.deps.pool, y.agencyId));
    // And the set-based stack really ran without the triggers: the test database's role may.
    const probe = await bySet.deps.pool.connect();
    try {
      expect(await importsSql.canCheckReferencesBySet(probe)).toBe(true);
    } finally {
      probe.release();
    }
  });

  it('refuse a parent of another agency, as the composite foreign keys do', async () => {
    const [x, y] = [await createTestAgency(bySet, 'Mine'), await createTestAgency(bySet, 'Theirs')];
    const mine = await client(bySet.url, x.key).post('/v1/projects', { name: 'Mine' });
    const theirs = await client(bySet.url, y.key).post('/v1/projects', { name: 'Theirs' });
    const refs = { agencyId: x.agencyId, importId: await newImportId(x), firmUserIds: [x.userId], templateIds: [], taskIds: [], clientIds: [] };
    expect(await importsSql.lockReferencedRows(bySet.deps.pool, { ...refs, projectIds: [mine.body.id] })).toEqual([]);
    expect(await importsSql.lockReferencedRows(bySet.deps.pool, { ...refs, projectIds: [mine.body.id, theirs.body.id] })).toEqual(['projects']);
    expect(await importsSql.lockReferencedRows(bySet.deps.pool, { ...refs, projectIds: [], firmUserIds: [y.userId] })).toEqual(['firm_users']);
  });

  it('make a concurrent delete of a parent wait for the batch, so the cascade reaches what the batch wrote', async () => {
    const x = await createTestAgency(bySet, 'Locks');
    const project = await client(bySet.url, x.key).post('/v1/projects', { name: 'Held' });
    const importId = await newImportId(x);
    await withOpenBatch(async (batch, other) => {
      await importsSql.checkReferencesBySet(batch);
      const missing = await importsSql.lockReferencedRows(batch, {
        agencyId: x.agencyId,
        importId,
        firmUserIds: [],
        templateIds: [],
        projectIds: [project.body.id],
        taskIds: [],
        clientIds: [],
      });
      expect(missing).toEqual([]);
      await expect(other.query('delete from projects where id = $1', [project.body.id])).rejects.toMatchObject({ code: '55P03' });
      await batch.query('commit');
      const gone = await other.query('delete from projects where id = $1', [project.body.id]);
      expect(gone.rowCount).toBe(1);
    });
  });

  it('lock, inside a batch, every parent that existed before it, until it commits', async () => {
    const x = await createTestAgency(bySet, 'In batch');
    await seed(bySet, x);
    const idOf = async (sql: string) => (await bySet.deps.pool.query<{ id: string }>(sql, [x.agencyId])).rows[0]!.id;
    const projectId = await idOf("select id from projects where agency_id = $1 and external_id = 'ext-old'");
    const clientId = await idOf("select id from clients where agency_id = $1 and email_normalized = 'old@refs.test'");
    const importId = await newImportId(x);
    await withOpenBatch(async (batch, other) => {
      const result = await applyImportBatch(
        batch,
        {
          appSecret: bySet.deps.appSecret,
          importId,
          agencyId: x.agencyId,
          actorId: x.userId,
          sendEmails: false,
          defaultTemplate: null,
          expiryDays: 7,
          header: mapHeader(HEADER.split(',')).map,
          templates: new Map(),
          checkReferencesBySet: true,
        },
        [
          { rowNumber: 2, values: 'Existing,ext-old,,Old,Client,old@refs.test,Grant account access,'.split(',') },
          { rowNumber: 3, values: 'Brand new,ext-new,Client onboarding,Nia,New,nia@refs.test,Welcome call,'.split(',') },
        ],
      );
      expect(result.counts).toMatchObject({ already_invited: 1, clients_invited: 1, projects_created: 1, assignments: 2 });
      // The reused project, its task and the existing client are held; what the batch itself created is not
      // visible to anyone else yet.
      await expect(other.query('delete from projects where id = $1', [projectId])).rejects.toMatchObject({ code: '55P03' });
      await expect(other.query('delete from clients where id = $1', [clientId])).rejects.toMatchObject({ code: '55P03' });
      await expect(other.query("delete from tasks where project_id = $1 and title = 'Grant account access'", [projectId])).rejects.toMatchObject({
        code: '55P03',
      });
      expect((await other.query("select 1 from projects where external_id = 'ext-new' and agency_id = $1", [x.agencyId])).rowCount).toBe(0);
    });
  });

  it('are only used by a role that may set session_replication_role; any other keeps the triggers', async () => {
    const role = unique('limited_');
    await bySet.deps.pool.query(`create role ${role} login password 'limited'`);
    const url = new URL(bySet.config.databaseUrl!);
    url.username = role;
    url.password = 'limited';
    const limited = new pg.Client({ connectionString: url.toString() });
    try {
      await limited.connect();
      expect(await importsSql.canCheckReferencesBySet(limited)).toBe(false);
      // The probe leaves the connection usable.
      expect((await limited.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await limited.end();
      await bySet.deps.pool.query(`drop role ${role}`);
    }
  });
});
