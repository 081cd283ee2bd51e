import { UnrecoverableError } from 'bullmq';
import {
  buildDeliveryPayload,
  deleteHookById,
  getDeliveryForSend,
  jobCatalog,
  markDeliveryFailed,
  markDeliverySucceeded,
  recordAttempt,
  startAttempt,
  withTransaction,
} from '@onramp/core';
import type { Processor } from './types.js';
import { deliveryHeaders, post } from './webhookHttp.js';

/**
 * One attempt of one delivery. Every attempt is recorded (GET /v1/hooks/:id/deliveries). 2xx succeeds;
 * 410 Gone deletes the subscription (how Zapier says the Zap is off); timeouts, network errors, 408, 429
 * and 5xx throw so BullMQ retries with exponential backoff; any other answer fails for good. A delivery
 * that fails for good counts against its hook, which is disabled after WEBHOOK_DISABLE_AFTER_FAILURES.
 */
export const deliverWebhook: Processor<'deliver-webhook'> = async ({ deliveryId }, deps, job) => {
  const delivery = await getDeliveryForSend(deps.pool, deliveryId);
  // Gone with its hook (unsubscribed, 410) or already settled: running twice is a no-op.
  if (!delivery || delivery.status !== 'pending') return { skipped: delivery ? delivery.status : 'deleted' };
  if (delivery.hook.status !== 'active') return { skipped: 'hook disabled' };

  const fail = async (error: string): Promise<never> => {
    await markDeliveryFailed(deps.pool, {
      deliveryId,
      hookId: delivery.hook.id,
      error,
      disableAfter: deps.config.webhookDisableAfterFailures,
    });
    throw new UnrecoverableError(error);
  };

  const payload = await buildDeliveryPayload(deps.pool, deps.config.publicBaseUrl, delivery.event);
  if (!payload) return fail(`the ${delivery.event.type.split('.')[0]} of this event no longer exists`);

  const attempt = await startAttempt(deps.pool, deliveryId);
  if (attempt === null) return { skipped: 'settled' };
  const body = JSON.stringify(payload);
  const headers = deliveryHeaders(deliveryId, delivery.event.type, delivery.hook.secret, body);
  const started = performance.now();
  const outcome = await post(deps, delivery.hook.target_url, headers, body);
  const durationMs = Math.round(performance.now() - started);
  const attemptRow = {
    deliveryId,
    attempt,
    statusCode: outcome.statusCode,
    error: outcome.kind === 'retry' || outcome.kind === 'permanent' ? outcome.error : null,
    durationMs,
  };
  if (outcome.kind === 'succeeded') {
    // One transaction: the deliveries log never shows a successful attempt on a delivery still pending.
    await withTransaction(deps.pool, async (tx) => {
      await recordAttempt(tx, attemptRow);
      await markDeliverySucceeded(tx, deliveryId, delivery.hook.id);
    });
    return { delivered: true, attempt, statusCode: outcome.statusCode };
  }
  await recordAttempt(deps.pool, attemptRow);

  switch (outcome.kind) {
    case 'gone':
      await deleteHookById(deps.pool, delivery.hook.id);
      return { delivered: false, unsubscribed: true };
    case 'permanent':
      return fail(outcome.error);
    case 'retry': {
      // Counted on the delivery, not the job: its first attempt may have been made by a deliver-webhooks batch.
      const maxAttempts = jobCatalog['deliver-webhook'].attempts;
      if (attempt >= maxAttempts || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) return fail(`gave up after ${attempt} attempts; last: ${outcome.error}`);
      throw new Error(outcome.error);
    }
  }
};
