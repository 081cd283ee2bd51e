import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { createRedis, jobCatalog, queues, type Deps, type JobName, type QueueName, type Redis } from '@onramp/core';
import { processors } from './processors/index.js';
import { closeMailer } from './processors/sendEmail.js';
import { scheduleWebhookDispatch } from './processors/fanOutEvent.js';
import { startEmailRelay } from './emailRelay.js';

interface AbandonedJob {
  queue: QueueName;
  name: string;
  id: string | undefined;
  /** Handed back to the queue (waiting) so the next worker to start takes it up at once. */
  requeued: boolean;
  data: unknown;
}

export interface RunningWorker {
  workers: Worker[];
  /**
   * Stop taking jobs and wait up to `deadlineMs` for the running ones to finish. A job still running then
   * is abandoned: handed back to its queue (every processor is idempotent; an import resumes from its
   * checkpoint) and reported. Never waits past the deadline, even with Redis gone.
   */
  close(deadlineMs?: number): Promise<{ abandoned: AbandonedJob[] }>;
}

const concurrencyByQueue: Record<QueueName, number> = { email: 10, webhooks: 10, imports: 1, maintenance: 2 };

/**
 * One BullMQ Worker per queue, dispatching by job name through the catalog. Payloads are parsed as
 * unknown input; a payload that does not fit fails for good (UnrecoverableError) with the reason kept on
 * the failed job, where `GET /metrics` and the queue tools show it.
 */
export interface WorkerOptions {
  queues?: readonly QueueName[];
  /** BullMQ lock and stalled-check timings (ms); tests shorten them to see a killed worker's job resumed sooner. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export async function startWorker(deps: Deps, opts: WorkerOptions = {}): Promise<RunningWorker> {
  const connection: Redis = createRedis(deps.config.redisUrl!, { forWorker: true });
  const processJob = async (job: Job, queue: QueueName) => {
    const name = job.name as JobName;
    const def = jobCatalog[name];
    const processor = processors[name] as ((p: unknown, d: Deps, j: Job) => Promise<unknown>) | undefined;
    if (!def || !processor) throw new UnrecoverableError(`no processor for job "${job.name}" on queue ${queue}`);
    const parsed = def.payload.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.message}`);
    return processor(parsed.data, deps, job);
  };
  const workers: Worker[] = [];
  const running = new Map<Job, { queue: QueueName; token: string | undefined }>();
  for (const queue of opts.queues ?? queues) {
    const worker = new Worker(
      queue,
      async (job: Job, token?: string) => {
        running.set(job, { queue, token });
        try {
          return await processJob(job, queue);
        } finally {
          running.delete(job);
        }
      },
      {
        connection,
        prefix: deps.config.redisPrefix,
        concurrency: concurrencyByQueue[queue],
        ...(queue === 'email' ? { limiter: { max: deps.config.limits.emailRatePerSecond, duration: 1000 } } : {}),
        // An import whose worker died is resumed from its checkpoint, however often that happens.
        ...(queue === 'imports' ? { maxStalledCount: 100 } : {}),
        ...(opts.lockDurationMs ? { lockDuration: opts.lockDurationMs } : {}),
        ...(opts.stalledIntervalMs ? { stalledInterval: opts.stalledIntervalMs } : {}),
      },
    );
    worker.on('failed', (job, err) => {
      deps.logger.warn({ job: job?.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'job failed');
    });
    worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));
    workers.push(worker);
  }
  // One scheduler entry, however many workers start: upsert is keyed by id.
  await deps.jobs
    .queue('maintenance')
    .upsertJobScheduler('sweep', { every: deps.config.sweepIntervalSeconds * 1000 }, { name: 'sweep', data: {}, opts: { attempts: 1 } });
  if ((opts.queues ?? queues).includes('webhooks')) await scheduleWebhookDispatch(deps);
  const relay = (opts.queues ?? queues).includes('email') ? startEmailRelay(deps) : null;
  return {
    workers,
    async close(deadlineMs = 10_000) {
      const started = Date.now();
      await within(relay?.stop() ?? Promise.resolve(), deadlineMs * 0.2, undefined);
      const closing = Promise.all(workers.map((w) => w.close())).then(
        () => true,
        (err: unknown) => {
          deps.logger.warn({ err }, 'worker close failed');
          return true;
        },
      );
      const closed = await within(closing, deadlineMs * 0.8, false);
      const abandoned: AbandonedJob[] = [];
      if (!closed) {
        const left = Math.max(100, deadlineMs - (Date.now() - started));
        for (const [job, { queue, token }] of running) {
          // Back to waiting at once, rather than held by its lock until a stalled check (30 s or more).
          const requeued = await within(
            job.moveToWait(token).then(
              () => true,
              () => false,
            ),
            left / Math.max(1, running.size),
            false,
          );
          abandoned.push({ queue, name: job.name, id: job.id, requeued, data: job.data });
        }
      }
      closeMailer(deps);
      // Not while an abandoned job still runs here: BullMQ retries a job's final write without delay while
      // closing when the connection is closed, a loop that starved the event loop and hung the shutdown.
      // The process exits right after; the socket goes with it.
      if (abandoned.length === 0) connection.disconnect();
      return { abandoned };
    },
  };
}

function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}
export { requeueStuckEmails } from './processors/emailSweep.js';
export { requeueStrandedDeliveries } from './processors/webhookSweep.js';

// The sweep's steps run in tests one at a time, without a queue (test/email/reminders.test.ts).
export { processors } from './processors/index.js';
