import type { Queryable } from '../db/pool.js';
import { getProjectRow, listProjectRows, listTaskRows, pageTaskRows, selectTaskRow, type ProjectRow, type TaskRow } from '../sql/read/projects.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ProjectJson, TaskJson } from './resources.js';

export { getProjectRow, projectColumns, type ProjectRow } from '../sql/read/projects.js';

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
  const rows = await listProjectRows(db, agencyId, filters, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toProjectJson);
}

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
  return (await listTaskRows(db, agencyId, projectId)).map(toTaskJson);
}

export async function pageTasksJson(
  db: Queryable,
  agencyId: string,
  projectId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<TaskJson>> {
  const rows = await pageTaskRows(db, agencyId, projectId, { limit: page.limit + 1, afterSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toTaskJson);
}

export async function getTaskJson(db: Queryable, agencyId: string, projectId: string, taskId: string): Promise<TaskJson | null> {
  const row = await selectTaskRow(db, agencyId, projectId, taskId);
  return row ? toTaskJson(row) : null;
}
