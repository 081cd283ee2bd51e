import { clientSearchSql, normaliseSearch } from '../clients.js';
import type { Queryable } from '../../db/pool.js';
import type { InvitationJson } from '../../read/resources.js';

/** SQL of the invitation read model (core/src/read/invitations.ts shapes the rows into InvitationJson). */

/**
 * An invitation past expires_at reads as expired everywhere at once, before the sweep marks it: the
 * status is computed here, in the one query every reader uses.
 */
const effectiveStatusSql = `case when i.status = 'pending' and i.expires_at <= now() then 'expired' else i.status end`;

const columns = `
  select i.seq, i.id, ${effectiveStatusSql} as status, i.email, i.message, i.expires_at, i.send_count, i.last_sent_at,
         i.delivery_status, i.delivery_error, i.reminders_sent, i.last_reminded_at, i.accepted_at, i.revoked_at, i.created_at,
         p.id as project_id, p.name as project_name,
         c.id as client_id, c.email as client_email, c.first_name, c.last_name, c.status as client_status,
         u.id as user_id, u.email as user_email, u.name as user_name`;
const joins = `
    join projects p on p.id = i.project_id
    join clients c on c.id = i.client_id
    left join firm_users u on u.id = i.created_by`;
const select = `${columns} from invitations i ${joins}`;

export interface InvitationReadRow {
  seq: number;
  id: string;
  status: InvitationJson['status'];
  email: string;
  message: string | null;
  expires_at: Date;
  send_count: number;
  last_sent_at: Date | null;
  delivery_status: InvitationJson['delivery_status'];
  delivery_error: string | null;
  reminders_sent: number;
  last_reminded_at: Date | null;
  accepted_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
  project_id: string;
  project_name: string;
  client_id: string;
  client_email: string;
  first_name: string;
  last_name: string;
  client_status: InvitationJson['client']['status'];
  user_id: string | null;
  user_email: string | null;
  user_name: string | null;
}

/**
 * By primary key alone, the agency checked on the rows found (OFFSET 0 keeps the check out of the lookup):
 * with `agency_id = $1` beside the ids, the planner could AND the ids with a bitmap of all the agency's
 * invitations (no statistics on agency_id, migration 0097): 58 buffers for 3 ids at 3,000 invitations.
 */
export async function selectInvitationRows(db: Queryable, agencyId: string, ids: string[]): Promise<InvitationReadRow[]> {
  const { rows } = await db.query<InvitationReadRow>(
    `${columns} from (select * from invitations where id = any($2::uuid[]) offset 0) i ${joins} where i.agency_id = $1`,
    [agencyId, ids],
  );
  return rows;
}

export async function selectInvitationRow(db: Queryable, agencyId: string, id: string): Promise<InvitationReadRow | null> {
  const { rows } = await db.query<InvitationReadRow>(`${select} where i.agency_id = $1 and i.id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export interface InvitationFilters {
  status?: InvitationJson['status'] | undefined;
  projectId?: string | undefined;
  email?: string | undefined;
  clientId?: string | undefined;
  /** Prefix of the client's email, first, last or full name, case-insensitive (the console's search). */
  q?: string | undefined;
}

/**
 * The where clause of a filtered invitation list, shared by the page, the count and the bulk action's
 * walk over every match, so "all N matching" means the same rows everywhere.
 */
function invitationWhere(
  agencyId: string,
  filters: InvitationFilters,
  bounds: { before?: number | null; through?: number | null } = {},
): { where: string; values: unknown[] } {
  const where = ['i.agency_id = $1'];
  const values: unknown[] = [agencyId];
  const push = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (bounds.before !== undefined && bounds.before !== null) where.push(`i.seq < ${push(bounds.before)}`);
  if (bounds.through !== undefined && bounds.through !== null) where.push(`i.seq <= ${push(bounds.through)}`);
  if (filters.projectId) where.push(`i.project_id = ${push(filters.projectId)}`);
  if (filters.clientId) where.push(`i.client_id = ${push(filters.clientId)}`);
  if (filters.email) {
    // Through the client (one per normalised email in an agency) and invitations_client_idx: the invitation's
    // email is its client's, and an index on (agency, email) would be one more entry per invitation written.
    where.push(`i.client_id in (select c.id from clients c where c.agency_id = i.agency_id and c.email_normalized = lower(btrim(${push(filters.email)})))`);
  }
  if (normaliseSearch(filters.q)) {
    where.push(`i.client_id in (select c.id from clients c where c.agency_id = i.agency_id and ${clientSearchSql('c', filters.q!, push)})`);
  }
  if (filters.status === 'pending') where.push(`i.status = 'pending' and i.expires_at > now()`);
  else if (filters.status === 'expired') where.push(`(i.status = 'expired' or (i.status = 'pending' and i.expires_at <= now()))`);
  else if (filters.status) where.push(`i.status = ${push(filters.status)}`);
  return { where: where.join(' and '), values };
}

export async function listInvitationRows(
  db: Queryable,
  agencyId: string,
  filters: InvitationFilters,
  page: { limit: number; beforeSeq: number | null },
): Promise<InvitationReadRow[]> {
  const { where: whereSql, values } = invitationWhere(agencyId, filters, { before: page.beforeSeq });
  const where = [whereSql];
  values.push(page.limit);
  // The page is cut from invitations alone, then joined: the joins (inner joins on foreign keys, so they drop
  // no row) touch limit+1 rows whatever the planner estimates. Joined first, a filter whose rows it
  // underestimates (project_id of a small agency: agency_id and project_id are correlated, their selectivities
  // multiply) made it join every matching row and sort them: 1,000 rows and ~30 ms for one 25-row page.
  const { rows } = await db.query<InvitationReadRow>(
    `${columns}
       from (select * from invitations i where ${where.join(' and ')} order by i.seq desc limit $${values.length}) i ${joins}
      order by i.seq desc`,
    values,
  );
  return rows;
}

/**
 * How many invitations match (counted up to `cap`) and the newest one's seq: a bulk action over "all N
 * matching" acts on those up to that seq, not on invitations created after the page was shown.
 */
export async function countInvitations(
  db: Queryable,
  agencyId: string,
  filters: InvitationFilters,
  opts: { cap?: number; before?: number | null; through?: number | null } = {},
): Promise<{ count: number; newestSeq: number | null }> {
  const { where, values } = invitationWhere(agencyId, filters, opts);
  values.push(opts.cap ?? 100_000);
  const { rows } = await db.query<{ n: number; newest: string | null }>(
    `select count(*)::int as n, max(seq)::text as newest from (select i.seq from invitations i where ${where} order by i.seq desc limit $${values.length}) x`,
    values,
  );
  return { count: rows[0]!.n, newestSeq: rows[0]!.newest === null ? null : Number(rows[0]!.newest) };
}

/** One slice of the ids matching a filter, newest first, below `before` and up to `through`. */
export async function matchingInvitationIds(
  db: Queryable,
  agencyId: string,
  filters: InvitationFilters,
  bounds: { before: number | null; through: number | null },
  limit: number,
): Promise<Array<{ id: string; seq: number; email: string }>> {
  const { where, values } = invitationWhere(agencyId, filters, bounds);
  values.push(limit);
  const { rows } = await db.query<{ id: string; seq: string; email: string }>(
    `select i.id, i.seq::text as seq, i.email from invitations i where ${where} order by i.seq desc limit $${values.length}`,
    values,
  );
  return rows.map((r) => ({ id: r.id, seq: Number(r.seq), email: r.email }));
}
