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
  default_message: string | null;
  /** How clients sign in (migration 0120). */
  client_sign_in: 'password' | 'magic_link' | 'either';
  /** Hours before expiry at which a pending invitation is reminded, largest first; [] = off. */
  reminder_hours_before: number[];
  /** The agency's pages: /a/<slug>/login (set by a trigger at insert, unique). */
  slug: string;
  created_at: Date;
  updated_at: Date;
}

export const agencySettingKeys = [
  'name',
  'display_name',
  'sender_name',
  'brand_color',
  'logo_url',
  'invite_expiry_days',
  'invite_email_text',
  'default_message',
  'client_sign_in',
  'reminder_hours_before',
] as const;
type AgencySettingKey = (typeof agencySettingKeys)[number];
export type AgencySettingsPatch = Partial<Pick<AgencyRow, AgencySettingKey>>;

const columns = `id, name, display_name, sender_name, brand_color, logo_url, invite_expiry_days, invite_email_text, default_message,
  client_sign_in, reminder_hours_before, slug, created_at, updated_at`;

export async function insertAgency(db: Queryable, input: { name: string }): Promise<AgencyRow> {
  const { rows } = await db.query<AgencyRow>(`insert into agencies (name) values ($1) returning ${columns}`, [input.name]);
  return rows[0]!;
}

export async function getAgency(db: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<AgencyRow | null> {
  // Named (one per variant): read for every email the worker renders.
  const { rows } = await db.query<AgencyRow>({
    name: opts.forUpdate ? 'onramp-agency-for-update' : 'onramp-agency',
    text: `select ${columns} from agencies where id = $1${opts.forUpdate ? ' for update' : ''}`,
    values: [id],
  });
  return rows[0] ?? null;
}

/** Only the keys present in `patch` are written; the column names come from the fixed list, never from input. */
export async function updateAgencySettings(db: Queryable, id: string, patch: AgencySettingsPatch): Promise<AgencyRow | null> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const key of agencySettingKeys) {
    if (key in patch) {
      values.push(patch[key]);
      sets.push(`${key} = $${values.length}`);
    }
  }
  if (sets.length === 0) return getAgency(db, id);
  const { rows } = await db.query<AgencyRow>(`update agencies set ${sets.join(', ')}, updated_at = now() where id = $1 returning ${columns}`, values);
  return rows[0] ?? null;
}

/** The operator CLI's reference: an exact id, or a name compared case-insensitively (two rows at most, to detect ambiguity). */
export async function findAgencyIdsByRef(db: Queryable, ref: string, isId: boolean): Promise<{ id: string }[]> {
  const { rows } = await db.query<{ id: string }>(
    isId ? 'select id from agencies where id = $1' : 'select id from agencies where lower(name) = lower($1) order by created_at limit 2',
    [ref],
  );
  return rows;
}
