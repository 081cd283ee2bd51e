import type { Queryable } from '../db/pool.js';
import { listClientRows, type ClientRow } from '../sql/read/clients.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ClientJson } from './resources.js';

export { clientColumns, getClientRow, type ClientRow } from '../sql/read/clients.js';

export function toClientJson(r: ClientRow): ClientJson {
  return { id: r.id, email: r.email, first_name: r.first_name, last_name: r.last_name, status: r.status, created_at: r.created_at.toISOString() };
}

export async function listClientsJson(
  db: Queryable,
  agencyId: string,
  filters: { email?: string | undefined },
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ClientJson>> {
  const rows = await listClientRows(db, agencyId, filters, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toClientJson);
}
