import {
  deliverWebhookJobId,
  deliverWebhooksJobId,
  enqueueDeliveryRetries,
  jobCatalog,
  markDeliveryFailed,
  overdueDeliveries,
  recordLostAttempts,
} from '@onramp/core';
import type { SweepStep } from './sweep.js';
import { clearFinishedJob, jobState, stillRuns } from './lostJobs.js';
/** A delivery still pending after this many claimed attempts is failed instead of tried again. */
const MAX_ATTEMPTS = jobCatalog['deliver-webhook'].attempts * 2;
const BATCH = 1000;

/**
 * Pending deliveries whose job is gone or failed go back to a deliver-webhook job of their own. A job is
 * lost when the process dies between commit and enqueue, or when a job uses up its attempts while the
 * database or Redis is down: a deliver-webhooks batch that claimed its first attempts (maybe several
 * times) and could never record them, or a deliver-webhook job that failed on the database rather than on
 * the receiver. Nothing else would ever run those deliveries again.
 *
 * Only deliveries overdue by the retry schedule are looked at (overdueDeliveries: the backoff after their
 * attempt count, counted from their latest claim, plus a grace of a minute and an attempt's timeout), so a
 * delivery waiting for its retry is left to it, whatever its attempt count. Each one's jobs are then read
 * from BullMQ: its batch job or its own job still waiting, delayed or running means it is in hand. Otherwise
 * its own job is removed if BullMQ still keeps it finished (clearFinishedJob) and added again under the
 * same id; a sweep that runs twice, or alongside another, adds one job. A delivery that
 * succeeded is not pending, so it is never sent again. Claimed attempts whose outcome was never written get
 * an attempt row saying so, and each hand-back is logged.
 */
export const requeueStrandedDeliveries: SweepStep = async (deps) => {
  const rows = await overdueDeliveries(deps.pool, {
    backoffFirstMs: deps.config.webhookBackoffMs ?? jobCatalog['deliver-webhook'].backoff.delay,
    graceSeconds: 60 + Math.ceil(deps.config.webhookTimeoutMs / 1000),
    maxBackoffAttempts: jobCatalog['deliver-webhook'].attempts - 1,
    limit: BATCH,
  });
  const queue = deps.jobs.queue(jobCatalog['deliver-webhook'].queue);
  const batchStates = new Map<string, string>();
  let handed = 0;
  let gaveUp = 0;
  for (const row of rows) {
    if (row.batch_id) {
      let batchState = batchStates.get(row.batch_id);
      if (batchState === undefined) {
        batchState = (await jobState(queue, deliverWebhooksJobId(row.batch_id))).state;
        batchStates.set(row.batch_id, batchState);
      }
      if (stillRuns(batchState)) continue;
    }
    const own = await clearFinishedJob(queue, deliverWebhookJobId(row.id));
    if (own.inHand) continue;
    const lost = await recordLostAttempts(deps.pool, row.id, 'no outcome recorded: the job making this attempt failed or was lost');
    const context = {
      deliveryId: row.id,
      hookId: row.hook_id,
      attempts: row.attempts,
      batchId: row.batch_id,
      job: own.state,
      ...(own.failedReason ? { jobFailedReason: own.failedReason } : {}),
      lostAttempts: lost,
    };
    if (row.attempts >= MAX_ATTEMPTS) {
      await markDeliveryFailed(deps.pool, {
        deliveryId: row.id,
        hookId: row.hook_id,
        error: `gave up after ${row.attempts} attempts whose jobs failed or were lost`,
        disableAfter: deps.config.webhookDisableAfterFailures,
      });
      deps.logger.warn(context, 'webhook delivery stranded too often; marked failed');
      gaveUp++;
      continue;
    }
    await enqueueDeliveryRetries(deps, [{ deliveryId: row.id, delayMs: 0 }]);
    deps.logger.warn(context, 'webhook delivery had no live job; handed to a deliver-webhook job again');
    handed++;
  }
  return { deliveriesRequeued: handed, deliveriesGivenUp: gaveUp };
};
