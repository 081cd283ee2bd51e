import type { Queryable } from '../../db/pool.js';
import type { TemplateJson } from '../../read/resources.js';

/** SQL of the template read model (core/src/read/templates.ts shapes the rows into TemplateJson). */

export interface TemplateRow {
  seq: number;
  id: string;
  name: string;
  tasks: TemplateJson['tasks'];
  created_at: Date;
}

const select = `
  select t.seq, t.id, t.name, t.created_at,
         coalesce((select json_agg(json_build_object('id', tt.id, 'title', tt.title, 'description', tt.description, 'position', tt.position)
                                   order by tt.position)
                     from template_tasks tt where tt.template_id = t.id), '[]'::json) as tasks
    from templates t`;

export async function selectTemplateRow(db: Queryable, agencyId: string, id: string): Promise<TemplateRow | null> {
  const { rows } = await db.query<TemplateRow>(`${select} where t.agency_id = $1 and t.id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

/** Newest first, `limit` rows with seq below `beforeSeq` when given. */
export async function listTemplateRows(db: Queryable, agencyId: string, page: { limit: number; beforeSeq: number | null }): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>(`${select} where t.agency_id = $1 and ($2::bigint is null or t.seq < $2) order by t.seq desc limit $3`, [
    agencyId,
    page.beforeSeq,
    page.limit,
  ]);
  return rows;
}

/** How many projects came from a template, and how many live imports name it as their default. */
export async function selectTemplateUsage(db: Queryable, agencyId: string, id: string): Promise<Array<{ projects: number; active_imports: number }>> {
  const { rows } = await db.query<{ projects: number; active_imports: number }>(
    `select (select count(*)::int from projects p where p.agency_id = t.agency_id and p.template_id = t.id) as projects,
            (select count(*)::int from imports im where im.agency_id = t.agency_id and im.status in ('queued', 'running')
                and lower(im.default_template) = lower(t.name)) as active_imports
       from templates t where t.agency_id = $1 and t.id = $2`,
    [agencyId, id],
  );
  return rows;
}
