import {
  buildDeliveryPayloads,
  claimDeliveries,
  deleteHookById,
  deliveryBackoffMs,
  enqueueDeliveryRetries,
  jobCatalog,
  markDeliveryFailed,
  recordBatchAttempts,
  type AttemptOutcome,
  type Deps,
} from '@onramp/core';
import type { Processor } from './types.js';
import { bodyOf, deliveryHeaders, post, type Outcome } from './webhookHttp.js';

/**
 * The first attempt of a batch of dispatched deliveries (up to 50): one statement claims them all, one
 * build per agency makes their payloads, the POSTs go out together over kept-alive connections, and one
 * statement records every attempt and settles the successes. A batch fails as a whole only when the
 * database or Redis does; its BullMQ retries rerun it. A delivery that needs another attempt
 * continues as a deliver-webhook job of its own, with the same backoff, attempt log and give-up rule.
 *
 * Running the batch twice is safe: a settled delivery is not claimed again. A crash between the POSTs and
 * the record leaves the deliveries pending with an attempt claimed, retried by the batch's own BullMQ
 * retry (at least once, as every webhook: receivers dedupe on Onramp-Delivery-Id). A batch that uses up
 * its attempts leaves them to the sweep (webhookSweep.ts), which hands each to a deliver-webhook job.
 */
export const deliverWebhooks: Processor<'deliver-webhooks'> = async ({ deliveryIds }, deps) => {
  const claimed = await claimDeliveries(deps.pool, deliveryIds);
  if (claimed.length === 0) return { claimed: 0 };
  const payloads = await buildDeliveryPayloads(
    deps.pool,
    deps.config.publicBaseUrl,
    claimed.map((d) => d.event),
  );

  const results = await Promise.all(
    claimed.map(async (d) => {
      const payload = payloads.get(d.event.id);
      if (!payload) return { d, outcome: null, durationMs: 0 };
      const body = bodyOf(payload);
      const started = performance.now();
      const outcome = await post(deps, d.hook.target_url, deliveryHeaders(d.id, d.event.type, d.hook.secret, body), body);
      return { d, outcome, durationMs: Math.round(performance.now() - started) };
    }),
  );

  const attempts: AttemptOutcome[] = [];
  for (const { d, outcome, durationMs } of results) {
    if (!outcome) continue;
    attempts.push({
      deliveryId: d.id,
      hookId: d.hook.id,
      attempt: d.attempt,
      statusCode: outcome.statusCode,
      error: outcome.kind === 'retry' || outcome.kind === 'permanent' ? outcome.error : null,
      durationMs,
      succeeded: outcome.kind === 'succeeded',
    });
  }
  await recordBatchAttempts(deps.pool, attempts);

  const retries: Array<{ deliveryId: string; delayMs: number }> = [];
  let failed = 0;
  for (const { d, outcome } of results) {
    const verdict = await settle(deps, d, outcome);
    if (verdict === 'retry') retries.push({ deliveryId: d.id, delayMs: deliveryBackoffMs(deps.config, d.attempt) });
    if (verdict === 'failed') failed++;
  }
  await enqueueDeliveryRetries(deps, retries);
  return { claimed: claimed.length, succeeded: attempts.filter((a) => a.succeeded).length, retrying: retries.length, failed };
};

/** What becomes of one delivery after its attempt (the attempt itself is already recorded). */
async function settle(
  deps: Deps,
  d: { id: string; attempt: number; event: { type: string }; hook: { id: string } },
  outcome: Outcome | null,
): Promise<'done' | 'retry' | 'failed'> {
  const fail = async (error: string) => {
    await markDeliveryFailed(deps.pool, { deliveryId: d.id, hookId: d.hook.id, error, disableAfter: deps.config.webhookDisableAfterFailures });
    return 'failed' as const;
  };
  if (!outcome) return fail(`the ${d.event.type.split('.')[0]} of this event no longer exists`);
  switch (outcome.kind) {
    case 'succeeded':
      return 'done';
    case 'gone':
      await deleteHookById(deps.pool, d.hook.id);
      return 'done';
    case 'permanent':
      return fail(outcome.error);
    case 'retry':
      if (d.attempt >= jobCatalog['deliver-webhook'].attempts) return fail(`gave up after ${d.attempt} attempts; last: ${outcome.error}`);
      return 'retry';
  }
}
