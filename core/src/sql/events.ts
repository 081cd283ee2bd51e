import type { Queryable } from '../db/pool.js';
import { parseEventData, type EventData, type EventType } from '../events/catalog.js';

/**
 * The data of a task.assigned event written by a set-based statement, from the task as `t` and the client
 * as `c`: the API's assignments and an import's use this one shape.
 */
export const taskAssignedData = {
  project_id: 't.project_id',
  task_id: 't.id',
  task_title: 't.title',
  client_id: 'c.id',
  email: 'c.email',
  first_name: 'c.first_name',
  last_name: 'c.last_name',
} as const satisfies Record<keyof EventData<'task.assigned'>, string>;

export interface EventRow {
  id: number;
  agency_id: string;
  type: EventType;
  subject_id: string | null;
  actor_id: string | null;
  data: Record<string, unknown>;
  created_at: Date;
}

type EventInput<T extends EventType> = { agencyId: string; type: T; subjectId?: string | null; actorId?: string | null } & (EventData<T> extends Record<
  string,
  never
>
  ? { data?: EventData<T> }
  : { data: EventData<T> });

/**
 * Call inside the transaction that makes the change, so the feed never lies. The data is parsed against
 * the event catalog first: a shape the catalog does not declare is a bug, not an event.
 */
export async function appendEvent<T extends EventType>(db: Queryable, e: EventInput<T>): Promise<EventRow> {
  const data = parseEventData(e.type, e.data ?? {});
  const { rows } = await db.query<EventRow>(
    `insert into events (agency_id, type, subject_id, actor_id, data) values ($1, $2, $3, $4, $5)
     returning id, agency_id, type, subject_id, actor_id, data, created_at`,
    [e.agencyId, e.type, e.subjectId ?? null, e.actorId ?? null, JSON.stringify(data)],
  );
  return rows[0]!;
}

export async function listEvents(db: Queryable, q: { agencyId: string; type?: EventType | undefined; after: number; limit: number }): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `select id, agency_id, type, subject_id, actor_id, data, created_at from events
      where agency_id = $1 and id > $2 and ($3::text is null or type = $3)
      order by id asc limit $4`,
    [q.agencyId, q.after, q.type ?? null, q.limit],
  );
  return rows;
}

/** The newest events of one type that have a subject, newest first (the polling feeds). */
export async function newestEventsOfType(
  db: Queryable,
  agencyId: string,
  type: EventType,
  limit: number,
): Promise<Array<Pick<EventRow, 'id' | 'agency_id' | 'type' | 'subject_id' | 'created_at'>>> {
  const { rows } = await db.query<Pick<EventRow, 'id' | 'agency_id' | 'type' | 'subject_id' | 'created_at'>>(
    `select id, agency_id, type, subject_id, created_at from events
      where agency_id = $1 and type = $2 and subject_id is not null
      order by id desc limit $3`,
    [agencyId, type, limit],
  );
  return rows;
}
