import { z } from 'zod';

/**
 * Every background job of Onramp: its queue, payload schema, attempts and backoff. API and worker import
 * this one table, so a producer and a consumer cannot disagree on a payload. Payloads carry ids only; the
 * handler reloads the row and returns early when the work is already done (every job is safe to run twice).
 */
export const queues = ['email', 'webhooks', 'imports', 'maintenance'] as const;
export type QueueName = (typeof queues)[number];

const uuid = z.uuid();

export const jobCatalog = {
  'send-email': {
    queue: 'email',
    payload: z.object({ emailId: uuid }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  // One job per committed batch of a CSV import (up to 5000 email ids), expanded by the email worker
  // into one send-email job each (worker/src/processors/queueEmails.ts): creating 100k jobs is then the
  // email worker's work, not the import worker's time and memory.
  'queue-emails': {
    queue: 'email',
    payload: z.object({ emailIds: z.array(uuid).min(1).max(5000) }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  'deliver-webhook': {
    queue: 'webhooks',
    payload: z.object({ deliveryId: uuid }),
    attempts: 8,
    backoff: { type: 'exponential', delay: 5_000 },
  },
  // The first attempt of up to 50 dispatched deliveries (worker/src/processors/deliverWebhooks.ts); a
  // delivery that needs another attempt continues as a deliver-webhook job of its own.
  'deliver-webhooks': {
    queue: 'webhooks',
    payload: z.object({ batchId: uuid, deliveryIds: z.array(uuid).min(1).max(50) }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  // Scheduled every second (worker/src/processors/fanOutEvent.ts); an eventId is accepted for writers that
  // want to nudge the dispatcher right after commit, but the scan never depends on it.
  'fan-out-event': {
    queue: 'webhooks',
    payload: z.object({ eventId: z.number().int().positive().optional() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  'csv-import': {
    queue: 'imports',
    payload: z.object({ importId: uuid }),
    attempts: 25,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  'touch-api-key': {
    queue: 'maintenance',
    payload: z.object({ apiKeyId: uuid, usedAt: z.iso.datetime() }),
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  sweep: {
    queue: 'maintenance',
    payload: z.object({}),
    attempts: 1,
    backoff: { type: 'fixed', delay: 1_000 },
  },
} as const satisfies Record<
  string,
  {
    queue: QueueName;
    payload: z.ZodType;
    attempts: number;
    backoff: { type: 'exponential' | 'fixed'; delay: number };
  }
>;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]['payload']>;

export function jobsOfQueue(queue: QueueName): JobName[] {
  return (Object.keys(jobCatalog) as JobName[]).filter((n) => jobCatalog[n].queue === queue);
}
