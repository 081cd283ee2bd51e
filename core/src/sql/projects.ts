import type { Queryable } from '../db/pool.js';

export interface ProjectRef {
  id: string;
  agency_id: string;
  name: string;
}

export async function getProjectRef(db: Queryable, agencyId: string, projectId: string): Promise<(ProjectRef & { archived_at: Date | null }) | undefined> {
  const { rows } = await db.query<ProjectRef & { archived_at: Date | null }>(
    'select id, agency_id, name, archived_at from projects where agency_id = $1 and id = $2',
    [agencyId, projectId],
  );
  return rows[0];
}
