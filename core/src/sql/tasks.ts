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
