import type { Queryable } from '../../db/pool.js';
import type { ImportCounts, ImportJson } from '../../read/resources.js';

/** SQL of the import read model (core/src/read/imports.ts shapes the rows into ImportJson). */

export interface ImportRow {
  seq: number;
  id: string;
  agency_id: string;
  status: ImportJson['status'];
  dry_run: boolean;
  send_emails: boolean;
  filename: string | null;
  size_bytes: number;
  checkpoint_row: number;
  rows_total: number | null;
  counts: Partial<ImportCounts>;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const importColumns =
  'seq, id, agency_id, status, dry_run, send_emails, filename, size_bytes, checkpoint_row, rows_total, counts, error, created_at, started_at, finished_at';

export async function getImportRow(db: Queryable, agencyId: string, id: string): Promise<ImportRow | null> {
  const { rows } = await db.query<ImportRow>(`select ${importColumns} from imports where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

export async function selectImportRows(db: Queryable, agencyId: string, ids: string[]): Promise<ImportRow[]> {
  const { rows } = await db.query<ImportRow>(`select ${importColumns} from imports where agency_id = $1 and id = any($2::uuid[])`, [agencyId, ids]);
  return rows;
}
