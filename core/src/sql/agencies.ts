import type { Queryable } from '../db/pool.js';

export interface AgencyRow {
  id: string;
  name: string;
  display_name: string | null;
  sender_name: string | null;
  brand_color: string;
  logo_url: string | null;
  invite_expiry_days: number;
  invite_email_text: string | null;
  created_at: Date;
}

const columns =
  'id, name, display_name, sender_name, brand_color, logo_url, invite_expiry_days, invite_email_text, created_at';

export async function insertAgency(db: Queryable, input: { name: string }): Promise<AgencyRow> {
  const { rows } = await db.query<AgencyRow>(`insert into agencies (name) values ($1) returning ${columns}`, [input.name]);
  return rows[0]!;
}

export async function getAgency(db: Queryable, id: string): Promise<AgencyRow | null> {
  const { rows } = await db.query<AgencyRow>(`select ${columns} from agencies where id = $1`, [id]);
  return rows[0] ?? null;
}

export async function updateAgencySettings(
  db: Queryable,
  id: string,
  patch: Partial<Pick<AgencyRow, 'display_name' | 'sender_name' | 'brand_color' | 'logo_url' | 'invite_expiry_days' | 'invite_email_text'>>,
): Promise<AgencyRow | null> {
  const allowed = ['display_name', 'sender_name', 'brand_color', 'logo_url', 'invite_expiry_days', 'invite_email_text'] as const;
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const key of allowed) {
    if (key in patch) {
      values.push(patch[key]);
      sets.push(`${key} = $${values.length}`);
    }
  }
  if (sets.length === 0) return getAgency(db, id);
  const { rows } = await db.query<AgencyRow>(`update agencies set ${sets.join(', ')} where id = $1 returning ${columns}`, values);
  return rows[0] ?? null;
}
