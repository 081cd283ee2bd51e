import { clientSearchSql, normaliseSearch } from '../clients.js';
import type { Queryable } from '../../db/pool.js';
import type { ClientJson } from '../../read/resources.js';

/** SQL of the client read model (core/src/read/clients.ts shapes the rows into ClientJson). */

export interface ClientRow {
  seq: number;
  id: string;
  agency_id: string;
  email: string;
  first_name: string;
  last_name: string;
  status: ClientJson['status'];
  created_at: Date;
}

export const clientColumns = 'seq, id, agency_id, email, first_name, last_name, status, created_at';

export async function getClientRow(db: Queryable, agencyId: string, id: string): Promise<ClientRow | null> {
  const { rows } = await db.query<ClientRow>(`select ${clientColumns} from clients where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export interface ClientFilters {
  /** Exact address, compared lower-cased and trimmed ("Find Client"). */
  email?: string | undefined;
  /** Prefix of the email, first name, last name or full name, case-insensitive. */
  q?: string | undefined;
  status?: ClientJson['status'] | undefined;
}

function clientWhere(agencyId: string, filters: ClientFilters, after: number | null): { where: string; values: unknown[] } {
  const values: unknown[] = [agencyId];
  const push = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const where = ['c.agency_id = $1'];
  if (after !== null) where.push(`c.seq < ${push(after)}`);
  if (filters.email !== undefined) where.push(`c.email_normalized = lower(btrim(${push(filters.email)}))`);
  if (filters.status !== undefined) where.push(`c.status = ${push(filters.status)}`);
  if (normaliseSearch(filters.q)) where.push(clientSearchSql('c', filters.q!, push));
  return { where: where.join(' and '), values };
}

/** Newest first, `limit` rows with seq below `beforeSeq` when given; every filter combined with the others. */
export async function listClientRows(
  db: Queryable,
  agencyId: string,
  filters: ClientFilters,
  page: { limit: number; beforeSeq: number | null },
): Promise<ClientRow[]> {
  const { where, values } = clientWhere(agencyId, filters, page.beforeSeq);
  values.push(page.limit);
  const { rows } = await db.query<ClientRow>(
    `select ${clientColumns
      .split(', ')
      .map((c) => `c.${c}`)
      .join(', ')} from clients c where ${where} order by c.seq desc limit $${values.length}`,
    values,
  );
  return rows;
}

/** The directory's page: each client with its number of projects and live pending invitations. */
export async function listClientDirectoryRows(
  db: Queryable,
  agencyId: string,
  filters: ClientFilters,
  page: { limit: number; beforeSeq: number | null },
): Promise<Array<ClientRow & { projects: number; pending: number }>> {
  const { where, values } = clientWhere(agencyId, filters, page.beforeSeq);
  values.push(page.limit);
  const { rows } = await db.query<ClientRow & { projects: number; pending: number }>(
    `select ${clientColumns
      .split(', ')
      .map((c) => `c.${c}`)
      .join(', ')},
            (select count(*)::int from memberships m where m.client_id = c.id) as projects,
            (select count(*)::int from invitations i where i.client_id = c.id and i.status = 'pending' and i.expires_at > now()) as pending
       from (select * from clients c where ${where} order by c.seq desc limit $${values.length}) c
      order by c.seq desc`,
    values,
  );
  return rows;
}

/** How many clients match, counted up to `cap` (the page says "more than" beyond it). */
export async function countClients(db: Queryable, agencyId: string, filters: ClientFilters, cap = 100_000): Promise<number> {
  const { where, values } = clientWhere(agencyId, filters, null);
  values.push(cap);
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from (select 1 from clients c where ${where} limit $${values.length}) x`, values);
  return rows[0]!.n;
}
