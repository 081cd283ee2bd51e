import type { Queryable } from '../db/pool.js';

export type FirmRole = 'owner' | 'admin' | 'member';

export interface FirmUserRow {
  id: string;
  agency_id: string;
  email: string;
  name: string | null;
  role: FirmRole;
  created_at: Date;
}

const columns = 'id, agency_id, email, name, role, created_at';

export async function insertFirmUser(
  db: Queryable,
  input: { agencyId: string; email: string; name: string | null; role: FirmRole },
): Promise<FirmUserRow> {
  const { rows } = await db.query<FirmUserRow>(
    `insert into firm_users (agency_id, email, name, role) values ($1, $2, $3, $4) returning ${columns}`,
    [input.agencyId, input.email.trim(), input.name, input.role],
  );
  return rows[0]!;
}

export async function getFirmUser(db: Queryable, agencyId: string, id: string): Promise<FirmUserRow | null> {
  const { rows } = await db.query<FirmUserRow>(`select ${columns} from firm_users where agency_id = $1 and id = $2`, [agencyId, id]);
  return rows[0] ?? null;
}

/** Firm users are found by email across agencies only from the operator CLI. */
export async function findFirmUsersByEmail(db: Queryable, email: string): Promise<FirmUserRow[]> {
  const { rows } = await db.query<FirmUserRow>(
    `select ${columns} from firm_users where email_normalized = lower(btrim($1)) order by created_at`,
    [email],
  );
  return rows;
}

export async function isFirmUserEmail(db: Queryable, agencyId: string, email: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'select 1 from firm_users where agency_id = $1 and email_normalized = lower(btrim($2))',
    [agencyId, email],
  );
  return (rowCount ?? 0) > 0;
}
