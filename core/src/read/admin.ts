import { z } from 'zod';
import type { AgencyRow } from '../sql/agencies.js';
import type { ApiKeyListRow } from '../sql/apiKeys.js';
import type { FirmUserRow } from '../sql/firmUsers.js';
import type { TeammateInvitationRow } from '../sql/teammateInvitations.js';
import { userRefJson } from './resources.js';

/** The JSON shapes of agency administration: settings, the team, API keys. */
const iso = z.string().describe('ISO 8601 date-time with time zone');

export const agencyJson = z.object({
  id: z.uuid(),
  name: z.string().describe("The agency's own name"),
  display_name: z.string().nullable().describe('What clients know the agency as (emails, pages); null: `name`'),
  sender_name: z.string().nullable().describe('The From display name of every email; null: the display name'),
  brand_color: z.string().describe('`#rrggbb`: buttons and header rule of emails and pages'),
  logo_url: z.string().nullable().describe('https URL of the logo shown in emails and pages'),
  invite_expiry_days: z.number().int().describe('Days an invitation (client or teammate) stays valid; applies to new invitations and resends'),
  invite_email_text: z.string().nullable().describe("The agency's own paragraph in every invitation email"),
  default_message: z.string().nullable().describe('Pre-fills the invite form; used when an invitation has no message of its own'),
  client_sign_in: z
    .enum(['password', 'magic_link', 'either'])
    .describe('How clients sign in: password, magic_link (single-use emailed links, never a password) or either'),
  reminder_hours_before: z.array(z.number().int()).describe('Hours before expiry at which pending invitations are reminded, largest first; [] = off'),
  slug: z.string().describe("The agency's client sign-in page is PUBLIC_BASE_URL/a/<slug>/login"),
  effective: z.object({ display_name: z.string(), sender_name: z.string() }).describe('What emails and pages actually show, after the fallbacks'),
  created_at: iso,
  updated_at: iso,
});
export type AgencyJson = z.infer<typeof agencyJson>;

export function toAgencyJson(a: AgencyRow): AgencyJson {
  const display = a.display_name?.trim() || a.name;
  return {
    id: a.id,
    name: a.name,
    display_name: a.display_name,
    sender_name: a.sender_name,
    brand_color: a.brand_color,
    logo_url: a.logo_url,
    invite_expiry_days: a.invite_expiry_days,
    invite_email_text: a.invite_email_text,
    default_message: a.default_message,
    client_sign_in: a.client_sign_in,
    reminder_hours_before: [...a.reminder_hours_before].sort((x, y) => y - x),
    slug: a.slug,
    effective: { display_name: display, sender_name: a.sender_name?.trim() || display },
    created_at: a.created_at.toISOString(),
    updated_at: a.updated_at.toISOString(),
  };
}

export const firmRole = z.enum(['owner', 'admin', 'member']);
export const userJson = z.object({
  id: z.uuid(),
  email: z.string(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  name: z.string().nullable().describe('first and last name'),
  role: firmRole,
  status: z.enum(['invited', 'active', 'deactivated']).describe('`invited`: has not yet set a password over the emailed link'),
  has_password: z.boolean().describe('Can sign in to the console'),
  invitation: z
    .object({
      id: z.uuid(),
      status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
      expires_at: iso,
      send_count: z.number().int(),
      last_sent_at: iso,
      invited_by: userRefJson.nullable(),
    })
    .nullable()
    .describe('The latest teammate invitation of this user, if they were invited by a teammate'),
  created_at: iso,
  deactivated_at: iso.nullable(),
});
export type UserJson = z.infer<typeof userJson>;

export function toUserJson(
  u: FirmUserRow,
  inv: TeammateInvitationRow | undefined,
  inviters: Map<string, { id: string; email: string; name: string | null }>,
  now = new Date(),
): UserJson {
  return {
    id: u.id,
    email: u.email,
    first_name: u.first_name,
    last_name: u.last_name,
    name: u.name,
    role: u.role,
    status: u.status,
    has_password: u.has_password,
    invitation: inv
      ? {
          id: inv.id,
          status: inv.status === 'pending' && inv.expires_at <= now ? 'expired' : inv.status,
          expires_at: inv.expires_at.toISOString(),
          send_count: inv.send_count,
          last_sent_at: inv.last_sent_at.toISOString(),
          invited_by: inv.created_by ? (inviters.get(inv.created_by) ?? null) : null,
        }
      : null,
    created_at: u.created_at.toISOString(),
    deactivated_at: u.deactivated_at ? u.deactivated_at.toISOString() : null,
  };
}

export const apiKeyJson = z.object({
  id: z.uuid(),
  name: z.string().nullable(),
  prefix: z.string().describe('The visible start of the key (`onr_<prefix>_…`)'),
  owner: userRefJson.describe('The firm user the key acts as'),
  created_at: iso,
  last_used_at: iso.nullable().describe('To the minute'),
});
export type ApiKeyJson = z.infer<typeof apiKeyJson>;

export const createdApiKeyJson = apiKeyJson.extend({
  key: z
    .string()
    .nullable()
    .describe('The secret, shown only in this response and never stored; null when an Idempotency-Key replay answers (the secret is not kept for replays)'),
});
export type CreatedApiKeyJson = z.infer<typeof createdApiKeyJson>;

export function toApiKeyJson(k: ApiKeyListRow): ApiKeyJson {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    owner: { id: k.user_id, email: k.user_email, name: k.user_name },
    created_at: k.created_at.toISOString(),
    last_used_at: k.last_used_at ? k.last_used_at.toISOString() : null,
  };
}
