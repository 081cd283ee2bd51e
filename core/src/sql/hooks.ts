import type { Queryable } from '../db/pool.js';
import type { EventRow } from './events.js';

export const hookEvents = ['invitation.accepted', 'invitation.created', 'project.created', 'import.completed'] as const;
export type HookEvent = (typeof hookEvents)[number];

export interface HookRow {
  seq: number;
  id: string;
  agency_id: string;
  created_by: string | null;
  event: HookEvent;
  target_url: string;
  secret: string;
  status: 'active' | 'disabled';
  disabled_reason: string | null;
  consecutive_failures: number;
  created_at: Date;
}

const hookColumns = 'seq, id, agency_id, created_by, event, target_url, secret, status, disabled_reason, consecutive_failures, created_at';

export async function insertHook(
  db: Queryable,
  h: { agencyId: string; createdBy: string | null; event: HookEvent; targetUrl: string; secret: string },
): Promise<HookRow> {
  const { rows } = await db.query<HookRow>(
    `insert into hooks (agency_id, created_by, event, target_url, secret) values ($1, $2, $3, $4, $5) returning ${hookColumns}`,
    [h.agencyId, h.createdBy, h.event, h.targetUrl, h.secret],
  );
  return rows[0]!;
}

export async function getHook(db: Queryable, agencyId: string, id: string): Promise<HookRow | null> {
  const { rows } = await db.query<HookRow>(`select ${hookColumns} from hooks where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export async function listHooks(db: Queryable, agencyId: string, afterSeq: number | null, limit: number): Promise<HookRow[]> {
  const { rows } = await db.query<HookRow>(
    `select ${hookColumns} from hooks where agency_id = $1 and ($2::bigint is null or seq < $2) order by seq desc limit $3`,
    [agencyId, afterSeq, limit],
  );
  return rows;
}

/**
 * Recording a delivery's success locks the delivery, then the hook (markDeliverySucceeded). Deleting the hook
 * locked the hook, then its deliveries (the cascade): two such transactions deadlocked. The deliveries are
 * locked first here, in the worker's order, so the two wait for each other instead.
 */
const lockDeliveriesThenDelete = (hookWhere: string) => `
  with deliveries as materialized (select id from webhook_deliveries where hook_id = $1 order by id for update)
  delete from hooks where ${hookWhere} and (select count(*) from deliveries) >= 0`;

/** Deleting a hook cascades to its deliveries and attempts; a pending delivery job then finds nothing. */
export async function deleteHook(db: Queryable, agencyId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query(lockDeliveriesThenDelete('id = $1 and agency_id = $2'), [id, agencyId]);
  return (rowCount ?? 0) > 0;
}

interface AttemptRow {
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: string;
}

export interface DeliveryListRow {
  seq: number;
  id: string;
  hook_id: string;
  event_id: number;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  attempt_log: AttemptRow[];
}

export async function listDeliveries(
  db: Queryable,
  agencyId: string,
  hookId: string,
  afterSeq: number | null,
  limit: number,
): Promise<DeliveryListRow[]> {
  const { rows } = await db.query<DeliveryListRow>(
    `select d.seq, d.id, d.hook_id, d.event_id, e.type as event_type, d.status, d.last_status_code, d.last_error,
            d.created_at, d.delivered_at,
            coalesce((select json_agg(json_build_object('attempt', a.attempt, 'status_code', a.status_code, 'error', a.error,
                                                        'duration_ms', a.duration_ms, 'created_at', a.created_at) order by a.attempt)
                        from webhook_attempts a where a.delivery_id = d.id), '[]'::json) as attempt_log
       from webhook_deliveries d join events e on e.id = d.event_id
      where d.agency_id = $1 and d.hook_id = $2 and ($3::bigint is null or d.seq < $3)
      order by d.seq desc limit $4`,
    [agencyId, hookId, afterSeq, limit],
  );
  return rows;
}

// ---- dispatch ---------------------------------------------------------------------------------------------

/** Fixed key: every worker process contends for the same lock, so one scan runs at a time. */
const DISPATCH_LOCK = 7_413_920_630;

export async function tryDispatchLock(tx: Queryable): Promise<boolean> {
  const { rows } = await tx.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [DISPATCH_LOCK]);
  return rows[0]!.ok;
}

/** Record the highest event id visible now; see 0030_hooks_dispatch.sql for why. */
export async function insertMark(tx: Queryable): Promise<void> {
  await tx.query(
    `insert into webhook_dispatch_marks (observed_at, max_event_id)
     select clock_timestamp(), coalesce((select max(id) from events), 0)
     on conflict (observed_at) do nothing`,
  );
}

/** The newest mark taken at least `seconds` ago, or null when the dispatcher has not run that long. */
export async function markOlderThan(tx: Queryable, seconds: number): Promise<number | null> {
  const { rows } = await tx.query<{ max_event_id: number }>(
    `select max_event_id from webhook_dispatch_marks where observed_at <= clock_timestamp() - make_interval(secs => $1)
      order by observed_at desc limit 1`,
    [seconds],
  );
  return rows[0]?.max_event_id ?? null;
}

/**
 * Drop marks older than the one a `seconds` window needs. The newest old-enough mark is kept, so after
 * downtime the window still reaches back to before the dispatcher stopped.
 */
export async function pruneMarks(tx: Queryable, seconds: number): Promise<void> {
  await tx.query(
    `delete from webhook_dispatch_marks
      where observed_at < (select max(observed_at) from webhook_dispatch_marks
                            where observed_at <= clock_timestamp() - make_interval(secs => $1))`,
    [seconds],
  );
}

/**
 * One delivery per (active hook, event of its type and agency, created at or after the hook) for events
 * with id > lowerBound. The unique (hook_id, event_id) makes rescans and concurrent scans harmless; the
 * not-exists keeps a rescan of the window from writing anything.
 */
export async function insertDueDeliveries(tx: Queryable, lowerBound: number, limit: number): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `insert into webhook_deliveries (hook_id, agency_id, event_id)
     select h.id, h.agency_id, e.id
       from hooks h
       join events e on e.agency_id = h.agency_id and e.type = h.event and e.id > $1 and e.created_at >= h.created_at
      where h.status = 'active'
        and not exists (select 1 from webhook_deliveries d where d.hook_id = h.id and d.event_id = e.id)
      order by e.id
      limit $2
     on conflict (hook_id, event_id) do nothing
     returning id`,
    [lowerBound, limit],
  );
  return rows.map((r) => r.id);
}

/** Pending deliveries that never got an attempt: their job may have been lost between commit and enqueue. */
export async function stalePendingDeliveries(db: Queryable, olderThanSeconds: number, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from webhook_deliveries
      where status = 'pending' and attempts = 0 and created_at < now() - make_interval(secs => $1)
      order by created_at limit $2`,
    [olderThanSeconds, limit],
  );
  return rows.map((r) => r.id);
}

// ---- delivery ---------------------------------------------------------------------------------------------

export interface DeliveryForSend {
  id: string;
  agency_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  hook: HookRow;
  event: EventRow;
}

export async function getDeliveryForSend(db: Queryable, deliveryId: string): Promise<DeliveryForSend | null> {
  const { rows } = await db.query<{
    id: string;
    agency_id: string;
    status: DeliveryForSend['status'];
    attempts: number;
    hook: Omit<HookRow, 'created_at'> & { created_at: string };
    event: Omit<EventRow, 'created_at'> & { created_at: string };
  }>(
    `select d.id, d.agency_id, d.status, d.attempts, row_to_json(h) as hook, row_to_json(e) as event
       from webhook_deliveries d
       join hooks h on h.id = d.hook_id and h.agency_id = d.agency_id
       join events e on e.id = d.event_id and e.agency_id = d.agency_id
      where d.id = $1`,
    [deliveryId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: r.id,
    agency_id: r.agency_id,
    status: r.status,
    attempts: r.attempts,
    hook: { ...r.hook, created_at: new Date(r.hook.created_at) },
    event: { ...r.event, id: Number(r.event.id), created_at: new Date(r.event.created_at) },
  };
}

/** Claims the next attempt number; the attempt row is written once the outcome is known. */
export async function startAttempt(db: Queryable, deliveryId: string): Promise<number | null> {
  const { rows } = await db.query<{ attempts: number }>(
    `update webhook_deliveries set attempts = attempts + 1 where id = $1 and status = 'pending' returning attempts`,
    [deliveryId],
  );
  return rows[0]?.attempts ?? null;
}

export async function recordAttempt(
  db: Queryable,
  a: { deliveryId: string; attempt: number; statusCode: number | null; error: string | null; durationMs: number },
): Promise<void> {
  await db.query(
    `insert into webhook_attempts (delivery_id, attempt, status_code, error, duration_ms) values ($1, $2, $3, $4, $5)
     on conflict (delivery_id, attempt) do nothing`,
    [a.deliveryId, a.attempt, a.statusCode, a.error, a.durationMs],
  );
  await db.query(`update webhook_deliveries set last_status_code = $2, last_error = $3 where id = $1`, [a.deliveryId, a.statusCode, a.error]);
}

export async function markDeliverySucceeded(db: Queryable, deliveryId: string, hookId: string): Promise<void> {
  await db.query(`update webhook_deliveries set status = 'succeeded', delivered_at = now(), last_error = null where id = $1`, [deliveryId]);
  await db.query(`update hooks set consecutive_failures = 0 where id = $1 and consecutive_failures <> 0`, [hookId]);
}

/**
 * A delivery failed for good. The hook's run of failed deliveries grows; at `disableAfter` the hook is
 * disabled with a reason its owner sees in GET /v1/hooks. Returns whether this call disabled it.
 */
export async function markDeliveryFailed(
  db: Queryable,
  d: { deliveryId: string; hookId: string; error: string; disableAfter: number },
): Promise<boolean> {
  const { rowCount } = await db.query(`update webhook_deliveries set status = 'failed', last_error = $2 where id = $1 and status = 'pending'`, [
    d.deliveryId,
    d.error,
  ]);
  if (!rowCount) return false;
  const { rows } = await db.query<{ disabled: boolean }>(
    `update hooks set consecutive_failures = consecutive_failures + 1,
                      status = case when consecutive_failures + 1 >= $2 then 'disabled' else status end,
                      disabled_reason = case when consecutive_failures + 1 >= $2 and status = 'active'
                                             then format('disabled after %s deliveries in a row failed; last: %s', consecutive_failures + 1, $3::text)
                                             else disabled_reason end
      where id = $1
      returning status = 'disabled' as disabled`,
    [d.hookId, d.disableAfter, d.error],
  );
  return rows[0]?.disabled ?? false;
}

export async function deleteHookById(db: Queryable, hookId: string): Promise<void> {
  await db.query(lockDeliveriesThenDelete('id = $1'), [hookId]);
}
