import type { Queryable } from '../../db/pool.js';

/** SQL of the client portal (core/src/read/portal.ts builds the page's view). Every query is pinned to one agency and client. */

export interface PortalHeadRow {
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  first_name: string;
  last_name: string;
  email: string;
}

export async function selectPortalHead(db: Queryable, agencyId: string, clientId: string): Promise<PortalHeadRow | null> {
  const { rows } = await db.query<PortalHeadRow>(
    `select coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url, c.first_name, c.last_name, c.email
       from clients c join agencies a on a.id = c.agency_id
      where c.agency_id = $1 and c.id = $2`,
    [agencyId, clientId],
  );
  return rows[0] ?? null;
}

/**
 * The projects the client is a member of: live ones first, by name. Each project is found by its primary key
 * and its agency checked on the row (OFFSET 0 keeps the check out of the lookup): joined on (id, agency_id),
 * the planner could read all the agency's projects and probe the client's membership of each (no statistics
 * on agency_id, migration 0097): 813 buffers a page view at 400 projects, before ANALYZE.
 */
export async function selectPortalProjects(db: Queryable, agencyId: string, clientId: string): Promise<Array<{ id: string; name: string; archived: boolean }>> {
  const { rows } = await db.query<{ id: string; name: string; archived: boolean }>(
    `select p.id, p.name, (p.archived_at is not null) as archived
       from memberships m
       join lateral (select id, name, archived_at, seq, agency_id from projects where id = m.project_id offset 0) p on p.agency_id = m.agency_id
      where m.agency_id = $1 and m.client_id = $2
      order by p.archived_at nulls first, p.name, p.seq`,
    [agencyId, clientId],
  );
  return rows;
}

/** The client's own task assignments in those projects, in template order. */
export async function selectPortalTasks(
  db: Queryable,
  agencyId: string,
  clientId: string,
  projectIds: string[],
): Promise<Array<{ id: string; project_id: string; title: string; description: string | null; due_date: string | null }>> {
  const { rows } = await db.query<{ id: string; project_id: string; title: string; description: string | null; due_date: string | null }>(
    `select t.id, t.project_id, t.title, t.description, t.due_date
       from task_assignees ta join tasks t on t.id = ta.task_id and t.agency_id = ta.agency_id
      where ta.agency_id = $1 and ta.client_id = $2 and t.project_id = any($3::uuid[])
      order by t.position, t.seq`,
    [agencyId, clientId, projectIds],
  );
  return rows;
}
