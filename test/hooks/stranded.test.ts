import { createHmac, randomUUID } from 'node:crypto';
import pg from 'pg';
import { deliverWebhookJobId, deliverWebhooksJobId, jobCatalog } from '@onramp/core';
import { requeueStrandedDeliveries } from '@onramp/worker';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { settledJob } from '../support/jobs.js';
import { Receiver, until, type Received } from '../support/receiver.js';

/**
 * A delivery whose job is gone or failed (a deliver-webhooks batch that used up its attempts while the
 * database was down, a lost enqueue) is handed back to a deliver-webhook job by the sweep once its retry is
 * overdue: delivered once, signed, its attempts logged. A delivery that succeeded, or whose job is still
 * waiting, is left alone.
 */
let stack: TestStack;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  stack = await startStack({ smtp: false, env: { WEBHOOK_BACKOFF_MS: '200' } });
});
afterAll(async () => {
  await stack.close();
  await receiver.close();
});

const queue = () => stack.deps.jobs.queue(jobCatalog['deliver-webhook'].queue);

interface Hook {
  id: string;
  secret: string;
  path: string;
}

async function subscribe(agency: TestAgency, script: number[] = []): Promise<Hook> {
  const t = receiver.target(script);
  const res = await client(stack.url, agency.key).post('/v1/hooks', { target_url: t.url, event: 'project.created' });
  expect(res.status).toBe(201);
  return { id: res.body.id, secret: res.body.secret, path: t.path };
}

/** Hooks the dispatcher skips while the test sets up what it needs (status is all it reads). */
async function setHooks(agency: TestAgency, status: 'active' | 'disabled'): Promise<void> {
  await stack.deps.pool.query(`update hooks set status = $2, disabled_reason = case when $2 = 'disabled' then 'test setup' end where agency_id = $1`, [
    agency.agencyId,
    status,
  ]);
}

async function createProject(agency: TestAgency): Promise<string> {
  const res = await client(stack.url, agency.key).post('/v1/projects', { name: 'Stranded' });
  expect(res.status).toBe(201);
  return res.body.id;
}

interface Row {
  id: string;
  hook_id: string;
  batch_id: string | null;
  status: string;
  attempts: number;
}
const rowsOf = async (agencyId: string): Promise<Row[]> =>
  (await stack.deps.pool.query<Row>('select id, hook_id, batch_id, status, attempts from webhook_deliveries where agency_id = $1 order by id', [agencyId]))
    .rows;

/** Time passing: the rows' latest claim and creation an hour back, past any retry schedule. */
const age = (agencyId: string) =>
  stack.deps.pool.query(
    `update webhook_deliveries set created_at = created_at - interval '1 hour', attempted_at = attempted_at - interval '1 hour' where agency_id = $1`,
    [agencyId],
  );

/**
 * A pending delivery written as the dispatcher writes it, in a batch whose job no longer exists, as a failed
 * batch leaves it after `attempts` claims (no attempt row: no outcome was written).
 */
async function strandedDelivery(agency: TestAgency, attempts: number, script: number[] = []): Promise<{ hook: Hook; deliveryId: string }> {
  const hook = await subscribe(agency, script);
  await setHooks(agency, 'disabled');
  const projectId = await createProject(agency);
  const { rows } = await stack.deps.pool.query<{ id: string }>(
    `insert into webhook_deliveries (hook_id, agency_id, event_id, batch_id, attempts, attempted_at)
     select $1, $2, id, $3, $5, case when $5 > 0 then now() end from events where agency_id = $2 and type = 'project.created' and subject_id = $4
     returning id`,
    [hook.id, agency.agencyId, randomUUID(), projectId, attempts],
  );
  await setHooks(agency, 'active');
  await age(agency.agencyId);
  return { hook, deliveryId: rows[0]!.id };
}

function expectSigned(req: Received, hook: Hook, deliveryId: string): void {
  const sig = createHmac('sha256', hook.secret).update(`${req.headers['onramp-timestamp']}.${req.raw}`).digest('hex');
  expect(req.headers['onramp-signature']).toBe(`v1=${sig}`);
  expect(req.headers['onramp-delivery-id']).toBe(deliveryId);
}

async function deliveryLog(agency: TestAgency, hookId: string) {
  const res = await client(stack.url, agency.key).get(`/v1/hooks/${hookId}/deliveries`);
  expect(res.status).toBe(200);
  return res.body.data[0] as { id: string; status: string; attempts: Array<{ attempt: number; status_code: number | null; error: string | null }> };
}

const succeeded = (agencyId: string, n: number) =>
  until(`${n} deliveries to succeed`, async () => {
    const rows = await rowsOf(agencyId);
    return rows.length === n && rows.every((r) => r.status === 'succeeded') ? rows : null;
  });

describe('stranded webhook deliveries', () => {
  it('a batch that used up its attempts while the database failed: the sweep delivers each of its deliveries once, signed, every attempt logged', async () => {
    const agency = await createTestAgency(stack);
    const hooks = [await subscribe(agency), await subscribe(agency)];
    await setHooks(agency, 'disabled');
    const projectId = await createProject(agency);

    // The outage: every run of the batch claims its deliveries, then its next query (the payload build
    // reads `projects`) waits on a lock and its connection is terminated, as when PostgreSQL goes away.
    const blocker = new pg.Client({ connectionString: stack.config.databaseUrl! });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table projects in access exclusive mode');
      await setHooks(agency, 'active');
      const batchId = await until('the dispatcher to write the deliveries', async () => {
        const rows = await rowsOf(agency.agencyId);
        return rows.length === 2 ? rows[0]!.batch_id : null;
      });
      const batchJobId = deliverWebhooksJobId(batchId!);
      const failed = await until(
        'the batch job to use up its attempts',
        async () => {
          // From outside the blocker's transaction, which would keep reading the same snapshot of pg_stat_activity.
          await stack.deps.pool.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
          );
          const job = await queue().getJob(batchJobId);
          // Read again once failed: the first read may predate the last attempt (see settledJob).
          return job && (await job.getState()) === 'failed' ? queue().getJob(batchJobId) : null;
        },
        90_000,
      );
      expect(failed!.attemptsMade).toBe(jobCatalog['deliver-webhooks'].attempts);
    } finally {
      await blocker.query('rollback').catch(() => undefined);
      await blocker.end();
    }

    // Stranded: pending, attempts claimed, nothing sent, no job of their own.
    const stranded = await rowsOf(agency.agencyId);
    expect(stranded.map((r) => [r.status, r.attempts])).toEqual([
      ['pending', jobCatalog['deliver-webhooks'].attempts],
      ['pending', jobCatalog['deliver-webhooks'].attempts],
    ]);
    for (const h of hooks) expect(receiver.at(h.path)).toHaveLength(0);

    // Not yet overdue by its retry schedule: the sweep leaves them.
    await requeueStrandedDeliveries(stack.deps);
    for (const r of stranded) expect(await queue().getJob(deliverWebhookJobId(r.id))).toBeUndefined();

    await age(agency.agencyId);
    const result = await requeueStrandedDeliveries(stack.deps);
    expect(result.deliveriesRequeued).toBeGreaterThanOrEqual(2);
    await succeeded(agency.agencyId, 2);

    for (const h of hooks) {
      const got = receiver.at(h.path);
      expect(got).toHaveLength(1);
      const row = stranded.find((r) => r.hook_id === h.id)!;
      expectSigned(got[0]!, h, row.id);
      expect(got[0]!.body.id).toBe(projectId);
      const log = await deliveryLog(agency, h.id);
      expect(log.status).toBe('succeeded');
      // The five claims of the failed batch, each without an outcome, then the sweep's attempt.
      expect(log.attempts.map((a) => [a.attempt, a.status_code])).toEqual([
        [1, null],
        [2, null],
        [3, null],
        [4, null],
        [5, null],
        [6, 200],
      ]);
      expect(log.attempts[0]!.error).toMatch(/no outcome recorded/);
      expect(log.attempts[5]!.error).toBeNull();
    }

    // Delivered: another sweep, however late, sends nothing and adds no job.
    const jobs = await Promise.all(stranded.map(async (r) => (await queue().getJob(deliverWebhookJobId(r.id)))!.timestamp));
    await age(agency.agencyId);
    await requeueStrandedDeliveries(stack.deps);
    expect(await Promise.all(stranded.map(async (r) => (await queue().getJob(deliverWebhookJobId(r.id)))!.timestamp))).toEqual(jobs);
    for (const h of hooks) expect(receiver.at(h.path)).toHaveLength(1);
  }, 150_000);

  it('never sends again a delivery that succeeded, even with its batch job gone', async () => {
    const agency = await createTestAgency(stack);
    const hook = await subscribe(agency);
    await createProject(agency);
    const [row] = await succeeded(agency.agencyId, 1);
    await (await queue().getJob(deliverWebhooksJobId(row!.batch_id!)))!.remove();
    await age(agency.agencyId);

    await requeueStrandedDeliveries(stack.deps);
    expect(await queue().getJob(deliverWebhookJobId(row!.id))).toBeUndefined();
    expect(receiver.at(hook.path)).toHaveLength(1);
    expect((await deliveryLog(agency, hook.id)).attempts.map((a) => [a.attempt, a.status_code])).toEqual([[1, 200]]);
  });

  it('re-adds a delivery whose own job BullMQ still keeps finished, and keeps its retry rule (a 500, then 200)', async () => {
    const agency = await createTestAgency(stack);
    const { hook, deliveryId } = await strandedDelivery(agency, 2, [500]);
    // A finished job under the delivery's own id (its failure, kept for a week): a plain add would be ignored.
    await stack.deps.pool.query(`update webhook_deliveries set status = 'failed' where id = $1`, [deliveryId]);
    await stack.deps.jobs.enqueue('deliver-webhook', { deliveryId }, { jobId: deliverWebhookJobId(deliveryId) });
    expect((await settledJob(queue(), deliverWebhookJobId(deliveryId))).state).toBe('completed');
    await stack.deps.pool.query(`update webhook_deliveries set status = 'pending' where id = $1`, [deliveryId]);

    const result = await requeueStrandedDeliveries(stack.deps);
    expect(result.deliveriesRequeued).toBeGreaterThanOrEqual(1);
    await succeeded(agency.agencyId, 1);
    const got = receiver.at(hook.path);
    expect(got).toHaveLength(2);
    for (const req of got) expectSigned(req, hook, deliveryId);
    expect((await deliveryLog(agency, hook.id)).attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, null],
      [2, null],
      [3, 500],
      [4, 200],
    ]);
  });

  it('leaves alone a delivery whose job is still waiting, and one of a disabled hook', async () => {
    const agency = await createTestAgency(stack);
    const { hook, deliveryId } = await strandedDelivery(agency, 1);
    await stack.deps.jobs.enqueue('deliver-webhook', { deliveryId }, { jobId: deliverWebhookJobId(deliveryId), delayMs: 60_000 });
    const job = (await queue().getJob(deliverWebhookJobId(deliveryId)))!;

    await requeueStrandedDeliveries(stack.deps);
    const after = (await queue().getJob(deliverWebhookJobId(deliveryId)))!;
    expect([await after.getState(), after.timestamp]).toEqual(['delayed', job.timestamp]);
    await after.remove();

    await setHooks(agency, 'disabled');
    await requeueStrandedDeliveries(stack.deps);
    expect(await queue().getJob(deliverWebhookJobId(deliveryId))).toBeUndefined();
    expect(receiver.at(hook.path)).toHaveLength(0);
    expect((await rowsOf(agency.agencyId))[0]).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('fails, without sending, a delivery stranded after twice the attempts a delivery gets', async () => {
    const agency = await createTestAgency(stack);
    const max = jobCatalog['deliver-webhook'].attempts * 2;
    const { hook, deliveryId } = await strandedDelivery(agency, max);
    const result = await requeueStrandedDeliveries(stack.deps);
    expect(result.deliveriesGivenUp).toBeGreaterThanOrEqual(1);
    const log = await deliveryLog(agency, hook.id);
    expect(log).toMatchObject({ id: deliveryId, status: 'failed' });
    expect(log.attempts).toHaveLength(max);
    expect(await queue().getJob(deliverWebhookJobId(deliveryId))).toBeUndefined();
    expect(receiver.at(hook.path)).toHaveLength(0);
  });
});
