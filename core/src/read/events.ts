import type { Queryable } from '../db/pool.js';
import type { EventType } from '../events/catalog.js';
import { listEvents } from '../sql/events.js';

export interface EventJson {
  id: string;
  type: EventType;
  subject_id: string | null;
  actor_id: string | null;
  data: unknown;
  created_at: string;
}

/** GET /v1/events: the agency's events after the cursor, ascending by id; `next_cursor` reads on (the same cursor when nothing is new). */
export async function listEventsJson(
  db: Queryable,
  q: { agencyId: string; type?: EventType | undefined; after: number; limit: number },
): Promise<{ data: EventJson[]; next_cursor: string }> {
  const rows = await listEvents(db, q);
  return {
    data: rows.map((e) => ({
      id: String(e.id),
      type: e.type,
      subject_id: e.subject_id,
      actor_id: e.actor_id,
      data: e.data,
      created_at: e.created_at.toISOString(),
    })),
    next_cursor: rows.length ? String(rows[rows.length - 1]!.id) : String(q.after),
  };
}
