import type { Queryable } from '../db/pool.js';
import { insertEventsSql } from '../events/catalog.js';
import { taskAssignedData } from './events.js';

/**
 * Task assignments, set-based; an existing one is left as it is. Each new one gets its task.assigned event
 * in the same statement. Returns the pairs that were new.
 */
export async function insertTaskAssignments(
  db: Queryable,
  input: { agencyId: string; actorId: string; projectId: string; taskIds: string[]; clientIds: string[] },
): Promise<Array<{ task_id: string; client_id: string }>> {
  const { rows } = await db.query<{ task_id: string; client_id: string }>(
    `with ins as (
       insert into task_assignees (task_id, client_id, agency_id)
       select u.task_id, u.client_id, $1 from unnest($2::uuid[], $3::uuid[]) as u(task_id, client_id)
       on conflict do nothing
       returning task_id, client_id
     ), ev as (
       ${insertEventsSql('task.assigned', {
         agencyId: '$1',
         subjectId: 'ins.task_id',
         actorId: '$4',
         data: { ...taskAssignedData, project_id: '$5::uuid' },
         from: 'from ins join tasks t on t.id = ins.task_id join clients c on c.id = ins.client_id',
       })}
     )
     select task_id, client_id from ins`,
    [input.agencyId, input.taskIds, input.clientIds, input.actorId, input.projectId],
  );
  return rows;
}

export interface TaskRef {
  id: string;
  title: string;
}

export async function listProjectTaskRefs(db: Queryable, projectId: string): Promise<TaskRef[]> {
  const { rows } = await db.query<TaskRef>('select id, title from tasks where project_id = $1', [projectId]);
  return rows;
}

/** The new task goes last in the project; null when the project is not the agency's. */
export async function insertTask(
  db: Queryable,
  agencyId: string,
  projectId: string,
  input: { title: string; description: string | null; dueDate: string | null },
): Promise<{ id: string } | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `insert into tasks (agency_id, project_id, position, title, description, due_date)
       select p.agency_id, p.id, coalesce((select max(t.position) from tasks t where t.project_id = p.id), 0) + 1, $3, $4, $5
         from projects p where p.agency_id = $1 and p.id = $2
       returning id`,
    [agencyId, projectId, input.title, input.description, input.dueDate],
  );
  return rows[0];
}

/** Only the fields given change (`undefined` leaves one as it is, `null` clears it); false when no such task. */
export async function updateTaskRow(
  db: Queryable,
  agencyId: string,
  projectId: string,
  taskId: string,
  input: { title?: string | undefined; description?: string | null | undefined; dueDate?: string | null | undefined; position?: number | undefined },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `update tasks set title = coalesce($4, title),
              description = case when $5::boolean then $6 else description end,
              due_date = case when $7::boolean then $8::date else due_date end,
              position = coalesce($9, position),
              updated_at = now()
        where agency_id = $1 and project_id = $2 and id = $3`,
    [
      agencyId,
      projectId,
      taskId,
      input.title ?? null,
      input.description !== undefined,
      input.description ?? null,
      input.dueDate !== undefined,
      input.dueDate ?? null,
      input.position ?? null,
    ],
  );
  return Boolean(rowCount);
}

export async function deleteTaskRow(db: Queryable, agencyId: string, projectId: string, taskId: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from tasks where agency_id = $1 and project_id = $2 and id = $3', [agencyId, projectId, taskId]);
  return Boolean(rowCount);
}

export async function taskExistsInProject(db: Queryable, projectId: string, taskId: string): Promise<boolean> {
  const { rowCount } = await db.query('select 1 from tasks where project_id = $1 and id = $2', [projectId, taskId]);
  return Boolean(rowCount);
}

/** Of these ids, the project's tasks. */
export async function findProjectTaskIds(db: Queryable, projectId: string, taskIds: string[]): Promise<Array<{ id: string }>> {
  const { rows } = await db.query<{ id: string }>('select id from tasks where project_id = $1 and id = any($2::uuid[])', [projectId, taskIds]);
  return rows;
}

export async function deleteTaskAssignment(db: Queryable, agencyId: string, projectId: string, taskId: string, clientId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `delete from task_assignees a using tasks t
      where a.task_id = t.id and t.agency_id = $1 and t.project_id = $2 and t.id = $3 and a.client_id = $4`,
    [agencyId, projectId, taskId, clientId],
  );
  return Boolean(rowCount);
}
