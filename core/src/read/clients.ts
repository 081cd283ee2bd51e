import type { Queryable } from '../db/pool.js';
import { listClientDirectoryRows, listClientRows, type ClientFilters, type ClientRow } from '../sql/read/clients.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ClientJson } from './resources.js';

export { clientColumns, countClients, getClientRow, type ClientFilters, type ClientRow } from '../sql/read/clients.js';

export function toClientJson(r: ClientRow): ClientJson {
  return { id: r.id, email: r.email, first_name: r.first_name, last_name: r.last_name, status: r.status, created_at: r.created_at.toISOString() };
}

/** Newest first, cursor paged; every filter optional and combined with the others. */
export async function listClientsJson(
  db: Queryable,
  agencyId: string,
  filters: ClientFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ClientJson>> {
  const rows = await listClientRows(db, agencyId, filters, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
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
  const rows = await listClientDirectoryRows(db, agencyId, filters, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, (r) => ({ ...toClientJson(r), projects: r.projects, pending: r.pending }));
}
