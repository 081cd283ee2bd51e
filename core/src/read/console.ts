import type { Queryable } from '../db/pool.js';
import { decodeCursor, toPage, type Page } from './pagination.js';

/** What the console's project list and project page show; always read within one agency. */
export interface ConsoleProject {
  id: string;
  name: string;
  externalId: string | null;
  archived: boolean;
  createdAt: Date;
  members: number;
  pending: number;
}

export interface ConsoleMember {
  clientId: string;
  email: string;
  firstName: string;
  lastName: string;
  status: string;
  joinedAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: string): boolean => UUID.test(v);

const projectSelect = `
  select p.seq, p.id, p.name, p.external_id, p.archived_at, p.created_at,
         (select count(*)::int from memberships m where m.project_id = p.id) as members,
         (select count(*)::int from invitations i
           where i.agency_id = p.agency_id and i.project_id = p.id and i.status = 'pending' and i.expires_at > now()) as pending
    from projects p`;

interface ProjectReadRow {
  seq: number;
  id: string;
  name: string;
  external_id: string | null;
  archived_at: Date | null;
  created_at: Date;
  members: number;
  pending: number;
}

const toConsoleProject = (r: ProjectReadRow): ConsoleProject => ({
  id: r.id,
  name: r.name,
  externalId: r.external_id,
  archived: r.archived_at !== null,
  createdAt: r.created_at,
  members: r.members,
  pending: r.pending,
});

/** Newest first, archived ones included (and marked), with member and pending-invitation counts. */
export async function listConsoleProjects(db: Queryable, agencyId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<ConsoleProject>> {
  const values: unknown[] = [agencyId];
  const where = ['p.agency_id = $1'];
  const after = decodeCursor(page.cursor);
  if (after !== null) {
    values.push(after);
    where.push(`p.seq < $${values.length}`);
  }
  values.push(page.limit + 1);
  const { rows } = await db.query<ProjectReadRow>(`${projectSelect} where ${where.join(' and ')} order by p.seq desc limit $${values.length}`, values);
  return toPage(rows, page.limit, toConsoleProject);
}

export async function getConsoleProject(db: Queryable, agencyId: string, id: string): Promise<ConsoleProject | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<ProjectReadRow>(`${projectSelect} where p.agency_id = $1 and p.id = $2`, [agencyId, id]);
  return rows[0] ? toConsoleProject(rows[0]) : null;
}

/** The clients who are members of a project, by name; bounded, the page says when there are more. */
export async function listConsoleMembers(db: Queryable, agencyId: string, projectId: string, limit = 200): Promise<ConsoleMember[]> {
  const { rows } = await db.query<{ client_id: string; email: string; first_name: string; last_name: string; status: string; joined_at: Date }>(
    `select c.id as client_id, c.email, c.first_name, c.last_name, c.status, m.created_at as joined_at
       from memberships m join clients c on c.id = m.client_id and c.agency_id = m.agency_id
      where m.agency_id = $1 and m.project_id = $2
      order by c.last_name, c.first_name, c.email limit $3`,
    [agencyId, projectId, limit],
  );
  return rows.map((r) => ({ clientId: r.client_id, email: r.email, firstName: r.first_name, lastName: r.last_name, status: r.status, joinedAt: r.joined_at }));
}

/** The project filter's choices: the most recent projects (a filter by id still works for older ones). */
export async function listProjectChoices(db: Queryable, agencyId: string, limit = 200): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>(
    'select id, name from projects where agency_id = $1 order by seq desc limit $2',
    [agencyId, limit],
  );
  return rows;
}

/** A client's display name within an agency, for the notice after an invite. */
export async function getClientName(db: Queryable, agencyId: string, clientId: string): Promise<{ email: string; firstName: string; lastName: string } | null> {
  if (!isUuid(clientId)) return null;
  const { rows } = await db.query<{ email: string; first_name: string; last_name: string }>(
    'select email, first_name, last_name from clients where agency_id = $1 and id = $2',
    [agencyId, clientId],
  );
  return rows[0] ? { email: rows[0].email, firstName: rows[0].first_name, lastName: rows[0].last_name } : null;
}

/** Emails of the agency's invitations among ids, so bulk results can name what was acted on (others stay unnamed). */
export async function invitationEmails(db: Queryable, agencyId: string, ids: string[]): Promise<Map<string, string>> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; email: string }>('select id, email from invitations where agency_id = $1 and id = any($2::uuid[])', [
    agencyId,
    valid,
  ]);
  return new Map(rows.map((r) => [r.id, r.email]));
}
