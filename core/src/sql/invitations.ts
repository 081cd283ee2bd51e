import type { Queryable } from '../db/pool.js';
import type { ClientSignIn } from './clientAccess.js';

export interface InvitationTokenRow {
  id: string;
  token_hash: Buffer;
  live: boolean;
  message: string | null;
  expires_at: Date;
  agency_id: string;
  agency_name: string;
  brand_color: string;
  logo_url: string | null;
  project_id: string;
  project_name: string;
  client_id: string;
  first_name: string;
  client_email: string;
  has_password: boolean;
  slug: string;
  client_sign_in: ClientSignIn;
}

/** An invitation by its link's hash, with what the accept page shows; `live` = pending, unexpired, client not deactivated. */
export async function findInvitationByTokenHash(db: Queryable, tokenHash: Buffer): Promise<InvitationTokenRow | undefined> {
  const { rows } = await db.query<InvitationTokenRow>(
    `select i.id, i.token_hash, i.message, i.expires_at,
            (i.status = 'pending' and i.expires_at > now() and c.status <> 'deactivated') as live,
            a.id as agency_id, coalesce(a.display_name, a.name) as agency_name, a.brand_color, a.logo_url,
            a.slug, a.client_sign_in, p.id as project_id, p.name as project_name,
            c.id as client_id, c.first_name, c.email as client_email, (c.password_hash is not null) as has_password
       from invitations i
       join agencies a on a.id = i.agency_id
       join projects p on p.id = i.project_id and p.agency_id = i.agency_id
       join clients c on c.id = i.client_id and c.agency_id = i.agency_id
      where i.token_hash = $1`,
    [tokenHash],
  );
  return rows[0];
}

export interface AcceptedInvitation {
  id: string;
  agency_id: string;
  project_id: string;
  client_id: string;
  created_by: string | null;
  token_hash: Buffer;
}

/** The compare-and-set from pending: of two concurrent accepts, one gets the row. */
export async function acceptPendingInvitation(db: Queryable, tokenHash: Buffer): Promise<AcceptedInvitation | undefined> {
  const cas = await db.query<AcceptedInvitation>(
    `update invitations set status = 'accepted', accepted_at = now(), updated_at = now()
      where token_hash = $1 and status = 'pending' and expires_at > now()
      returning id, agency_id, project_id, client_id, created_by, token_hash`,
    [tokenHash],
  );
  return cas.rows[0];
}
