import type { Queryable } from '../db/pool.js';
import { projectColumns, type ProjectRow } from './read/projects.js';

export interface ProjectRef {
  id: string;
  agency_id: string;
  name: string;
}

export async function getProjectRef(db: Queryable, agencyId: string, projectId: string): Promise<(ProjectRef & { archived_at: Date | null }) | undefined> {
  const { rows } = await db.query<ProjectRef & { archived_at: Date | null }>(
    'select id, agency_id, name, archived_at from projects where agency_id = $1 and id = $2',
    [agencyId, projectId],
  );
  return rows[0];
}

/** The project row locked for this transaction: changes to one project's people run one at a time. */
export async function lockProjectRow(db: Queryable, agencyId: string, id: string): Promise<ProjectRow | undefined> {
  const { rows } = await db.query<ProjectRow>(`select ${projectColumns} from projects where agency_id = $1 and id = $2 for update`, [agencyId, id]);
  return rows[0];
}

/** "In the project" = a member, or invited with a live pending invitation. */
export interface ProjectPerson {
  email: string;
  clientId: string;
  status: 'inactive' | 'invited' | 'active' | 'deactivated';
  member: boolean;
  pendingInvitationId: string | null;
}

/**
 * The agency's clients of these normalised addresses, with their membership of the project and
 * live pending invitation. One probe of the unique (agency_id, email) index per address, and the client's
 * invitations by client_id (OFFSET 0: lookups the planner cannot turn around). Written as `agency_id = $1 and
 * email_normalized = any($3)`, a generic plan read all the agency's clients (no statistics on agency_id,
 * migration 0097: 106 buffers at 3,000 clients after ANALYZE), and before ANALYZE the invitation was looked
 * for among all the project's pending ones (343 buffers with 1,500 in the project).
 */
export async function findClientsInProject(db: Queryable, agencyId: string, projectId: string, normalizedEmails: string[]): Promise<ProjectPerson[]> {
  const { rows } = await db.query<ProjectPerson>(
    `select c.email_normalized as email, c.id as "clientId", c.status,
            exists (select 1 from memberships m where m.project_id = $2 and m.client_id = c.id) as member,
            (select i.id from (select id, project_id, status, expires_at from invitations where client_id = c.id offset 0) i
              where i.project_id = $2 and i.status = 'pending' and i.expires_at > now() limit 1) as "pendingInvitationId"
       from (select distinct unnest($3::text[]) as email) e
       cross join lateral (select id, email_normalized, status from clients where agency_id = $1 and email_normalized = e.email offset 0) c`,
    [agencyId, projectId, normalizedEmails],
  );
  return rows;
}

/** The project of this external id, locked (after a conflicting insert committed). */
export async function lockProjectByExternalId(db: Queryable, agencyId: string, externalId: string): Promise<ProjectRow | undefined> {
  const existing = await db.query<ProjectRow>(`select ${projectColumns} from projects where agency_id = $1 and external_id = $2 for update`, [
    agencyId,
    externalId,
  ]);
  return existing.rows[0];
}

/** Only the fields given change; `externalId: undefined` leaves the external id, `null` clears it. */
export async function updateProjectRow(
  db: Queryable,
  agencyId: string,
  id: string,
  input: { name?: string | undefined; archived?: boolean | undefined; externalId?: string | null | undefined },
): Promise<ProjectRow | undefined> {
  const { rows } = await db.query<ProjectRow>(
    `update projects set
              name = coalesce($3, name),
              archived_at = case when $4::boolean is null then archived_at when $4 then coalesce(archived_at, now()) else null end,
              external_id = case when $5::boolean then $6 else external_id end,
              updated_at = now()
        where agency_id = $1 and id = $2 returning ${projectColumns}`,
    [agencyId, id, input.name ?? null, input.archived ?? null, input.externalId !== undefined, input.externalId ?? null],
  );
  return rows[0];
}
