import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
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
 * Deleting a hook removes its deliveries and attempts; a pending delivery job then finds nothing. The
 * deliveries go first, in their own statement: a delivery being settled locks its row and then its hook's,
 * and a delete that locked the hook first and then cascaded to that delivery would deadlock with it
 * (seen as a 503 on DELETE /v1/hooks/:id while deliveries were in flight). Same order, no cycle.
 */
export async function deleteHook(pool: Pool, agencyId: string, id: string): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    await lockDeliveriesInOrder(tx, 'agency_id = $1 and hook_id = $2', [agencyId, id]);
    await tx.query('delete from webhook_deliveries where agency_id = $1 and hook_id = $2', [agencyId, id]);
    const { rowCount } = await tx.query('delete from hooks where agency_id = $1 and id = $2', [agencyId, id]);
    return (rowCount ?? 0) > 0;
  });
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

export async function listDeliveries(db: Queryable, agencyId: string, hookId: string, afterSeq: number | null, limit: number): Promise<DeliveryListRow[]> {
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

export interface DispatchedDelivery {
  id: string;
  /** The deliver-webhooks job this delivery goes out in (null for rows written before batches existed). */
  batch_id: string | null;
}

/**
 * One delivery per (active hook, event of its type and agency, created at or after the hook) for events
 * with id > lowerBound, grouped in batches of `batchSize` (one deliver-webhooks job each). The unique
 * (hook_id, event_id) makes rescans and concurrent scans harmless; the not-exists keeps a rescan of the
 * window from writing anything.
 */
export async function insertDueDeliveries(tx: Queryable, lowerBound: number, limit: number, batchSize: number): Promise<DispatchedDelivery[]> {
  const { rows } = await tx.query<DispatchedDelivery>(
    `with due as (
       select h.id as hook_id, h.agency_id, e.id as event_id, (row_number() over (order by e.id, h.id) - 1) / $3 as grp
         from hooks h
         join events e on e.agency_id = h.agency_id and e.type = h.event and e.id > $1 and e.created_at >= h.created_at
        where h.status = 'active'
          and not exists (select 1 from webhook_deliveries d where d.hook_id = h.id and d.event_id = e.id)
        order by e.id, h.id
        limit $2
     ), batches as (
       select grp, gen_random_uuid() as batch_id from (select distinct grp from due) g
     )
     insert into webhook_deliveries (hook_id, agency_id, event_id, batch_id)
     select due.hook_id, due.agency_id, due.event_id, batches.batch_id from due join batches using (grp)
     on conflict (hook_id, event_id) do nothing
     returning id, batch_id`,
    [lowerBound, limit, batchSize],
  );
  return rows;
}

export interface OverdueDelivery {
  id: string;
  batch_id: string | null;
  hook_id: string;
  attempts: number;
}

/**
 * Pending deliveries of active hooks whose next attempt is overdue by more than `graceSeconds`: due at
 * the latest claim (or the row's creation, before any) plus the retry backoff after `attempts` attempts,
 * `backoffFirstMs` doubling up to the last retry's (deliveryBackoffMs; BullMQ's own retry delays are never
 * longer). A delivery
 * waiting for its retry is not overdue, whatever its attempt count; one still overdue has most likely lost
 * its job (the caller checks BullMQ). Oldest first.
 */
export async function overdueDeliveries(
  db: Queryable,
  o: { backoffFirstMs: number; graceSeconds: number; maxBackoffAttempts: number; limit: number },
): Promise<OverdueDelivery[]> {
  const { rows } = await db.query<OverdueDelivery>(
    `select d.id, d.batch_id, d.hook_id, d.attempts
       from webhook_deliveries d
       join hooks h on h.id = d.hook_id and h.agency_id = d.agency_id and h.status = 'active'
      where d.status = 'pending'
        and coalesce(d.attempted_at, d.created_at)
            + case when d.attempts = 0 then interval '0' else make_interval(secs => $1::float8 / 1000 * power(2, least(d.attempts, $4::int) - 1)) end
            < now() - make_interval(secs => $2)
      order by d.created_at limit $3`,
    [o.backoffFirstMs, o.graceSeconds, o.limit, o.maxBackoffAttempts],
  );
  return rows;
}

/**
 * A delivery's attempts that were claimed but have no outcome (the job making them died before writing
 * it) get a row saying so, so that its attempt log accounts for every attempt. Returns how many.
 */
export async function recordLostAttempts(db: Queryable, deliveryId: string, error: string): Promise<number> {
  const { rowCount } = await db.query(
    `insert into webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
     select d.id, g, null, $2, null from webhook_deliveries d, generate_series(1, d.attempts) g
      where d.id = $1 and d.status = 'pending'
     on conflict (delivery_id, attempt) do nothing`,
    [deliveryId, error],
  );
  return rowCount ?? 0;
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
    `update webhook_deliveries set attempts = attempts + 1, attempted_at = now() where id = $1 and status = 'pending' returning attempts`,
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
export async function markDeliveryFailed(db: Queryable, d: { deliveryId: string; hookId: string; error: string; disableAfter: number }): Promise<boolean> {
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

/** A receiver's 410 Gone: the hook goes, deliveries first (see deleteHook for why). */
export async function deleteHookById(pool: Pool, hookId: string): Promise<void> {
  await withTransaction(pool, async (tx) => {
    await lockDeliveriesInOrder(tx, 'hook_id = $1', [hookId]);
    await tx.query('delete from webhook_deliveries where hook_id = $1', [hookId]);
    await tx.query('delete from hooks where id = $1', [hookId]);
  });
}

// ---- batched first attempts ---------------------------------------------------------------------------

export interface ClaimedDelivery {
  id: string;
  agency_id: string;
  /** The attempt number this claim took. */
  attempt: number;
  hook: HookRow;
  event: EventRow;
}

/**
 * Claims the next attempt of each pending delivery among `ids` whose hook is still active, in one
 * statement, and returns them with their hook and event. Settled deliveries and those of disabled or
 * deleted hooks are left as they are (a rerun of the batch is a no-op for them).
 */
export async function claimDeliveries(db: Queryable, ids: string[]): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{
    id: string;
    agency_id: string;
    attempts: number;
    hook: Omit<HookRow, 'created_at'> & { created_at: string };
    event: Omit<EventRow, 'created_at'> & { created_at: string };
  }>(
    `with claimed as (
       update webhook_deliveries d set attempts = d.attempts + 1, attempted_at = now()
        where d.id = any($1::uuid[]) and d.status = 'pending'
          and exists (select 1 from hooks h where h.id = d.hook_id and h.agency_id = d.agency_id and h.status = 'active')
        returning d.id, d.agency_id, d.attempts, d.hook_id, d.event_id
     )
     select c.id, c.agency_id, c.attempts, row_to_json(h) as hook, row_to_json(e) as event
       from claimed c
       join hooks h on h.id = c.hook_id and h.agency_id = c.agency_id
       join events e on e.id = c.event_id and e.agency_id = c.agency_id`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id,
    agency_id: r.agency_id,
    attempt: r.attempts,
    hook: { ...r.hook, created_at: new Date(r.hook.created_at) },
    event: { ...r.event, id: Number(r.event.id), created_at: new Date(r.event.created_at) },
  }));
}

export interface AttemptOutcome {
  deliveryId: string;
  hookId: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  succeeded: boolean;
}

/**
 * Writers of many delivery rows lock them in id order first (then their hooks): two of them, or one and a
 * hook's delete, then wait for each other instead of deadlocking.
 */
async function lockDeliveriesInOrder(tx: Queryable, where: string, params: unknown[]): Promise<void> {
  await tx.query(`select id from webhook_deliveries where ${where} order by id for update`, params);
}

/**
 * Every attempt of a batch recorded, the succeeded deliveries settled and their hooks' failure runs reset,
 * in one transaction: the deliveries log never shows a successful attempt on a delivery still pending.
 */
export async function recordBatchAttempts(pool: Pool, outcomes: AttemptOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await withTransaction(pool, async (db) => {
    await lockDeliveriesInOrder(db, 'id = any($1::uuid[])', [outcomes.map((o) => o.deliveryId)]);
    await db.query(
      `with o as (
       select * from unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[], $6::int[], $7::boolean[])
         as t(delivery_id, hook_id, attempt, status_code, error, duration_ms, succeeded)
     ), attempts as (
       insert into webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
       select delivery_id, attempt, status_code, error, duration_ms from o
       on conflict (delivery_id, attempt) do nothing
     ), deliveries as (
       update webhook_deliveries d
          set last_status_code = o.status_code,
              last_error = o.error,
              status = case when o.succeeded then 'succeeded' else d.status end,
              delivered_at = case when o.succeeded then now() else d.delivered_at end
         from o where d.id = o.delivery_id
     )
     update hooks h set consecutive_failures = 0
      where h.id in (select hook_id from o where succeeded) and h.consecutive_failures <> 0`,
      [
        outcomes.map((o) => o.deliveryId),
        outcomes.map((o) => o.hookId),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.statusCode),
        outcomes.map((o) => o.error),
        outcomes.map((o) => o.durationMs),
        outcomes.map((o) => o.succeeded),
      ],
    );
  });
}
