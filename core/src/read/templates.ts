import type { Queryable } from '../db/pool.js';
import { listTemplateRows, selectTemplateRow, selectTemplateUsage, type TemplateRow } from '../sql/read/templates.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import type { TemplateJson } from './resources.js';

const toTemplateJson = (r: TemplateRow): TemplateJson => ({ id: r.id, name: r.name, tasks: r.tasks, created_at: r.created_at.toISOString() });

export async function getTemplateJson(db: Queryable, agencyId: string, id: string): Promise<TemplateJson | null> {
  const row = await selectTemplateRow(db, agencyId, id);
  return row ? toTemplateJson(row) : null;
}

/** Newest first, like every other list; the Zapier dropdown pages through it. */
export async function listTemplatesJson(db: Queryable, agencyId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<TemplateJson>> {
  const rows = await listTemplateRows(db, agencyId, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toTemplateJson);
}

export interface TemplateUsage {
  /** Projects created from the template (they keep their own tasks when it changes or goes). */
  projects: number;
  /** Imports still queued or running whose default template is this one, by name. */
  activeImports: number;
}

/** What deleting or changing a template touches, for the console to spell out before it asks. */
export async function getTemplateUsage(db: Queryable, agencyId: string, id: string): Promise<TemplateUsage | null> {
  const rows = await selectTemplateUsage(db, agencyId, id);
  return rows[0] ? { projects: rows[0].projects, activeImports: rows[0].active_imports } : null;
}
