import { createPool } from '@onramp/core';
import { normaliseError, statusByCode } from '../../connector-api/src/http/problem.js';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { until } from '../support/receiver.js';

/**
 * A database failure that says nothing about the request (the server ends the connection, a deadlock, a
 * serialisation conflict) answers 503 with Retry-After, so Zapier and CRM scripts retry, and a retry works.
 * The errors here are real PostgreSQL errors, raised by a real server.
 */

let stack: TestStack;
let agency: TestAgency;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  agency = await createTestAgency(stack, 'Transient');
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const rejectionOf = async (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => {
      throw new Error('expected the statement to fail');
    },
    (err: unknown) => err,
  );

describe('transient database failures', () => {
  it('a request whose connection the server ends answers 503 problem+json with Retry-After, and the retry succeeds', async () => {
    const api = client(stack.url, agency.key);
    const hook = await api.post('/v1/hooks', { target_url: 'http://127.0.0.1:9/hook', event: 'invitation.accepted' });
    expect(hook.status).toBe(201);

    // Hold the hook's row so the API's DELETE waits on it, then end that waiting backend as an
    // administrator (or a server restart) would.
    const holder = await stack.deps.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from hooks where id = $1 for update', [hook.body.id]);
      const pending = api.delete(`/v1/hooks/${hook.body.id}`);
      const pid = await until('the DELETE to wait on the lock', async () => {
        // Not on `holder`: inside a transaction pg_stat_activity is a snapshot taken at its first read.
        const { rows } = await stack.deps.pool.query<{ pid: number }>(
          `select pid from pg_stat_activity where wait_event_type = 'Lock' and query like 'delete from hooks%' and datname = current_database()`,
        );
        return rows[0]?.pid ?? null;
      });
      await holder.query('select pg_terminate_backend($1)', [pid]);
      const res = await pending;
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body).toMatchObject({ code: 'unavailable', status: 503 });
      // Nothing of the server's error text reaches the caller.
      expect(res.text).not.toMatch(/terminat|administrator/i);
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    // The hook is still there, and the retry deletes it.
    expect((await api.get('/v1/hooks')).body.data.map((h: { id: string }) => h.id)).toContain(hook.body.id);
    expect((await api.delete(`/v1/hooks/${hook.body.id}`)).status).toBe(204);
    expect((await api.get('/v1/hooks')).body.data.map((h: { id: string }) => h.id)).not.toContain(hook.body.id);
  });

  it('a real deadlock and a real serialisation failure are 503; a constraint violation or a bad statement stays 500', async () => {
    const a = createPool(stack.config.databaseUrl!, 1);
    const b = createPool(stack.config.databaseUrl!, 1);
    const ca = await a.connect();
    const cb = await b.connect();
    try {
      // Two rows in a shared table, locked in opposite orders by two transactions.
      await ca.query(`create table if not exists transient_probe (id int primary key)`);
      await ca.query(`insert into transient_probe values (1), (2) on conflict do nothing`);
      await ca.query('begin');
      await cb.query('begin');
      await ca.query('update transient_probe set id = id where id = 1');
      await cb.query('update transient_probe set id = id where id = 2');
      // One of the two is chosen as the deadlock victim; the other then goes through.
      const outcomes = await Promise.allSettled([
        ca.query('update transient_probe set id = id where id = 2'),
        cb.query('update transient_probe set id = id where id = 1'),
      ]);
      const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(failed).toHaveLength(1);
      const deadlock = failed[0]!.reason as { code?: string };
      expect(deadlock.code).toBe('40P01');
      const mapped = normaliseError(deadlock);
      expect(mapped.code).toBe('unavailable');
      expect(statusByCode[mapped.code]).toBe(503);
      expect(mapped.retryAfter).toBe(5);
      await ca.query('rollback');
      await cb.query('rollback');

      await ca.query('begin isolation level serializable');
      await ca.query('select * from transient_probe');
      await cb.query('update transient_probe set id = id where id = 1');
      const serial = (await rejectionOf(ca.query('update transient_probe set id = id where id = 1'))) as { code?: string };
      expect(serial.code).toBe('40001');
      expect(normaliseError(serial).code).toBe('unavailable');
      await ca.query('rollback');

      const unique = (await rejectionOf(ca.query('insert into transient_probe values (1)'))) as { code?: string };
      expect(unique.code).toBe('23505');
      expect(normaliseError(unique).code).toBe('internal');
      const syntax = (await rejectionOf(ca.query('selec 1'))) as { code?: string };
      expect(syntax.code).toBe('42601');
      expect(normaliseError(syntax).code).toBe('internal');
    } finally {
      await ca.query('drop table if exists transient_probe');
      ca.release();
      cb.release();
      await a.end();
      await b.end();
    }
  });
});
