import type { Queryable } from '../../db/pool.js';

/** SQL of the console's read model (core/src/read/console.ts shapes the rows for the pages); always within one agency. */

const projectSelect = `
  select p.seq, p.id, p.name, p.external_id, p.archived_at, p.created_at,
         (select count(*)::int from memberships m where m.project_id = p.id) as members,
         (select count(*)::int from invitations i
           where i.agency_id = p.agency_id and i.project_id = p.id and i.status = 'pending' and i.expires_at > now()) as pending
    from projects p`;

export interface ConsoleProjectRow {
  seq: number;
  id: string;
  name: string;
  external_id: string | null;
  archived_at: Date | null;
  created_at: Date;
  members: number;
  pending: number;
}

/** Newest first, `limit` rows with seq below `beforeSeq` when given, archived ones included. */
export async function listConsoleProjectRows(db: Queryable, agencyId: string, page: { limit: number; beforeSeq: number | null }): Promise<ConsoleProjectRow[]> {
  const values: unknown[] = [agencyId];
  const where = ['p.agency_id = $1'];
  if (page.beforeSeq !== null) {
    values.push(page.beforeSeq);
    where.push(`p.seq < $${values.length}`);
  }
  values.push(page.limit);
  const { rows } = await db.query<ConsoleProjectRow>(`${projectSelect} where ${where.join(' and ')} order by p.seq desc limit $${values.length}`, values);
  return rows;
}

export async function selectConsoleProjectRow(db: Queryable, agencyId: string, id: string): Promise<ConsoleProjectRow | null> {
  const { rows } = await db.query<ConsoleProjectRow>(`${projectSelect} where p.agency_id = $1 and p.id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export interface ConsoleMemberRow {
  client_id: string;
  email: string;
  first_name: string;
  last_name: string;
  status: string;
  joined_at: Date;
}

/**
 * The clients who are members of a project, by name, at most `limit`. Each client is found by its primary key
 * and its agency checked on the row (OFFSET 0 keeps the check out of the lookup): joined on (id, agency_id),
 * the agency's clients look like a few (no statistics on agency_id, migration 0097) and a hash join read
 * them all for a project of 8 members (101 buffers at 3,000 clients, after ANALYZE).
 */
export async function selectConsoleMemberRows(db: Queryable, agencyId: string, projectId: string, limit: number): Promise<ConsoleMemberRow[]> {
  const { rows } = await db.query<ConsoleMemberRow>(
    `select c.id as client_id, c.email, c.first_name, c.last_name, c.status, m.created_at as joined_at
       from memberships m
       join lateral (select id, email, first_name, last_name, status, agency_id from clients where id = m.client_id offset 0) c on c.agency_id = m.agency_id
      where m.agency_id = $1 and m.project_id = $2
      order by c.last_name, c.first_name, c.email limit $3`,
    [agencyId, projectId, limit],
  );
  return rows;
}

/** The most recent projects' ids and names. */
export async function selectProjectChoices(db: Queryable, agencyId: string, limit: number): Promise<Array<{ id: string; name: string }>> {
  const { rows } = await db.query<{ id: string; name: string }>('select id, name from projects where agency_id = $1 order by seq desc limit $2', [
    agencyId,
    limit,
  ]);
  return rows;
}

export async function selectClientName(
  db: Queryable,
  agencyId: string,
  clientId: string,
): Promise<{ email: string; first_name: string; last_name: string } | null> {
  const { rows } = await db.query<{ email: string; first_name: string; last_name: string }>(
    'select email, first_name, last_name from clients where agency_id = $1 and id = $2',
    [agencyId, clientId],
  );
  return rows[0] ?? null;
}

/** By primary key alone, the agency checked on the rows found (see selectInvitationRows). */
export async function selectInvitationEmails(db: Queryable, agencyId: string, ids: string[]): Promise<Array<{ id: string; email: string }>> {
  const { rows } = await db.query<{ id: string; email: string }>(
    'select id, email from (select id, email, agency_id from invitations where id = any($2::uuid[]) offset 0) i where agency_id = $1',
    [agencyId, ids],
  );
  return rows;
}
