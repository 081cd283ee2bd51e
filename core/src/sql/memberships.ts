import type { Queryable } from '../db/pool.js';

/** A client's access to a project; adding an existing member changes nothing (and answers false). */
export async function insertMembership(db: Queryable, input: { projectId: string; clientId: string; agencyId: string }): Promise<boolean> {
  const added = await db.query('insert into memberships (project_id, client_id, agency_id) values ($1, $2, $3) on conflict do nothing', [
    input.projectId,
    input.clientId,
    input.agencyId,
  ]);
  return Boolean(added.rowCount);
}
