import type { Queryable } from '../db/pool.js';

export interface TemplateTaskInput {
  title: string;
  description?: string | null;
}

export async function insertTemplateWithTasks(db: Queryable, input: { agencyId: string; name: string; tasks: TemplateTaskInput[] }): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>('insert into templates (agency_id, name) values ($1, $2) returning id', [input.agencyId, input.name]);
  const id = rows[0]!.id;
  await db.query(
    `insert into template_tasks (template_id, position, title, description)
     select $1, t.ord::int, t.title, t.description
       from unnest($2::text[], $3::text[]) with ordinality as t(title, description, ord)`,
    [id, input.tasks.map((t) => t.title), input.tasks.map((t) => t.description ?? null)],
  );
  return { id };
}

export interface TemplateRef {
  id: string;
  name: string;
}

export async function findTemplateById(db: Queryable, agencyId: string, id: string): Promise<TemplateRef | undefined> {
  const { rows } = await db.query<TemplateRef>('select id, name from templates where agency_id = $1 and id = $2', [agencyId, id]);
  return rows[0];
}

/** By name, case-insensitively. */
export async function findTemplateByName(db: Queryable, agencyId: string, name: string): Promise<TemplateRef | undefined> {
  const { rows } = await db.query<TemplateRef>('select id, name from templates where agency_id = $1 and lower(name) = lower($2)', [agencyId, name]);
  return rows[0];
}

/** The first `limit` template names in order, each row with the agency's total count of templates. */
export async function listTemplateNames(db: Queryable, agencyId: string, limit: number): Promise<Array<{ name: string; total: number }>> {
  const { rows } = await db.query<{ name: string; total: number }>(
    'select name, count(*) over ()::int as total from templates where agency_id = $1 order by lower(name) limit $2',
    [agencyId, limit],
  );
  return rows;
}

/** The template's task list replaced by `tasks`, in their order. */
export async function replaceTemplateTasks(
  db: Queryable,
  templateId: string,
  tasks: Array<{ title: string; description?: string | null | undefined }>,
): Promise<void> {
  await db.query('delete from template_tasks where template_id = $1', [templateId]);
  await db.query(
    `insert into template_tasks (template_id, position, title, description)
     select $1, t.ord::int, t.title, t.description
       from unnest($2::text[], $3::text[]) with ordinality as t(title, description, ord)`,
    [templateId, tasks.map((t) => t.title), tasks.map((t) => t.description ?? null)],
  );
}

export async function insertTemplate(db: Queryable, agencyId: string, name: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>('insert into templates (agency_id, name) values ($1, $2) returning id', [agencyId, name]);
  return rows[0]!.id;
}

/** A null name keeps the name; false when no such template. */
export async function renameTemplate(db: Queryable, agencyId: string, id: string, name: string | null): Promise<boolean> {
  const { rows } = await db.query<{ id: string }>(
    `update templates set name = coalesce($3, name), updated_at = now() where agency_id = $1 and id = $2 returning id`,
    [agencyId, id, name],
  );
  return Boolean(rows[0]);
}

export async function deleteTemplateRow(db: Queryable, agencyId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from templates where agency_id = $1 and id = $2', [agencyId, id]);
  return Boolean(rowCount);
}
