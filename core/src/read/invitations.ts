import type { Queryable } from '../db/pool.js';
import { listInvitationRows, selectInvitationRow, selectInvitationRows, type InvitationFilters, type InvitationReadRow } from '../sql/read/invitations.js';
import { decodeCursor, toPage, type Page } from './pagination.js';
import { isoOf, type InvitationJson } from './resources.js';

export type { InvitationFilters, InvitationReadRow } from '../sql/read/invitations.js';
export { countInvitations, matchingInvitationIds } from '../sql/read/invitations.js';

export function toInvitationJson(r: InvitationReadRow): InvitationJson {
  return {
    id: r.id,
    status: r.status,
    project: { id: r.project_id, name: r.project_name },
    client: { id: r.client_id, email: r.client_email, first_name: r.first_name, last_name: r.last_name, status: r.client_status },
    email: r.email,
    created_by: r.user_id ? { id: r.user_id, email: r.user_email!, name: r.user_name } : null,
    message: r.message,
    expires_at: r.expires_at.toISOString(),
    send_count: r.send_count,
    last_sent_at: isoOf(r.last_sent_at),
    delivery_status: r.delivery_status,
    delivery_error: r.delivery_error,
    reminders_sent: r.reminders_sent,
    last_reminded_at: isoOf(r.last_reminded_at),
    accepted_at: isoOf(r.accepted_at),
    revoked_at: isoOf(r.revoked_at),
    created_at: r.created_at.toISOString(),
  };
}

export async function getInvitationJson(db: Queryable, agencyId: string, id: string): Promise<InvitationJson | null> {
  const row = await selectInvitationRow(db, agencyId, id);
  return row ? toInvitationJson(row) : null;
}

export async function getInvitationsJson(db: Queryable, agencyId: string, ids: string[]): Promise<Map<string, InvitationJson>> {
  const rows = await selectInvitationRows(db, agencyId, ids);
  return new Map(rows.map((r) => [r.id, toInvitationJson(r)]));
}

/**
 * Newest first, cursor by seq. Each filter maps onto an index led by agency_id so the list stays fast at
 * millions of rows; the status filter respects computed expiry.
 */
export async function listInvitationsJson(
  db: Queryable,
  agencyId: string,
  filters: InvitationFilters,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<InvitationJson>> {
  const rows = await listInvitationRows(db, agencyId, filters, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toInvitationJson);
}
