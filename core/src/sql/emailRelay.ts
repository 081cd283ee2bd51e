import type { Queryable } from '../db/pool.js';

/**
 * Up to `limit` emails waiting for the relay, taken out of email_relay. Run inside the transaction that
 * also hands them to the queue: if that fails, the rollback puts them back. SKIP LOCKED: relays in other
 * worker processes take other rows instead of waiting. In primary-key order: an index scan however long
 * the backlog, and oldest first where ids are time-ordered (UUIDv7, migration 0095).
 *
 * The rows taken are deleted by their ctid (a TID scan), not joined back by `email_id in (...)`: that
 * join was planned as a hash join over a scan of the whole table, dead rows included (nothing vacuums a
 * queue table between two steps under load); under the invite bench 19 ms a step of 240 rows against
 * 0.8 ms by ctid (pg_stat_statements), the second-largest cost in PostgreSQL.
 */
export async function takeRelayBatch(db: Queryable, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ email_id: string }>(
    `delete from email_relay
      where ctid = any(array(select ctid from email_relay order by email_id limit $1 for update skip locked))
     returning email_id`,
    [limit],
  );
  return rows.map((r) => r.email_id);
}
