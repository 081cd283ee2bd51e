import { randomUUID } from 'node:crypto';
import { enqueueEmailBatches, JobBus, queueEmailsJobId, sendEmailJobId } from '@onramp/core';
import { startStack, type TestStack } from '../support/stack.js';
import { unique } from '../support/unique.js';
import { emailRow, inviteFixture, queueEmail, waitForEmailStatus, waitForJob, type InviteFixture } from './fixtures.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const received = (address: string) => stack.smtp!.messages.filter((m) => m.envelopeTo.includes(address));
const returnValue = async (jobId: string) => (await stack.deps.jobs.queue('email').getJob(jobId))!.returnvalue;

describe('queue-emails: one job per batch, expanded by the email worker', () => {
  let fixtures: InviteFixture[];
  let emailIds: string[];
  const batchKey = `imp-${randomUUID()}-1`;

  beforeAll(async () => {
    fixtures = [];
    emailIds = [];
    for (let i = 0; i < 3; i++) {
      const f = await inviteFixture(stack);
      fixtures.push(f);
      // The outbox row only, as an import batch commits it; the jobs come from enqueueEmailBatches.
      emailIds.push(await queueEmail(stack, f, 'invitation', { enqueue: false }));
    }
    await enqueueEmailBatches(stack.deps, emailIds, batchKey);
  });

  it('sends each invitation exactly once over SMTP, and the job reports what it handed on', async () => {
    const job = await waitForJob(stack, queueEmailsJobId(batchKey, 0));
    expect(job.state).toBe('completed');
    expect(await returnValue(queueEmailsJobId(batchKey, 0))).toEqual({ enqueued: 3, byStatus: { queued: 3 }, missing: 0 });
    for (const [i, f] of fixtures.entries()) {
      expect(await waitForEmailStatus(stack, emailIds[i]!)).toMatchObject({ status: 'sent', attempts: 1 });
      expect(await waitForJob(stack, sendEmailJobId(emailIds[i]!))).toMatchObject({ state: 'completed' });
      expect(received(f.clientEmail)).toHaveLength(1);
    }
  });

  it('adds no second job for the same batchKey', async () => {
    await enqueueEmailBatches(stack.deps, emailIds, batchKey);
    const jobs = await stack.deps.jobs.queue('email').getJobs(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed']);
    expect(jobs.filter((j) => j.name === 'queue-emails').map((j) => j.id)).toEqual([queueEmailsJobId(batchKey, 0)]);
  });

  it('a second expansion of the same ids sends nothing again and counts an id with no row as missing', async () => {
    const stray = randomUUID();
    const rerun = `rerun-${randomUUID()}`;
    await enqueueEmailBatches(stack.deps, [...emailIds, stray], rerun);
    expect(await waitForJob(stack, queueEmailsJobId(rerun, 0))).toMatchObject({ state: 'completed' });
    expect(await returnValue(queueEmailsJobId(rerun, 0))).toEqual({ enqueued: 4, byStatus: { sent: 3 }, missing: 1 });
    // The stray id's send-email job ran (and found no row); the three others were the same jobs as before.
    expect(await waitForJob(stack, sendEmailJobId(stray))).toMatchObject({ state: 'completed' });
    expect(
      await stack.deps.jobs
        .queue('email')
        .getJob(sendEmailJobId(stray))
        .then((j) => j!.returnvalue),
    ).toEqual({ skipped: 'the email no longer exists' });
    for (const [i, f] of fixtures.entries()) {
      expect(received(f.clientEmail)).toHaveLength(1);
      expect(await emailRow(stack, emailIds[i]!)).toMatchObject({ status: 'sent', attempts: 1 });
    }
  });
});

describe('queue-emails: chunks and bad input', () => {
  it('splits ids into chunks of at most 5000, one deterministic job id per chunk', async () => {
    // A bus on a prefix no worker reads, so 5001 ids become two jobs to inspect and nothing is sent.
    const prefix = unique('t');
    const bus = new JobBus(stack.deps.redis, prefix);
    try {
      const ids = Array.from({ length: 5001 }, () => randomUUID());
      await enqueueEmailBatches({ jobs: bus }, ids, 'big');
      await enqueueEmailBatches({ jobs: bus }, [], 'empty');
      const jobs = await bus.queue('email').getJobs(['waiting']);
      const byId = new Map(jobs.map((j) => [j.id, j.data.emailIds as string[]]));
      expect([...byId.keys()].sort()).toEqual(['queue-emails-big-0', 'queue-emails-big-1']);
      expect(byId.get('queue-emails-big-0')).toEqual(ids.slice(0, 5000));
      expect(byId.get('queue-emails-big-1')).toEqual(ids.slice(5000));
    } finally {
      await bus.queue('email').obliterate({ force: true });
      await bus.close();
    }
  });

  it('refuses a batchKey with ":" and a payload the catalog rejects, before anything reaches Redis', async () => {
    await expect(enqueueEmailBatches(stack.deps, [randomUUID()], 'a:b')).rejects.toThrow(/batchKey/);
    await expect(stack.deps.jobs.enqueue('queue-emails', { emailIds: [] })).rejects.toThrow();
  });

  it('fails a job whose payload does not fit for good (UnrecoverableError), with the reason on the failed job', async () => {
    // Written past the bus, as an old or foreign producer could.
    await stack.deps.jobs.queue('email').add('queue-emails', { emailIds: ['not-a-uuid'] }, { jobId: 'queue-emails-bad-0', attempts: 5 });
    const job = await waitForJob(stack, 'queue-emails-bad-0');
    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid payload for queue-emails/);
    expect(job.failedReason).toMatch(/emailIds/);
  });
});
