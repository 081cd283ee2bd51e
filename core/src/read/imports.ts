import type { ImportRow } from '../sql/read/imports.js';
import { emptyImportCounts, isoOf, type ImportJson } from './resources.js';

export { getImportRow, importColumns, type ImportRow } from '../sql/read/imports.js';

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
