import type { Queryable } from '../db/pool.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ClientJson } from './resources.js';
import { clientSearchSql, normaliseSearch } from '../sql/clients.js';

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

export function toClientJson(r: ClientRow): ClientJson {
  return { id: r.id, email: r.email, first_name: r.first_name, last_name: r.last_name, status: r.status, created_at: r.created_at.toISOString() };
}

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

/** Newest first, cursor paged; every filter optional and combined with the others. */
export async function listClientsJson(
  db: Queryable,
  agencyId: string,
  filters: ClientFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ClientJson>> {
  const { where, values } = clientWhere(agencyId, filters, decodeCursor(page.cursor));
  values.push(page.limit + 1);
  const { rows } = await db.query<ClientRow>(
    `select ${clientColumns.split(', ').map((c) => `c.${c}`).join(', ')} from clients c where ${where} order by c.seq desc limit $${values.length}`,
    values,
  );
  return toPage(rows, page.limit, toClientJson);
}

export interface DirectoryClient extends ClientJson {
  /** Projects the client is a member of. */
  projects: number;
  /** Live pending invitations. */
  pending: number;
}

/** The console's directory: the API's list plus how many projects and pending invitations each client has. */
export async function listClientDirectory(
  db: Queryable,
  agencyId: string,
  filters: ClientFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<DirectoryClient>> {
  const { where, values } = clientWhere(agencyId, filters, decodeCursor(page.cursor));
  values.push(page.limit + 1);
  const { rows } = await db.query<ClientRow & { projects: number; pending: number }>(
    `select ${clientColumns.split(', ').map((c) => `c.${c}`).join(', ')},
            (select count(*)::int from memberships m where m.client_id = c.id) as projects,
            (select count(*)::int from invitations i where i.client_id = c.id and i.status = 'pending' and i.expires_at > now()) as pending
       from (select * from clients c where ${where} order by c.seq desc limit $${values.length}) c
      order by c.seq desc`,
    values,
  );
  return toPage(rows, page.limit, (r) => ({ ...toClientJson(r), projects: r.projects, pending: r.pending }));
}

/** How many clients match, counted up to `cap` (the page says "more than" beyond it). */
export async function countClients(db: Queryable, agencyId: string, filters: ClientFilters, cap = 100_000): Promise<number> {
  const { where, values } = clientWhere(agencyId, filters, null);
  values.push(cap);
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from (select 1 from clients c where ${where} limit $${values.length}) x`, values);
  return rows[0]!.n;
}
