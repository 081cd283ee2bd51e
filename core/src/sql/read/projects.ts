import type { Queryable } from '../../db/pool.js';
import type { TaskJson } from '../../read/resources.js';

/** SQL of the project and task read models (core/src/read/projects.ts shapes the rows into JSON). */

export interface ProjectRow {
  seq: number;
  id: string;
  agency_id: string;
  name: string;
  external_id: string | null;
  template_id: string | null;
  archived_at: Date | null;
  created_at: Date;
}

export const projectColumns = 'seq, id, agency_id, name, external_id, template_id, archived_at, created_at';

export async function getProjectRow(db: Queryable, agencyId: string, id: string): Promise<ProjectRow | null> {
  const { rows } = await db.query<ProjectRow>(`select ${projectColumns} from projects where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

/**
 * By primary key alone, the agency checked on the rows found (OFFSET 0 keeps the check out of the lookup):
 * with `agency_id = $1` beside the ids, the planner could read all the agency's projects (no statistics on
 * agency_id, migration 0097).
 */
export async function selectProjectRows(db: Queryable, agencyId: string, ids: string[]): Promise<ProjectRow[]> {
  const { rows } = await db.query<ProjectRow>(
    `select ${projectColumns} from (select ${projectColumns} from projects where id = any($2::uuid[]) offset 0) p where agency_id = $1`,
    [agencyId, ids],
  );
  return rows;
}

/** Newest first, `limit` rows with seq below `beforeSeq` when given. */
export async function listProjectRows(
  db: Queryable,
  agencyId: string,
  filters: { name?: string | undefined; externalId?: string | undefined; includeArchived?: boolean | undefined },
  page: { limit: number; beforeSeq: number | null },
): Promise<ProjectRow[]> {
  const where = ['agency_id = $1'];
  const values: unknown[] = [agencyId];
  if (page.beforeSeq !== null) {
    values.push(page.beforeSeq);
    where.push(`seq < $${values.length}`);
  }
  if (filters.name !== undefined) {
    values.push(filters.name);
    where.push(`name = $${values.length}`);
  }
  if (filters.externalId !== undefined) {
    values.push(filters.externalId);
    where.push(`external_id = $${values.length}`);
  }
  if (!filters.includeArchived) where.push('archived_at is null');
  values.push(page.limit);
  const { rows } = await db.query<ProjectRow>(
    `select ${projectColumns} from projects where ${where.join(' and ')} order by seq desc limit $${values.length}`,
    values,
  );
  return rows;
}

export interface TaskRow {
  seq: number;
  id: string;
  project_id: string;
  title: string;
  description: string | null;
  due_date: string | null;
  position: number;
  assignees: TaskJson['assignees'];
}

// Each assignee's client by its primary key (OFFSET 0: a probe per assignee): as a plain join, before ANALYZE the
// planner hashed a task's few assignees against a scan of every client (76 buffers a task at 3,000 clients).
const taskSelect = `
  select t.seq, t.id, t.project_id, t.title, t.description, t.due_date, t.position,
         coalesce((select json_agg(json_build_object('client_id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name) order by a.created_at, c.email)
                     from task_assignees a cross join lateral (select id, email, first_name, last_name from clients where id = a.client_id offset 0) c
                    where a.task_id = t.id), '[]'::json) as assignees
    from tasks t`;

/** Tasks of a project in their template order, each with its assignees. */
export async function listTaskRows(db: Queryable, agencyId: string, projectId: string): Promise<TaskRow[]> {
  const { rows } = await db.query<TaskRow>(`${taskSelect} where t.agency_id = $1 and t.project_id = $2 order by t.position, t.seq`, [agencyId, projectId]);
  return rows;
}

/** Tasks page in position order; `afterSeq` is the last task seen, within a (position, seq) ordering. */
export async function pageTaskRows(db: Queryable, agencyId: string, projectId: string, page: { limit: number; afterSeq: number | null }): Promise<TaskRow[]> {
  const { rows } = await db.query<TaskRow>(
    `${taskSelect} where t.agency_id = $1 and t.project_id = $2
       and ($3::bigint is null or (t.position, t.seq) > (select position, seq from tasks where seq = $3))
     order by t.position, t.seq limit $4`,
    [agencyId, projectId, page.afterSeq, page.limit],
  );
  return rows;
}

export async function selectTaskRow(db: Queryable, agencyId: string, projectId: string, taskId: string): Promise<TaskRow | null> {
  const { rows } = await db.query<TaskRow>(`${taskSelect} where t.agency_id = $1 and t.project_id = $2 and t.id = $3`, [agencyId, projectId, taskId]);
  return rows[0] ?? null;
}
