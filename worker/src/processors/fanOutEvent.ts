import { dispatchHookEvents, type Deps } from '@onramp/core';
import type { Processor } from './types.js';

/**
 * The webhook dispatcher: turns committed events into deliveries (core dispatchHookEvents). It runs every
 * second from a job scheduler, so a delivery leaves within about a second of its event's commit, and
 * nothing depends on the code that wrote the event remembering to enqueue anything.
 */
export const fanOutEvent: Processor<'fan-out-event'> = async (_payload, deps) => dispatchHookEvents(deps);

const WEBHOOK_DISPATCH_EVERY_MS = 1000;

/** Upserted by every worker at start; the scheduler id makes it one schedule however many workers run. */
export async function scheduleWebhookDispatch(deps: Deps): Promise<void> {
  await deps.jobs
    .queue('webhooks')
    .upsertJobScheduler(
      'fan-out-event',
      { every: WEBHOOK_DISPATCH_EVERY_MS },
      { name: 'fan-out-event', data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } } },
    );
}
