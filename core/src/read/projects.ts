import type { Queryable } from '../db/pool.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ProjectJson, TaskJson } from './resources.js';

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

export function toProjectJson(r: ProjectRow): ProjectJson {
  return {
    id: r.id,
    name: r.name,
    external_id: r.external_id,
    template_id: r.template_id,
    archived: r.archived_at !== null,
    created_at: r.created_at.toISOString(),
  };
}

export async function getProjectRow(db: Queryable, agencyId: string, id: string): Promise<ProjectRow | null> {
  const { rows } = await db.query<ProjectRow>(`select ${projectColumns} from projects where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export async function getProjectJson(db: Queryable, agencyId: string, id: string): Promise<ProjectJson | null> {
  const row = await getProjectRow(db, agencyId, id);
  return row ? toProjectJson(row) : null;
}

export async function listProjectsJson(
  db: Queryable,
  agencyId: string,
  filters: { name?: string | undefined; externalId?: string | undefined; includeArchived?: boolean | undefined },
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ProjectJson>> {
  const where = ['agency_id = $1'];
  const values: unknown[] = [agencyId];
  const after = decodeCursor(page.cursor);
  if (after !== null) {
    values.push(after);
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
  values.push(page.limit + 1);
  const { rows } = await db.query<ProjectRow>(
    `select ${projectColumns} from projects where ${where.join(' and ')} order by seq desc limit $${values.length}`,
    values,
  );
  return toPage(rows, page.limit, toProjectJson);
}

interface TaskRow {
  seq: number;
  id: string;
  project_id: string;
  title: string;
  description: string | null;
  due_date: string | null;
  position: number;
  assignees: TaskJson['assignees'];
}

const taskSelect = `
  select t.seq, t.id, t.project_id, t.title, t.description, t.due_date, t.position,
         coalesce((select json_agg(json_build_object('client_id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name) order by a.created_at, c.email)
                     from task_assignees a join clients c on c.id = a.client_id where a.task_id = t.id), '[]'::json) as assignees
    from tasks t`;

const toTaskJson = (r: TaskRow): TaskJson => ({
  id: r.id,
  project_id: r.project_id,
  title: r.title,
  description: r.description,
  due_date: r.due_date,
  position: r.position,
  assignees: r.assignees,
});

/** Tasks of a project in their template order, each with its assignees. */
export async function listTasksJson(db: Queryable, agencyId: string, projectId: string): Promise<TaskJson[]> {
  const { rows } = await db.query<TaskRow>(`${taskSelect} where t.agency_id = $1 and t.project_id = $2 order by t.position, t.seq`, [
    agencyId,
    projectId,
  ]);
  return rows.map(toTaskJson);
}

export async function pageTasksJson(
  db: Queryable,
  agencyId: string,
  projectId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<TaskJson>> {
  // Tasks page in position order; the cursor is the task's seq within a (position, seq) ordering.
  const after = decodeCursor(page.cursor);
  const { rows } = await db.query<TaskRow>(
    `${taskSelect} where t.agency_id = $1 and t.project_id = $2
       and ($3::bigint is null or (t.position, t.seq) > (select position, seq from tasks where seq = $3))
     order by t.position, t.seq limit $4`,
    [agencyId, projectId, after, page.limit + 1],
  );
  return toPage(rows, page.limit, toTaskJson);
}

export async function getTaskJson(db: Queryable, agencyId: string, projectId: string, taskId: string): Promise<TaskJson | null> {
  const { rows } = await db.query<TaskRow>(`${taskSelect} where t.agency_id = $1 and t.project_id = $2 and t.id = $3`, [agencyId, projectId, taskId]);
  return rows[0] ? toTaskJson(rows[0]) : null;
}
