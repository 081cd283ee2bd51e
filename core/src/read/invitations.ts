import type { Queryable } from '../db/pool.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import { isoOf, type InvitationJson } from './resources.js';

/**
 * An invitation past expires_at reads as expired everywhere at once, before the sweep marks it: the
 * status is computed here, in the one query every reader uses.
 */
export const effectiveStatusSql = `case when i.status = 'pending' and i.expires_at <= now() then 'expired' else i.status end`;

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

export function toInvitationJson(r: InvitationReadRow): InvitationJson {
  return {
    id: r.id,
    status: r.status,
    project: { id: r.project_id, name: r.project_name },
    client: { id: r.client_id, email: r.client_email, first_name: r.first_name, last_name: r.last_name, status: r.client_status },
    email: r.email,
    created_by: r.user_id ? { id: r.user_id, email: r.user_email!, name: r.user_name } : null,
    message: r.message,
    expires_at: r.expires_at.toISOString(),
    send_count: r.send_count,
    last_sent_at: isoOf(r.last_sent_at),
    delivery_status: r.delivery_status,
    delivery_error: r.delivery_error,
    reminders_sent: r.reminders_sent,
    last_reminded_at: isoOf(r.last_reminded_at),
    accepted_at: isoOf(r.accepted_at),
    revoked_at: isoOf(r.revoked_at),
    created_at: r.created_at.toISOString(),
  };
}

export async function getInvitationJson(db: Queryable, agencyId: string, id: string): Promise<InvitationJson | null> {
  const { rows } = await db.query<InvitationReadRow>(`${select} where i.agency_id = $1 and i.id = $2`, [agencyId, id]);
  return rows[0] ? toInvitationJson(rows[0]) : null;
}

export async function getInvitationsJson(db: Queryable, agencyId: string, ids: string[]): Promise<Map<string, InvitationJson>> {
  const { rows } = await db.query<InvitationReadRow>(`${select} where i.agency_id = $1 and i.id = any($2::uuid[])`, [agencyId, ids]);
  return new Map(rows.map((r) => [r.id, toInvitationJson(r)]));
}

export interface InvitationFilters {
  status?: InvitationJson['status'] | undefined;
  projectId?: string | undefined;
  email?: string | undefined;
}

/**
 * Newest first, cursor by seq. Each filter maps onto an index led by agency_id so the list stays fast at
 * millions of rows; the status filter respects computed expiry.
 */
export async function listInvitationsJson(
  db: Queryable,
  agencyId: string,
  filters: InvitationFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<InvitationJson>> {
  const where = ['i.agency_id = $1'];
  const values: unknown[] = [agencyId];
  const after = decodeCursor(page.cursor);
  if (after !== null) {
    values.push(after);
    where.push(`i.seq < $${values.length}`);
  }
  if (filters.projectId) {
    values.push(filters.projectId);
    where.push(`i.project_id = $${values.length}`);
  }
  if (filters.email) {
    values.push(filters.email);
    // Through the client (one per normalised email in an agency) and invitations_client_idx: the invitation's
    // email is its client's, and an index on (agency, email) would be one more entry per invitation written.
    where.push(`i.client_id in (select c.id from clients c where c.agency_id = i.agency_id and c.email_normalized = lower(btrim($${values.length})))`);
  }
  if (filters.status === 'pending') where.push(`i.status = 'pending' and i.expires_at > now()`);
  else if (filters.status === 'expired') where.push(`(i.status = 'expired' or (i.status = 'pending' and i.expires_at <= now()))`);
  else if (filters.status) {
    values.push(filters.status);
    where.push(`i.status = $${values.length}`);
  }
  values.push(page.limit + 1);
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
  return toPage(rows, page.limit, toInvitationJson);
}
