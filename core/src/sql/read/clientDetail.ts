import type { Queryable } from '../../db/pool.js';
import type { ClientDetailJson } from '../../read/clientDetail.js';
import { clientColumns, type ClientRow } from './clients.js';

/**
 * A client with every project of the agency they are in (member, invited, or only assigned to tasks), as
 * JSON built by PostgreSQL (core/src/read/clientDetail.ts serves it).
 *
 * Everything starts from the client: its memberships, invitations and task assignments by client_id, each
 * project by its primary key with its agency checked on the row (OFFSET 0 keeps the check and the filters out
 * of the lookups). There are no statistics on agency_id (migration 0097): asked for "the agency's projects
 * among the client's", the planner read all the agency's projects, and a project's pending invitations to
 * find the client's (127 buffers at 400 projects and 3,000 invitations before ANALYZE, 849 at ten times that).
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
                       'membership', case when x.member then 'member' when x.invited then 'invited' else 'none' end,
                       'tasks', coalesce((select json_agg(json_build_object('id', t.id, 'title', t.title, 'due_date', t.due_date, 'position', t.position)
                                                          order by t.position, t.seq)
                                            from task_assignees a join tasks t on t.id = a.task_id
                                           where a.client_id = c.id and t.project_id = p.id), '[]'::json))
                     order by p.seq desc)
                from (select s.project_id, bool_or(s.member) as member, bool_or(s.invited) as invited
                        from (select m.project_id, true as member, false as invited from memberships m where m.client_id = c.id
                              union all
                              select i.project_id, false, true
                                from (select project_id, status, expires_at from invitations where client_id = c.id offset 0) i
                               where i.status = 'pending' and i.expires_at > now()
                              union all
                              select t.project_id, false, false
                                from task_assignees a cross join lateral (select project_id from tasks where id = a.task_id offset 0) t
                               where a.client_id = c.id) s
                       group by s.project_id) x
                join lateral (select id, name, external_id, archived_at, seq, agency_id from projects where id = x.project_id offset 0) p
                  on p.agency_id = c.agency_id
            ), '[]'::json) as projects
       from clients c where c.agency_id = $1 and c.id = $2`,
    [agencyId, id],
  );
  return rows[0] ?? null;
}
