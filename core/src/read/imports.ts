import type { Queryable } from '../db/pool.js';
import { emptyImportCounts, isoOf, type ImportCounts, type ImportJson } from './resources.js';

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

export function toImportJson(r: ImportRow, publicBaseUrl: string): ImportJson {
  const total = r.rows_total;
  return {
    id: r.id,
    status: r.status,
    dry_run: r.dry_run,
    send_emails: r.send_emails,
    filename: r.filename,
    size_bytes: r.size_bytes,
    progress: {
      rows_done: r.checkpoint_row,
      rows_total: total,
      percent: total ? Math.min(100, Math.round((r.checkpoint_row / total) * 1000) / 10) : r.status === 'completed' ? 100 : null,
    },
    counts: { ...emptyImportCounts(), ...r.counts },
    error: r.error,
    created_at: r.created_at.toISOString(),
    started_at: isoOf(r.started_at),
    finished_at: isoOf(r.finished_at),
    errors_url: `${publicBaseUrl}/v1/imports/${r.id}/errors.csv`,
    duplicates_url: `${publicBaseUrl}/v1/imports/${r.id}/duplicates.csv`,
  };
}

export async function getImportRow(db: Queryable, agencyId: string, id: string): Promise<ImportRow | null> {
  const { rows } = await db.query<ImportRow>(`select ${importColumns} from imports where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}
