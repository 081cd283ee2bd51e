import { eventDataSql } from '../events/catalog.js';
import type { Queryable } from '../db/pool.js';
import { projectColumns, type ProjectRow } from '../read/projects.js';

/**
 * The one statement that creates projects: Create Project sends one row, an import batch all the projects
 * it creates. Each new project gets its template's tasks and a `project.created` event (with `import_id`
 * when an import made it). An external id another project already has is skipped (ON CONFLICT DO NOTHING,
 * which waits for a concurrent insert of it to commit): the caller finds that project instead.
 */
export interface NewProjects {
  agencyId: string;
  actorId: string | null;
  /** The import creating them; null from the API. */
  importId: string | null;
  names: string[];
  externalIds: Array<string | null>;
  templateIds: Array<string | null>;
}

export type CreatedProject = ProjectRow & { tasks: Array<{ id: string; title: string }> };

const pColumns = projectColumns
  .split(', ')
  .map((c) => `p.${c}`)
  .join(', ');

export async function insertProjects(db: Queryable, input: NewProjects): Promise<CreatedProject[]> {
  if (input.names.length === 0) return [];
  const { rows } = await db.query<CreatedProject>(
    `with p as (
       insert into projects (agency_id, name, external_id, template_id, created_by)
       select $1, u.name, u.external_id, u.template_id, $2 from unnest($4::text[], $5::text[], $6::uuid[]) as u(name, external_id, template_id)
       on conflict (agency_id, external_id) do nothing
       returning ${projectColumns}
     ), t as (
       insert into tasks (agency_id, project_id, position, title, description)
       select p.agency_id, p.id, tt.position, tt.title, tt.description from p join template_tasks tt on tt.template_id = p.template_id
       returning id, project_id, title
     ), ev as (
       insert into events (agency_id, type, subject_id, actor_id, data)
       select p.agency_id, 'project.created', p.id, $2,
              ${eventDataSql('project.created', { name: 'p.name', external_id: 'p.external_id', template_id: 'p.template_id' })}
              || case when $3::uuid is null then '{}'::jsonb else jsonb_build_object('import_id', $3::uuid) end
         from p
     )
     select ${pColumns},
            coalesce(json_agg(json_build_object('id', t.id, 'title', t.title)) filter (where t.id is not null), '[]'::json) as tasks
       from p left join t on t.project_id = p.id
      group by ${pColumns}`,
    [input.agencyId, input.actorId, input.importId, input.names, input.externalIds, input.templateIds],
  );
  return rows;
}
