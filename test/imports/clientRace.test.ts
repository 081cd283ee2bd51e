// The clients a batch inserts are SQL-level behaviour (no use case exposes the race alone): a test-only path.
import * as importsSql from '../../core/src/sql/imports.js';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { unique } from '../support/unique.js';

/**
 * A batch inserts its new clients with a plain insert; when another transaction (another lane, the API)
 * inserts one of the same addresses first, the batch must wait for it and use that client, not fail and
 * not make a second one.
 */
let stack: TestStack;
let agency: TestAgency;
beforeAll(async () => {
  stack = await startStack({ smtp: false });
  agency = await createTestAgency(stack);
});
afterAll(async () => {
  await stack?.close();
});

const names = (emails: string[]) => ({ emails, firstNames: emails.map(() => 'F'), lastNames: emails.map(() => 'L') });

describe('upsertClients', () => {
  it('inserts new addresses and reports each as inserted', async () => {
    const tag = unique('');
    const emails = [`b-${tag}@x.test`, ` A-${tag}@X.test `];
    // Always called inside a batch's transaction (it uses a savepoint).
    const tx = await stack.deps.pool.connect();
    let out: Awaited<ReturnType<typeof importsSql.upsertClients>>;
    try {
      await tx.query('begin');
      out = await importsSql.upsertClients(tx, agency.agencyId, names(emails));
      await tx.query('commit');
    } finally {
      tx.release();
    }
    expect([...out.ids.keys()].sort()).toEqual([`a-${tag}@x.test`, `b-${tag}@x.test`]);
    expect(out.inserted.size).toBe(2);
    const { rows } = await stack.deps.pool.query('select id from clients where agency_id = $1 and email_normalized like $2', [
      agency.agencyId,
      `%-${tag}@x.test`,
    ]);
    expect(rows.map((r) => r.id).sort()).toEqual([...out.ids.values()].sort());
  });

  it('waits for a concurrent insert of the same address and returns that client, inserting the rest', async () => {
    const tag = unique('');
    const other = await stack.deps.pool.connect();
    const batch = await stack.deps.pool.connect();
    try {
      await other.query('begin');
      const { rows: theirs } = await other.query<{ id: string }>(
        `insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, 'Them', 'Them', 'inactive') returning id`,
        [agency.agencyId, `shared-${tag}@x.test`],
      );
      const otherPid = (await other.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const batchPid = (await batch.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      await batch.query('begin');
      const pending = importsSql.upsertClients(batch, agency.agencyId, names([`mine-${tag}@x.test`, `shared-${tag}@x.test`]));
      // Synchronise on the batch's insert being blocked by the other transaction's row (not a timing).
      const blockedBy = async () => (await stack.deps.pool.query<{ b: number[] }>('select pg_blocking_pids($1) as b', [batchPid])).rows[0]!.b;
      let blockers = await blockedBy();
      while (!blockers.includes(otherPid)) {
        await new Promise((r) => setImmediate(r));
        blockers = await blockedBy();
      }
      expect(blockers).toEqual([otherPid]);
      await other.query('commit');
      const out = await pending;
      await batch.query('commit');
      expect(out.ids.get(`shared-${tag}@x.test`)).toBe(theirs[0]!.id);
      expect(out.inserted.has(theirs[0]!.id)).toBe(false);
      const mine = out.ids.get(`mine-${tag}@x.test`)!;
      expect(out.inserted.has(mine)).toBe(true);
      const { rows } = await stack.deps.pool.query<{ email_normalized: string; status: string }>(
        'select email_normalized, status from clients where agency_id = $1 and email_normalized like $2 order by 1',
        [agency.agencyId, `%-${tag}@x.test`],
      );
      expect(rows).toEqual([
        { email_normalized: `mine-${tag}@x.test`, status: 'invited' },
        { email_normalized: `shared-${tag}@x.test`, status: 'inactive' },
      ]);
    } finally {
      await other.query('rollback').catch(() => undefined);
      await batch.query('rollback').catch(() => undefined);
      other.release();
      batch.release();
    }
  });

  it('lets any other error through, leaving the transaction to its caller', async () => {
    const batch = await stack.deps.pool.connect();
    try {
      await batch.query('begin');
      await expect(
        importsSql.upsertClients(batch, agency.agencyId, { emails: ['x@x.test'], firstNames: ['F'], lastNames: [null as unknown as string] }),
      ).rejects.toMatchObject({
        code: '23502',
      });
    } finally {
      await batch.query('rollback');
      batch.release();
    }
  });
});
