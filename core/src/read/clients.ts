import type { Queryable } from '../db/pool.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { ClientJson } from './resources.js';

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

export async function listClientsJson(
  db: Queryable,
  agencyId: string,
  filters: { email?: string | undefined },
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ClientJson>> {
  const after = decodeCursor(page.cursor);
  const { rows } = await db.query<ClientRow>(
    `select ${clientColumns} from clients
      where agency_id = $1 and ($2::bigint is null or seq < $2) and ($3::text is null or email_normalized = lower(btrim($3)))
      order by seq desc limit $4`,
    [agencyId, after, filters.email ?? null, page.limit + 1],
  );
  return toPage(rows, page.limit, toClientJson);
}
