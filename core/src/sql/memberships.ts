import type { Queryable } from '../db/pool.js';

/** A client's access to a project; adding an existing member changes nothing (and answers false). */
export async function insertMembership(db: Queryable, input: { projectId: string; clientId: string; agencyId: string }): Promise<boolean> {
  const added = await db.query('insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3) on conflict do nothing', [
    input.projectId,
    input.clientId,
    input.agencyId,
  ]);
  return Boolean(added.rowCount);
}

/** False when the client was not a member of the project. */
export async function deleteMembership(db: Queryable, agencyId: string, projectId: string, clientId: string): Promise<boolean> {
  const removed = await db.query('delete from memberships where agency_id = $1 and project_id = $2 and client_id = $3', [agencyId, projectId, clientId]);
  return Boolean(removed.rowCount);
}

/** The client's task assignments in the project go with the membership. */
export async function deleteClientAssignmentsInProject(db: Queryable, projectId: string, clientId: string): Promise<void> {
  await db.query(`delete from task_assignees ta using tasks t where ta.task_id = t.id and t.project_id = $1 and ta.client_id = $2`, [projectId, clientId]);
}
