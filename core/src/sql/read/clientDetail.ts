import type { Queryable } from '../../db/pool.js';
import type { ClientDetailJson } from '../../read/clientDetail.js';
import { clientColumns, type ClientRow } from './clients.js';

/**
 * A client with every project of the agency they are in (member, invited, or only assigned to tasks), as
 * JSON built by PostgreSQL (core/src/read/clientDetail.ts serves it).
 */
export async function selectClientDetailRow(
  db: Queryable,
  agencyId: string,
  id: string,
): Promise<(ClientRow & { projects: ClientDetailJson['projects'] }) | null> {
  const { rows } = await db.query<ClientRow & { projects: ClientDetailJson['projects'] }>(
    `select ${clientColumns
      .split(', ')
      .map((c) => `c.${c}`)
      .join(', ')},
            coalesce((
              select json_agg(json_build_object(
                       'id', p.id, 'name', p.name, 'external_id', p.external_id, 'archived', p.archived_at is not null,
                       'membership', case when exists (select 1 from memberships m where m.project_id = p.id and m.client_id = c.id) then 'member'
                                          when exists (select 1 from invitations i where i.project_id = p.id and i.client_id = c.id
                                                         and i.status = 'pending' and i.expires_at > now()) then 'invited'
                                          else 'none' end,
                       'tasks', coalesce((select json_agg(json_build_object('id', t.id, 'title', t.title, 'due_date', t.due_date, 'position', t.position)
                                                          order by t.position, t.seq)
                                            from task_assignees a join tasks t on t.id = a.task_id
                                           where a.client_id = c.id and t.project_id = p.id), '[]'::json))
                     order by p.seq desc)
                from projects p
               where p.agency_id = c.agency_id
                 and p.id in (select m.project_id from memberships m where m.client_id = c.id
                              union select i.project_id from invitations i where i.client_id = c.id and i.status = 'pending' and i.expires_at > now()
                              union select t.project_id from task_assignees a join tasks t on t.id = a.task_id where a.client_id = c.id)
            ), '[]'::json) as projects
       from clients c where c.agency_id = $1 and c.id = $2`,
    [agencyId, id],
  );
  return rows[0] ?? null;
}
