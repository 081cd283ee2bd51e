import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { createRedis, jobCatalog, queues, type Deps, type JobName, type QueueName, type Redis } from '@onramp/core';
import { processors } from './processors/index.js';
import { closeMailer } from './processors/sendEmail.js';
import { scheduleWebhookDispatch } from './processors/fanOutEvent.js';

export interface RunningWorker {
  workers: Worker[];
  close(): Promise<void>;
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
  const workers: Worker[] = [];
  for (const queue of opts.queues ?? queues) {
    const worker = new Worker(
      queue,
      async (job: Job) => {
        const name = job.name as JobName;
        const def = jobCatalog[name];
        const processor = processors[name] as ((p: unknown, d: Deps, j: Job) => Promise<unknown>) | undefined;
        if (!def || !processor) throw new UnrecoverableError(`no processor for job "${job.name}" on queue ${queue}`);
        const parsed = def.payload.safeParse(job.data);
        if (!parsed.success) throw new UnrecoverableError(`invalid payload for ${job.name}: ${parsed.error.message}`);
        return processor(parsed.data, deps, job);
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
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      closeMailer(deps);
      connection.disconnect();
    },
  };
}

export { requeueStuckEmails } from './processors/emailSweep.js';
