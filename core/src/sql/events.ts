import type { Queryable } from '../db/pool.js';

export const eventTypes = [
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'invitation.expired',
  'invitation.resent',
  'invitation.reminded',
  'client.added_to_project',
  'client.removed_from_project',
  'client.deactivated',
  'client.reactivated',
  'project.created',
  'task.assigned',
  'import.completed',
] as const;
export type EventType = (typeof eventTypes)[number];

export interface EventRow {
  id: number;
  agency_id: string;
  type: EventType;
  subject_id: string | null;
  actor_id: string | null;
  data: Record<string, unknown>;
  created_at: Date;
}

/** Call inside the transaction that makes the change, so the feed never lies. */
export async function appendEvent(
  db: Queryable,
  e: { agencyId: string; type: EventType; subjectId?: string | null; actorId?: string | null; data?: Record<string, unknown> },
): Promise<EventRow> {
  const { rows } = await db.query<EventRow>(
    `insert into events (agency_id, type, subject_id, actor_id, data) values ($1, $2, $3, $4, $5)
     returning id, agency_id, type, subject_id, actor_id, data, created_at`,
    [e.agencyId, e.type, e.subjectId ?? null, e.actorId ?? null, JSON.stringify(e.data ?? {})],
  );
  return rows[0]!;
}

export async function listEvents(
  db: Queryable,
  q: { agencyId: string; type?: EventType | undefined; after: number; limit: number },
): Promise<EventRow[]> {
  const { rows } = await db.query<EventRow>(
    `select id, agency_id, type, subject_id, actor_id, data, created_at from events
      where agency_id = $1 and id > $2 and ($3::text is null or type = $3)
      order by id asc limit $4`,
    [q.agencyId, q.after, q.type ?? null, q.limit],
  );
  return rows;
}
