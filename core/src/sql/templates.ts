import type { Queryable } from '../db/pool.js';

export interface TemplateTaskInput {
  title: string;
  description?: string | null;
}

export async function insertTemplateWithTasks(
  db: Queryable,
  input: { agencyId: string; name: string; tasks: TemplateTaskInput[] },
): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>('insert into templates (agency_id, name) values ($1, $2) returning id', [
    input.agencyId,
    input.name,
  ]);
  const id = rows[0]!.id;
  await db.query(
    `insert into template_tasks (template_id, position, title, description)
     select $1, t.ord::int, t.title, t.description
       from unnest($2::text[], $3::text[]) with ordinality as t(title, description, ord)`,
    [id, input.tasks.map((t) => t.title), input.tasks.map((t) => t.description ?? null)],
  );
  return { id };
}
