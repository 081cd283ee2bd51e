import type { Queryable } from '../db/pool.js';
import { brandingOf, type AgencyBranding } from '../usecases/accept.js';

export interface PortalTask {
  id: string;
  title: string;
  description: string | null;
  /** YYYY-MM-DD */
  dueDate: string | null;
}

export interface PortalView {
  agency: AgencyBranding;
  client: { id: string; firstName: string; lastName: string; email: string };
  projects: Array<{ id: string; name: string; archived: boolean; tasks: PortalTask[] }>;
}

/**
 * The signed-in client's home: their agency, the projects they are a member of, and in each only the tasks
 * assigned to them. Every query is pinned to the session's agency and client.
 */
export async function getPortalView(db: Queryable, agencyId: string, clientId: string): Promise<PortalView | null> {
  const { rows: heads } = await db.query<{
    agency_name: string;
    brand_color: string;
    logo_url: string | null;
    first_name: string;
    last_name: string;
    email: string;
  }>(
    `select coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url, c.first_name, c.last_name, c.email
       from clients c join agencies a on a.id = c.agency_id
      where c.agency_id = $1 and c.id = $2`,
    [agencyId, clientId],
  );
  const head = heads[0];
  if (!head) return null;
  const { rows: projects } = await db.query<{ id: string; name: string; archived: boolean }>(
    `select p.id, p.name, (p.archived_at is not null) as archived
       from memberships m join projects p on p.id = m.project_id and p.agency_id = m.agency_id
      where m.agency_id = $1 and m.client_id = $2
      order by p.archived_at nulls first, p.name, p.seq`,
    [agencyId, clientId],
  );
  const { rows: tasks } = await db.query<{ id: string; project_id: string; title: string; description: string | null; due_date: string | null }>(
    `select t.id, t.project_id, t.title, t.description, t.due_date
       from task_assignees ta join tasks t on t.id = ta.task_id and t.agency_id = ta.agency_id
      where ta.agency_id = $1 and ta.client_id = $2 and t.project_id = any($3::uuid[])
      order by t.position, t.seq`,
    [agencyId, clientId, projects.map((p) => p.id)],
  );
  return {
    agency: brandingOf({ agency_id: agencyId, ...head }),
    client: { id: clientId, firstName: head.first_name, lastName: head.last_name, email: head.email },
    projects: projects.map((p) => ({
      ...p,
      tasks: tasks
        .filter((t) => t.project_id === p.id)
        .map((t) => ({ id: t.id, title: t.title, description: t.description, dueDate: t.due_date })),
    })),
  };
}
