import http from 'node:http';
import https from 'node:https';
import got, { RequestError } from 'got';
import { pinnedLookup, signWebhook, UnsafeTargetError, vetTargetUrl, type Deps, type HookPayload } from '@onramp/core';

/**
 * The HTTP side of a webhook delivery, shared by the batched first attempt (deliverWebhooks.ts) and each
 * later attempt (deliverWebhook.ts): vet and pin the target, POST the signed body, classify the answer.
 */
const keepAlive = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 30_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 30_000 }),
};

/** The headers of one delivery: the same id and signature scheme on every attempt. */
export function deliveryHeaders(deliveryId: string, eventType: string, secret: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': 'Onramp-Webhooks/1',
    'onramp-delivery-id': deliveryId,
    'onramp-event': eventType,
    'onramp-timestamp': String(timestamp),
    'onramp-signature': signWebhook(secret, timestamp, body),
  };
}

export const bodyOf = (payload: HookPayload): string => JSON.stringify(payload);

export type Outcome =
  | { kind: 'succeeded'; statusCode: number }
  | { kind: 'gone'; statusCode: number }
  | { kind: 'retry'; statusCode: number | null; error: string }
  | { kind: 'permanent'; statusCode: number | null; error: string };

export function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'succeeded', statusCode: status };
  if (status === 410) return { kind: 'gone', statusCode: status };
  if (status === 429 || status === 408 || status >= 500) return { kind: 'retry', statusCode: status, error: `the receiver answered ${status}` };
  if (status >= 300 && status < 400) return { kind: 'permanent', statusCode: status, error: `the receiver answered ${status}; redirects are not followed` };
  return { kind: 'permanent', statusCode: status, error: `the receiver answered ${status}` };
}

/** POST once to a vetted, pinned address. Never throws: every way it can end is an Outcome. */
export async function post(deps: Deps, targetUrl: string, headers: Record<string, string>, body: string): Promise<Outcome> {
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
      // Keep-alive: a batch sends many deliveries to the same receiver; a new TCP (and TLS) connection for
      // each would cost more than the request. A pooled socket was opened through the pinned lookup above.
      agent: keepAlive,
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

