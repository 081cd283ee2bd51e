import { randomUUID } from 'node:crypto';
import { relayBacklogLimit, relayQueuedEmails, sendEmailJobId } from '@onramp/core';
import { requeueStuckEmails } from '@onramp/worker';
import { createTestAgency, startStack, type TestStack } from '../support/stack.js';
import { createProjectViaApi } from '../support/fixtures.js';
import { client } from '../support/http.js';
import { ageEmail } from '../support/state.js';

/** The outbox relay's steps, run by hand (no worker runs here): what one step takes and what it leaves. */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
});
afterAll(async () => {
  await stack.close();
});
beforeEach(async () => {
  await stack.deps.pool.query('delete from email_relay');
  await stack.deps.jobs.queue('email').obliterate({ force: true });
});

const relayRows = async () =>
  (await stack.deps.pool.query<{ email_id: string }>('select email_id from email_relay order by email_id')).rows.map((r) => r.email_id);

describe('a relay step (relayQueuedEmails)', () => {
  it('hands over at most its limit, oldest first, skipping rows another transaction holds, and deletes what it handed', async () => {
    const emailIds = Array.from({ length: 12 }, () => randomUUID()).sort();
    await stack.deps.pool.query('insert into email_relay (email_id) select unnest($1::uuid[])', [emailIds]);
    const holder = await stack.deps.pool.connect();
    try {
      // Another relay (another worker process) is in the middle of handing over the oldest two.
      await holder.query('begin');
      await holder.query('select email_id from email_relay where email_id = any($1::uuid[]) for update', [emailIds.slice(0, 2)]);

      expect(await relayQueuedEmails(stack.deps, 5)).toBe(5);
      expect(await relayRows()).toEqual([...emailIds.slice(0, 2), ...emailIds.slice(7)]);
      const queue = stack.deps.jobs.queue('email');
      for (const id of emailIds.slice(2, 7)) expect(await queue.getJob(sendEmailJobId(id))).toBeDefined();
      expect(await queue.getJob(sendEmailJobId(emailIds[0]!))).toBeUndefined();
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    // The held rows are free again: the next steps take them and the rest, then find nothing.
    expect(await relayQueuedEmails(stack.deps, 100)).toBe(7);
    expect(await relayQueuedEmails(stack.deps, 100)).toBe(0);
  });

  it('holds emails back while the email queue has its backlog, the outbox sweep leaves them to it, and it goes on as the queue drains', async () => {
    const agency = await createTestAgency(stack);
    const projectId = await createProjectViaApi(stack.url, agency.key);
    const api = client(stack.url, agency.key);
    for (const n of [1, 2, 3]) {
      const res = await api.post(`/v1/projects/${projectId}/invitations`, { email: `held${n}@relay.test`, first_name: 'H', last_name: `${n}` });
      expect(res.status).toBe(201);
    }
    const held = await relayRows();
    expect(held).toHaveLength(3);

    // The queue already holds as many send-email jobs as the relay lets wait (ten seconds of sending).
    const limit = relayBacklogLimit(stack.config);
    expect(limit).toBe(Math.max(2000, stack.config.limits.emailRatePerSecond * 10));
    await stack.deps.jobs.enqueueMany(
      'send-email',
      Array.from({ length: limit }, (_, i) => ({ payload: { emailId: randomUUID() }, jobId: `filler-${i}` })),
    );
    expect(await relayQueuedEmails(stack.deps)).toBe(0);
    expect(await relayRows()).toEqual(held);

    // Queued for minutes, but held by the relay: not lost, so the sweep adds no job for them.
    for (const id of held) await ageEmail(stack.deps.pool, id, '5 minutes');
    expect(await requeueStuckEmails(stack.deps)).toMatchObject({ emailsRequeued: 0 });
    const queue = stack.deps.jobs.queue('email');
    for (const id of held) expect(await queue.getJob(sendEmailJobId(id))).toBeUndefined();

    // Two jobs leave the queue: two emails go, oldest first; then the rest once it has drained.
    for (const i of [0, 1]) await (await queue.getJob(`filler-${i}`))!.remove();
    expect(await relayQueuedEmails(stack.deps)).toBe(2);
    expect(await relayRows()).toEqual(held.slice(2));
    for (const id of held.slice(0, 2)) expect(await queue.getJob(sendEmailJobId(id))).toBeDefined();
    await queue.drain();
    expect(await relayQueuedEmails(stack.deps)).toBe(1);
    expect(await relayRows()).toEqual([]);
    expect(await queue.getJob(sendEmailJobId(held[2]!))).toBeDefined();
  });
});
