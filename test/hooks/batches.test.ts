import { randomUUID } from 'node:crypto';
import { enqueueDeliveries, jobCatalog } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { settledJob } from '../support/jobs.js';
import { Receiver, until } from '../support/receiver.js';

/**
 * Deliveries go out in batches (deliver-webhooks jobs of up to 50 first attempts); a delivery that needs
 * another attempt continues alone. Every delivery is sent once per attempt, logged, and settled.
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

async function subscribe(agency: TestAgency, url: string): Promise<string> {
  const res = await client(stack.url, agency.key).post('/v1/hooks', { target_url: url, event: 'project.created' });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function createProjects(agency: TestAgency, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await client(stack.url, agency.key).post('/v1/projects', { name: `Batch ${i}` });
    expect(res.status).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

const rowsOf = async (agencyId: string) =>
  (
    await stack.deps.pool.query<{ id: string; batch_id: string | null; status: string; attempts: number; hook_id: string }>(
      'select id, batch_id, status, attempts, hook_id from webhook_deliveries where agency_id = $1',
      [agencyId],
    )
  ).rows;

describe('batched webhook deliveries', () => {
  it('sends each of many deliveries exactly once, in batches of at most 50, each logged with its attempt', async () => {
    const agency = await createTestAgency(stack);
    const targets = [receiver.target(), receiver.target(), receiver.target()];
    for (const t of targets) await subscribe(agency, t.url);
    const projects = await createProjects(agency, 25);
    const expected = projects.length * targets.length;

    await until('every delivery settled', async () => (await rowsOf(agency.agencyId)).filter((r) => r.status === 'succeeded').length === expected, 90_000);
    const rows = await rowsOf(agency.agencyId);
    expect(rows).toHaveLength(expected);
    expect(rows.every((r) => r.attempts === 1 && r.batch_id !== null)).toBe(true);
    const perBatch = new Map<string, number>();
    for (const r of rows) perBatch.set(r.batch_id!, (perBatch.get(r.batch_id!) ?? 0) + 1);
    expect(Math.max(...perBatch.values())).toBeLessThanOrEqual(50);

    // Every (target, project) exactly once, each with a delivery id of its own.
    for (const t of targets) {
      const got = receiver.at(t.path);
      expect(got.map((r) => r.body.id).sort()).toEqual([...projects].sort());
      expect(new Set(got.map((r) => r.headers['onramp-delivery-id'])).size).toBe(projects.length);
    }
    const { rows: attempts } = await stack.deps.pool.query<{ n: number }>(
      `select count(*)::int as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id
        where d.agency_id = $1 and a.attempt = 1 and a.status_code = 200 and a.error is null`,
      [agency.agencyId],
    );
    expect(attempts[0]!.n).toBe(expected);

    // The same batch jobs added again: BullMQ keeps them by id, so nothing is sent twice.
    const before = targets.map((t) => receiver.at(t.path).length);
    await enqueueDeliveries(
      stack.deps,
      rows.map((r) => ({ id: r.id, batch_id: r.batch_id })),
    );
    // And a batch run again by hand claims nothing: every delivery is settled.
    const jobId = `again-${randomUUID()}`;
    await stack.deps.jobs.enqueue('deliver-webhooks', { batchId: randomUUID(), deliveryIds: rows.slice(0, 50).map((r) => r.id) }, { jobId });
    const job = await settledJob(stack.deps.jobs.queue(jobCatalog['deliver-webhooks'].queue), jobId);
    expect(job.state).toBe('completed');
    expect(targets.map((t) => receiver.at(t.path).length)).toEqual(before);
  });

  it('a delivery of a batch that fails with a 500 continues alone and succeeds on a later attempt; the rest of its batch is not resent', async () => {
    const agency = await createTestAgency(stack);
    const flaky = receiver.target([500, 500]);
    const steady = receiver.target();
    const flakyHook = await subscribe(agency, flaky.url);
    await subscribe(agency, steady.url);
    const [project] = await createProjects(agency, 1);

    const log = await until('the flaky delivery to succeed', async () => {
      const res = await client(stack.url, agency.key).get(`/v1/hooks/${flakyHook}/deliveries`);
      return res.body.data[0]?.status === 'succeeded' ? res.body.data[0] : null;
    });
    expect(log.attempts.map((a: { attempt: number; status_code: number }) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(receiver.at(flaky.path).map((r) => r.body.id)).toEqual([project, project, project]);
    expect(new Set(receiver.at(flaky.path).map((r) => r.headers['onramp-delivery-id'])).size).toBe(1);
    expect(receiver.at(steady.path)).toHaveLength(1);
  });

  it('leaves the deliveries of a disabled hook pending and unsent', async () => {
    const agency = await createTestAgency(stack);
    const t = receiver.target();
    const hookId = await subscribe(agency, t.url);
    await stack.deps.pool.query(`update hooks set status = 'disabled', disabled_reason = 'test' where id = $1`, [hookId]);
    const [projectId] = await createProjects(agency, 1);
    // Written while disabled: the dispatcher only writes deliveries for active hooks, so write one as a
    // batch would have been written just before the hook was disabled.
    const { rows } = await stack.deps.pool.query<{ id: string }>(
      `insert into webhook_deliveries (hook_id, agency_id, event_id, batch_id)
       select $1, $2, id, $3 from events where agency_id = $2 and type = 'project.created' and subject_id = $4 returning id`,
      [hookId, agency.agencyId, randomUUID(), projectId],
    );
    const jobId = `disabled-${randomUUID()}`;
    await stack.deps.jobs.enqueue('deliver-webhooks', { batchId: randomUUID(), deliveryIds: [rows[0]!.id] }, { jobId });
    expect((await settledJob(stack.deps.jobs.queue('webhooks'), jobId)).state).toBe('completed');
    const row = (await rowsOf(agency.agencyId))[0]!;
    expect(row).toMatchObject({ status: 'pending', attempts: 0 });
    expect(receiver.at(t.path)).toHaveLength(0);
  });
});
