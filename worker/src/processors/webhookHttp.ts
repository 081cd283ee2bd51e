import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, signWebhook, UnsafeTargetError, vetTargetUrl, type Deps, type HookPayload, type VettedTarget } from '@onramp/core';

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

function classifyStatus(status: number): Outcome {
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
    const statusCode = await send(target, headers, body, deps.config.webhookTimeoutMs);
    return classifyStatus(statusCode);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const what = e.code === 'ETIMEDOUT' ? `timed out after ${deps.config.webhookTimeoutMs} ms` : `${e.code ?? 'error'}: ${e.message}`;
    return { kind: 'retry', statusCode: null, error: what.slice(0, 500) };
  }
}

/** What is read of a response body, at most, so its connection can be reused; beyond it the socket is dropped. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * One POST with Node's own client: no redirects followed, no retries (BullMQ owns retries, with backoff and
 * a visible attempt log), the socket pinned to the vetted address. Only the status matters; the body is
 * drained (never buffered) up to DRAIN_LIMIT so the kept-alive socket serves the next delivery, and a
 * receiver answering with an endless or huge body only loses its connection.
 */
function send(target: VettedTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number> {
  const secure = target.url.protocol === 'https:';
  return new Promise<number>((resolve, reject) => {
    const req = (secure ? https : http).request(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: secure ? keepAlive.https : keepAlive.http,
      lookup: pinnedLookup(target) as unknown as http.RequestOptions['lookup'],
    });
    // The whole attempt, connect to status line, fits in WEBHOOK_TIMEOUT_MS.
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      let seen = 0;
      res.on('error', () => undefined);
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > DRAIN_LIMIT) res.destroy();
      });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}
