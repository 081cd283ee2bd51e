import type { Queryable } from '../db/pool.js';
import { selectPortalHead, selectPortalProjects, selectPortalTasks } from '../sql/read/portal.js';
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
  const head = await selectPortalHead(db, agencyId, clientId);
  if (!head) return null;
  const projects = await selectPortalProjects(db, agencyId, clientId);
  const tasks = await selectPortalTasks(
    db,
    agencyId,
    clientId,
    projects.map((p) => p.id),
  );
  return {
    agency: brandingOf({ agency_id: agencyId, ...head }),
    client: { id: clientId, firstName: head.first_name, lastName: head.last_name, email: head.email },
    projects: projects.map((p) => ({
      ...p,
      tasks: tasks.filter((t) => t.project_id === p.id).map((t) => ({ id: t.id, title: t.title, description: t.description, dueDate: t.due_date })),
    })),
  };
}
