import type { Queryable } from '../db/pool.js';
import {
  listConsoleProjectRows,
  selectClientName,
  selectConsoleMemberRows,
  selectConsoleProjectRow,
  selectInvitationEmails,
  selectProjectChoices,
  type ConsoleProjectRow,
} from '../sql/read/console.js';
import { decodeCursor, toPage, type Page } from './pagination.js';

/** What the console's project list and project page show; always read within one agency. */
export interface ConsoleProject {
  id: string;
  name: string;
  externalId: string | null;
  archived: boolean;
  createdAt: Date;
  members: number;
  pending: number;
}

export interface ConsoleMember {
  clientId: string;
  email: string;
  firstName: string;
  lastName: string;
  status: string;
  joinedAt: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (v: string): boolean => UUID.test(v);

const toConsoleProject = (r: ConsoleProjectRow): ConsoleProject => ({
  id: r.id,
  name: r.name,
  externalId: r.external_id,
  archived: r.archived_at !== null,
  createdAt: r.created_at,
  members: r.members,
  pending: r.pending,
});

/** Newest first, archived ones included (and marked), with member and pending-invitation counts. */
export async function listConsoleProjects(
  db: Queryable,
  agencyId: string,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<ConsoleProject>> {
  const rows = await listConsoleProjectRows(db, agencyId, { limit: page.limit + 1, beforeSeq: decodeCursor(page.cursor) });
  return toPage(rows, page.limit, toConsoleProject);
}

export async function getConsoleProject(db: Queryable, agencyId: string, id: string): Promise<ConsoleProject | null> {
  if (!isUuid(id)) return null;
  const row = await selectConsoleProjectRow(db, agencyId, id);
  return row ? toConsoleProject(row) : null;
}

/** The clients who are members of a project, by name; bounded, the page says when there are more. */
export async function listConsoleMembers(db: Queryable, agencyId: string, projectId: string, limit = 200): Promise<ConsoleMember[]> {
  const rows = await selectConsoleMemberRows(db, agencyId, projectId, limit);
  return rows.map((r) => ({ clientId: r.client_id, email: r.email, firstName: r.first_name, lastName: r.last_name, status: r.status, joinedAt: r.joined_at }));
}

/** The project filter's choices: the most recent projects (a filter by id still works for older ones). */
export async function listProjectChoices(db: Queryable, agencyId: string, limit = 200): Promise<Array<{ id: string; name: string }>> {
  return selectProjectChoices(db, agencyId, limit);
}

/** A client's display name within an agency, for the notice after an invite. */
export async function getClientName(db: Queryable, agencyId: string, clientId: string): Promise<{ email: string; firstName: string; lastName: string } | null> {
  if (!isUuid(clientId)) return null;
  const row = await selectClientName(db, agencyId, clientId);
  return row ? { email: row.email, firstName: row.first_name, lastName: row.last_name } : null;
}

/** Emails of the agency's invitations among ids, so bulk results can name what was acted on (others stay unnamed). */
export async function invitationEmails(db: Queryable, agencyId: string, ids: string[]): Promise<Map<string, string>> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return new Map();
  const rows = await selectInvitationEmails(db, agencyId, valid);
  return new Map(rows.map((r) => [r.id, r.email]));
}
