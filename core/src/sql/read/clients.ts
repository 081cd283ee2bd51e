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

/** Newest first, `limit` rows with seq below `beforeSeq` when given; `email` compared normalised. */
export async function listClientRows(
  db: Queryable,
  agencyId: string,
  filters: { email?: string | undefined },
  page: { limit: number; beforeSeq: number | null },
): Promise<ClientRow[]> {
  const { rows } = await db.query<ClientRow>(
    `select ${clientColumns} from clients
      where agency_id = $1 and ($2::bigint is null or seq < $2) and ($3::text is null or email_normalized = lower(btrim($3)))
      order by seq desc limit $4`,
    [agencyId, page.beforeSeq, filters.email ?? null, page.limit],
  );
  return rows;
}
