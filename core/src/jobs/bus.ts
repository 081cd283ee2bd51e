import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobCatalog, queues, type JobName, type JobPayload, type QueueName } from './catalog.js';

export interface EnqueueOptions {
  /** Deterministic id: BullMQ ignores a second add with the same id, which makes producers idempotent. */
  jobId?: string;
  delayMs?: number;
  /** Overrides the catalog's first backoff delay (same backoff type), e.g. WEBHOOK_BACKOFF_MS. */
  backoffDelayMs?: number;
  /** Add at the head of the waiting list instead of the tail (BullMQ LIFO). */
  lifo?: boolean;
}

/** The producer side of the job catalog. Validates every payload before it reaches Redis. */
export class JobBus {
  private readonly queueMap = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    readonly prefix: string,
    private readonly onError?: (err: Error) => void,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queueMap.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      // Without a listener an emitted connection error would crash the process; the connection itself
      // reconnects, and callers see their own command fail.
      q.on('error', (err) => this.onError?.(err));
      this.queueMap.set(name, q);
    }
    return q;
  }

  private options<N extends JobName>(name: N, opts: EnqueueOptions = {}): JobsOptions {
    const def = jobCatalog[name];
    return {
      attempts: def.attempts,
      backoff: opts.backoffDelayMs ? { ...def.backoff, delay: opts.backoffDelayMs } : def.backoff,
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      // Failed jobs stay visible for a week: a failure is something a person must be able to see.
      removeOnFail: { age: 7 * 24 * 3600 },
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      ...(opts.lifo ? { lifo: true } : {}),
    };
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts?: EnqueueOptions): Promise<void> {
    const def = jobCatalog[name];
    const data = def.payload.parse(payload);
    await this.queue(def.queue).add(name, data, this.options(name, opts));
  }

  async enqueueMany<N extends JobName>(
    name: N,
    items: Array<{ payload: JobPayload<N>; jobId?: string }>,
    common: Omit<EnqueueOptions, 'jobId'> = {},
  ): Promise<void> {
    if (items.length === 0) return;
    const def = jobCatalog[name];
    const queue = this.queue(def.queue);
    for (let i = 0; i < items.length; i += 1000) {
      await queue.addBulk(
        items.slice(i, i + 1000).map((item) => ({
          name,
          data: def.payload.parse(item.payload),
          opts: this.options(name, { ...common, ...(item.jobId ? { jobId: item.jobId } : {}) }),
        })),
      );
    }
  }

  async depths(): Promise<Record<QueueName, Record<string, number>>> {
    const out = {} as Record<QueueName, Record<string, number>>;
    for (const name of queues) {
      out[name] = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queueMap.values()].map((q) => q.close()));
    this.queueMap.clear();
  }
}
