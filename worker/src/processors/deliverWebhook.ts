import { UnrecoverableError } from 'bullmq';
import got, { RequestError } from 'got';
import {
  buildDeliveryPayload,
  deleteHookById,
  getDeliveryForSend,
  markDeliveryFailed,
  markDeliverySucceeded,
  pinnedLookup,
  recordAttempt,
  signWebhook,
  startAttempt,
  UnsafeTargetError,
  vetTargetUrl,
  withTransaction,
  type Deps,
} from '@onramp/core';
import type { Processor } from './types.js';

type Outcome =
  | { kind: 'succeeded'; statusCode: number }
  | { kind: 'gone'; statusCode: number }
  | { kind: 'retry'; statusCode: number | null; error: string }
  | { kind: 'permanent'; statusCode: number | null; error: string };

function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'succeeded', statusCode: status };
  if (status === 410) return { kind: 'gone', statusCode: status };
  if (status === 429 || status === 408 || status >= 500) return { kind: 'retry', statusCode: status, error: `the receiver answered ${status}` };
  if (status >= 300 && status < 400) return { kind: 'permanent', statusCode: status, error: `the receiver answered ${status}; redirects are not followed` };
  return { kind: 'permanent', statusCode: status, error: `the receiver answered ${status}` };
}

/** POST once to a vetted, pinned address. Never throws: every way it can end is an Outcome. */
async function post(deps: Deps, targetUrl: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  let target;
  try {
    // Again at delivery time, not only at subscribe time: the name may resolve elsewhere by now.
    target = await vetTargetUrl(targetUrl, { allowPrivate: deps.config.webhookAllowPrivateTargets });
  } catch (err) {
    if (err instanceof UnsafeTargetError) {
      const error = `target_url ${err.reason}`;
      return err.transient ? { kind: 'retry', statusCode: null, error } : { kind: 'permanent', statusCode: null, error };
    }
    throw err;
  }
  try {
    // Only the status matters. The response body is never read: a receiver that answers with an endless
    // (or huge) body must not fill the worker's memory, so the stream is dropped as soon as the head arrives.
    const stream = got.stream.post(target.url, {
      body,
      headers,
      dnsLookup: pinnedLookup(target),
      timeout: { request: deps.config.webhookTimeoutMs },
      followRedirect: false,
      throwHttpErrors: false,
      // BullMQ owns retries (with backoff and a visible attempt log); got must not retry behind its back.
      retry: { limit: 0 },
    });
    // Whatever the stream emits after it is dropped must not become an unhandled 'error' event.
    stream.on('error', () => undefined);
    const statusCode = await new Promise<number>((resolve, reject) => {
      stream.once('response', (res: { statusCode: number }) => {
        resolve(res.statusCode);
        stream.destroy();
      });
      stream.once('error', reject);
    });
    return classifyStatus(statusCode);
  } catch (err) {
    const e = err as RequestError;
    const what = e.code === 'ETIMEDOUT' ? `timed out after ${deps.config.webhookTimeoutMs} ms` : `${e.code ?? 'error'}: ${e.message}`;
    return { kind: 'retry', statusCode: null, error: what.slice(0, 500) };
  }
}

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
  const timestamp = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Onramp-Webhooks/1',
    'onramp-delivery-id': deliveryId,
    'onramp-event': delivery.event.type,
    'onramp-timestamp': String(timestamp),
    'onramp-signature': signWebhook(delivery.hook.secret, timestamp, body),
  };
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
      const maxAttempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= maxAttempts) return fail(`gave up after ${maxAttempts} attempts; last: ${outcome.error}`);
      throw new Error(outcome.error);
    }
  }
};
