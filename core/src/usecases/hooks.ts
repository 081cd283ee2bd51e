import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Deps } from '../context.js';
import { jobCatalog } from '../jobs/catalog.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { notFound, validationError } from '../errors/AppError.js';
import { UnsafeTargetError, vetTargetUrl } from '../net/ssrf.js';
import { buildHookPayloads, listFeedPayloads, type HookPayload, type PayloadEvent } from '../read/hookPayloads.js';
import { decodeCursor, encodeCursor, type Page } from '../read/pagination.js';
import * as sql from '../sql/hooks.js';
import { hookEvents, type HookEvent, type HookRow } from '../sql/hooks.js';
import type { Principal } from './apiKeys.js';
import { requireInviter } from './invitations.js';

export { hookEvents, type HookEvent } from '../sql/hooks.js';
export * from '../net/ssrf.js';
export * from '../read/hookPayloads.js';

const iso = z.string().describe('ISO 8601 date-time with time zone');

export const hookJson = z.object({
  id: z.uuid(),
  event: z.enum(hookEvents),
  target_url: z.string(),
  status: z.enum(['active', 'disabled']),
  disabled_reason: z.string().nullable(),
  consecutive_failures: z.number().int(),
  created_at: iso,
});
export type HookJson = z.infer<typeof hookJson>;
export const createdHookJson = hookJson.extend({
  secret: z.string().describe('HMAC-SHA256 key of Onramp-Signature; shown only in this response'),
});

export const webhookAttemptJson = z.object({
  attempt: z.number().int(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int().nullable(),
  created_at: iso,
});
export const webhookDeliveryJson = z.object({
  id: z.uuid(),
  hook_id: z.uuid(),
  event: z.string(),
  event_id: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: iso,
  delivered_at: iso.nullable(),
  attempts: z.array(webhookAttemptJson),
});
export type WebhookDeliveryJson = z.infer<typeof webhookDeliveryJson>;

export const createHookInput = z.object({
  target_url: z.string().trim().min(1, 'is required').max(2048, 'must be at most 2048 characters'),
  event: z.enum(hookEvents, { error: `must be one of: ${hookEvents.join(', ')}` }),
});

function toHookJson(r: HookRow): HookJson {
  return {
    id: r.id,
    event: r.event,
    target_url: r.target_url,
    status: r.status,
    disabled_reason: r.disabled_reason,
    consecutive_failures: r.consecutive_failures,
    created_at: r.created_at.toISOString(),
  };
}

/**
 * Subscribe a target URL to an event (REST hooks, as Zapier's performSubscribe calls it). The URL is
 * vetted now (clear 422 for the person setting it up) and again before every delivery, because DNS can
 * change. Only events that happen after this call are delivered.
 */
export async function createHook(
  deps: Pick<Deps, 'pool' | 'config'>,
  principal: Principal,
  input: z.output<typeof createHookInput>,
): Promise<z.infer<typeof createdHookJson>> {
  // A hook sends the agency's data to a URL of the caller's choosing: a write, like every other.
  requireInviter(principal, 'subscribe webhooks');
  try {
    await vetTargetUrl(input.target_url, { allowPrivate: deps.config.webhookAllowPrivateTargets });
  } catch (err) {
    if (err instanceof UnsafeTargetError) throw validationError([{ field: 'target_url', message: err.reason }]);
    throw err;
  }
  const secret = randomBytes(32).toString('base64url');
  const row = await sql.insertHook(deps.pool, {
    agencyId: principal.agencyId,
    createdBy: principal.userId,
    event: input.event,
    targetUrl: input.target_url,
    secret,
  });
  return { ...toHookJson(row), secret };
}

export async function deleteHook(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<void> {
  requireInviter(principal, 'unsubscribe webhooks');
  if (!(await sql.deleteHook(deps.pool, principal.agencyId, id))) throw notFound('Hook');
}

export async function listHooks(deps: Pick<Deps, 'pool'>, principal: Principal, page: { limit: number; cursor?: string | undefined }): Promise<Page<HookJson>> {
  const rows = await sql.listHooks(deps.pool, principal.agencyId, decodeCursor(page.cursor), page.limit + 1);
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  return { data: items.map(toHookJson), next_cursor: more ? encodeCursor(items[items.length - 1]!.seq) : null };
}

export async function listHookDeliveries(
  deps: Pick<Deps, 'pool'>,
  principal: Principal,
  hookId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<WebhookDeliveryJson>> {
  const after = decodeCursor(page.cursor);
  if (!(await sql.getHook(deps.pool, principal.agencyId, hookId))) throw notFound('Hook');
  const rows = await sql.listDeliveries(deps.pool, principal.agencyId, hookId, after, page.limit + 1);
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  return {
    data: items.map((r) => ({
      id: r.id,
      hook_id: r.hook_id,
      event: r.event_type,
      event_id: String(r.event_id),
      status: r.status,
      last_status_code: r.last_status_code,
      last_error: r.last_error,
      created_at: r.created_at.toISOString(),
      delivered_at: r.delivered_at ? r.delivered_at.toISOString() : null,
      attempts: r.attempt_log.map((a) => ({ ...a, created_at: new Date(a.created_at).toISOString() })),
    })),
    next_cursor: more ? encodeCursor(items[items.length - 1]!.seq) : null,
  };
}

/** GET /v1/feeds/:event: the polling twin of a hook, item for item the body a delivery POSTs. */
export async function getFeed(deps: Pick<Deps, 'pool' | 'config'>, principal: Principal, event: HookEvent, limit: number): Promise<{ data: HookPayload[] }> {
  return { data: await listFeedPayloads(deps.pool, principal.agencyId, event, limit, deps.config.publicBaseUrl) };
}

// ---- dispatch ---------------------------------------------------------------------------------------------

/**
 * Two windows, because event ids are assigned at insert while transactions commit in any order: an event
 * with a smaller id can become visible after a larger one was already dispatched, so "id > last id seen"
 * would skip it forever. Every scan instead covers every event whose transaction STARTED within the
 * window (see webhook_dispatch_marks), and the unique (hook_id, event_id) makes the overlap harmless.
 *  - Each scan (every second) looks back RECENT_WINDOW_SECONDS: ordinary transactions commit well within it.
 *  - Every FULL_SCAN_EVERY_SECONDS one scan looks back FULL_WINDOW_SECONDS, for slow transactions.
 * An event whose transaction stays open longer than FULL_WINDOW_SECONDS is not delivered (it is still in the
 * polling feed).
 */
export const dispatchWindows = { RECENT_WINDOW_SECONDS: 10, FULL_WINDOW_SECONDS: 15 * 60, FULL_SCAN_EVERY_SECONDS: 30 } as const;
const DISPATCH_BATCH = 5000;

export const deliverWebhookJobId = (deliveryId: string): string => `deliver-webhook-${deliveryId}`;
export const deliverWebhooksJobId = (batchId: string): string => `deliver-webhooks-${batchId}`;

/** Deliveries per deliver-webhooks job: their first attempts share one claim, one payload build and one write. */
export const DELIVERY_BATCH = 50;

/**
 * Jobs for dispatched deliveries: one deliver-webhooks job per batch, named after it, so adding it again
 * is a no-op while it exists. A delivery's retries are deliver-webhook jobs of its own; so is a delivery
 * the sweep finds with no live job (worker/src/processors/webhookSweep.ts).
 */
export async function enqueueDeliveries(deps: Pick<Deps, 'jobs' | 'config'>, deliveries: sql.DispatchedDelivery[]): Promise<void> {
  const batches = new Map<string, string[]>();
  const single: string[] = [];
  for (const d of deliveries) {
    if (!d.batch_id) {
      single.push(d.id);
      continue;
    }
    const ids = batches.get(d.batch_id) ?? [];
    ids.push(d.id);
    batches.set(d.batch_id, ids);
  }
  // insertDueDeliveries puts at most DELIVERY_BATCH deliveries in a batch: one job each.
  await deps.jobs.enqueueMany(
    'deliver-webhooks',
    [...batches].map(([batchId, deliveryIds]) => ({ payload: { batchId, deliveryIds }, jobId: deliverWebhooksJobId(batchId) })),
  );
  await enqueueDeliveryRetries(
    deps,
    single.map((deliveryId) => ({ deliveryId, delayMs: 0 })),
  );
}

/** A delivery's next attempt, as a deliver-webhook job of its own (the job id makes a second add a no-op). */
export async function enqueueDeliveryRetries(deps: Pick<Deps, 'jobs' | 'config'>, retries: Array<{ deliveryId: string; delayMs: number }>): Promise<void> {
  for (const r of retries) {
    await deps.jobs.enqueue(
      'deliver-webhook',
      { deliveryId: r.deliveryId },
      {
        jobId: deliverWebhookJobId(r.deliveryId),
        ...(r.delayMs ? { delayMs: r.delayMs } : {}),
        ...(deps.config.webhookBackoffMs ? { backoffDelayMs: deps.config.webhookBackoffMs } : {}),
      },
    );
  }
}

/** The delay before attempt `attempt + 1` of a delivery: the catalog's exponential backoff (or WEBHOOK_BACKOFF_MS). */
export function deliveryBackoffMs(config: Pick<Deps['config'], 'webhookBackoffMs'>, attempt: number): number {
  const first = config.webhookBackoffMs ?? jobCatalog['deliver-webhook'].backoff.delay;
  return first * 2 ** Math.max(0, attempt - 1);
}

export interface DispatchResult {
  /** False when another process held the dispatch lock (it is doing this scan). */
  scanned: boolean;
  full: boolean;
  created: number;
}

/**
 * Creates the deliveries due for committed events and enqueues them. Writers do nothing but append their
 * event in their own transaction; no writer can forget to notify hooks. Safe with many worker processes:
 * one scan at a time under an advisory lock, and the unique constraint for the rest.
 */
export async function dispatchHookEvents(deps: Pick<Deps, 'pool' | 'jobs' | 'config' | 'redis'>): Promise<DispatchResult> {
  const { RECENT_WINDOW_SECONDS, FULL_WINDOW_SECONDS, FULL_SCAN_EVERY_SECONDS } = dispatchWindows;
  const full = (await deps.redis.set(`${deps.config.redisPrefix}:webhook-dispatch-full`, '1', 'EX', FULL_SCAN_EVERY_SECONDS, 'NX')) === 'OK';
  const outcome = await withTransaction(deps.pool, async (tx) => {
    if (!(await sql.tryDispatchLock(tx))) return null;
    await sql.insertMark(tx);
    const fullBound = await sql.markOlderThan(tx, FULL_WINDOW_SECONDS);
    const lowerBound = full ? (fullBound ?? 0) : ((await sql.markOlderThan(tx, RECENT_WINDOW_SECONDS)) ?? fullBound ?? 0);
    const ids = await sql.insertDueDeliveries(tx, lowerBound, DISPATCH_BATCH, DELIVERY_BATCH);
    if (full) await sql.pruneMarks(tx, FULL_WINDOW_SECONDS);
    return ids;
  });
  if (outcome === null) {
    // The lock holder may not be the one whose turn for the full scan this was: give the turn back.
    if (full) await deps.redis.del(`${deps.config.redisPrefix}:webhook-dispatch-full`);
    return { scanned: false, full, created: 0 };
  }
  await enqueueDeliveries(deps, outcome);
  return { scanned: true, full, created: outcome.length };
}

// ---- delivery ---------------------------------------------------------------------------------------------

/** `Onramp-Signature: v1=<hex>` over "<unix seconds>.<raw body>"; receivers recompute it with their secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type { DeliveryForSend, ClaimedDelivery, AttemptOutcome, OverdueDelivery } from '../sql/hooks.js';
export {
  overdueDeliveries,
  recordLostAttempts,
  getDeliveryForSend,
  claimDeliveries,
  recordBatchAttempts,
  startAttempt,
  recordAttempt,
  markDeliverySucceeded,
  markDeliveryFailed,
  deleteHookById,
} from '../sql/hooks.js';

/** The bodies for many events (any agencies), keyed by event id: one build per agency, not per delivery. */
export async function buildDeliveryPayloads(db: Queryable, publicBaseUrl: string, events: PayloadEvent[]): Promise<Map<number, HookPayload>> {
  const byAgency = new Map<string, PayloadEvent[]>();
  for (const e of events) byAgency.set(e.agency_id, [...(byAgency.get(e.agency_id) ?? []), e]);
  const out = new Map<number, HookPayload>();
  for (const [agencyId, list] of byAgency) {
    const unique = [...new Map(list.map((e) => [e.id, e])).values()];
    for (const [id, payload] of await buildHookPayloads(db, agencyId, unique, publicBaseUrl)) out.set(id, payload);
  }
  return out;
}

/** The body a delivery POSTs for an event, or null when its entity no longer exists. */
export async function buildDeliveryPayload(db: Queryable, publicBaseUrl: string, event: PayloadEvent): Promise<HookPayload | null> {
  const map = await buildHookPayloads(db, event.agency_id, [event], publicBaseUrl);
  return map.get(event.id) ?? null;
}
