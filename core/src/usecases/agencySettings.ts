import { z } from 'zod';
import type { Deps } from '../context.js';
import { notFound } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { toAgencyJson, type AgencyJson } from '../read/admin.js';
import { agencySettingKeys, getAgency, updateAgencySettings, type AgencyRow, type AgencySettingsPatch } from '../sql/agencies.js';
import { brandingFromAgency, renderEmail, type RenderedEmail } from '../email/templates.js';
import { appendEvent } from '../sql/events.js';
import type { Principal } from './apiKeys.js';
import { requireInviter } from './invitations.js';
import { clientSignInSchema, reminderHoursBeforeSchema } from './clientAccessSettings.js';
import { withAuthChange } from './principalCache.js';

// eslint-disable-next-line no-control-regex
const CONTROL_LINE = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** An empty string clears an optional setting (forms send "" for an emptied field). */
const clearable = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? null : v), schema.nullable()).optional();

const oneLine = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .trim()
    .max(max, `must be at most ${max} characters`)
    .refine((v) => !CONTROL_LINE.test(v), 'must be one line without control characters');
const text = (max: number) =>
  z
    .string({ error: 'must be a string' })
    .max(max, `must be at most ${max.toLocaleString('en-US')} characters`)
    .refine((v) => !CONTROL_TEXT.test(v), 'must not contain control characters')
    .transform((v) => v.replace(/\r\n?/g, '\n').trim());

/** Every setting PATCH /v1/agency (and the console's Settings form) may change, in the form's order. */
export { agencySettingKeys };

export const INVITE_EXPIRY_MAX_DAYS = 90;
export const LOGO_URL_MAX = 500;

/**
 * The logo is an https URL the client's mail reader and browser load; the server never fetches it, so it
 * is checked for shape only (https, a host, no credentials, length-capped).
 */
const logoUrl = z
  .string({ error: 'must be a string' })
  .trim()
  .max(LOGO_URL_MAX, `must be at most ${LOGO_URL_MAX} characters`)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'https:' && u.hostname !== '' && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'must be an https:// URL without credentials');

export const agencySettingsInput = z
  .object({
    name: oneLine(200).pipe(z.string().min(1, 'is required')).optional().describe("The agency's own name (1-200 characters)"),
    display_name: clearable(oneLine(200)).describe('What clients know the agency as; null or "" falls back to `name`'),
    sender_name: clearable(oneLine(200)).describe('The From display name of emails; null or "" falls back to the display name'),
    brand_color: z
      .string({ error: 'must be a string' })
      .trim()
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour as #rrggbb')
      .transform((v) => v.toLowerCase())
      .optional()
      .describe('`#rrggbb`'),
    logo_url: clearable(logoUrl).describe(`https URL, at most ${LOGO_URL_MAX} characters; never fetched by the server`),
    invite_expiry_days: z
      .number({ error: 'must be a whole number of days' })
      .int('must be a whole number of days')
      .min(1, 'must be at least 1')
      .max(INVITE_EXPIRY_MAX_DAYS, `must be at most ${INVITE_EXPIRY_MAX_DAYS}`)
      .optional()
      .describe(`1-${INVITE_EXPIRY_MAX_DAYS}; applies to invitations created or resent from now on`),
    invite_email_text: clearable(text(2000)).describe('A paragraph of the agency in every invitation email (at most 2,000 characters)'),
    default_message: clearable(text(2000)).describe('Pre-fills the invite form and is used when an invitation has no message (at most 2,000 characters)'),
    client_sign_in: clientSignInSchema.optional(),
    reminder_hours_before: reminderHoursBeforeSchema.transform((steps) => [...steps].sort((a, b) => b - a)).optional(),
  })
  .strict()
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'give at least one setting to change', path: ['(body)'] });
export type AgencySettingsInput = z.input<typeof agencySettingsInput>;

export async function getAgencySettings(deps: Pick<Deps, 'pool'>, principal: Principal): Promise<AgencyJson> {
  const agency = await getAgency(deps.pool, principal.agencyId);
  if (!agency) throw notFound('Agency');
  return toAgencyJson(agency);
}

/**
 * Owners and admins change the agency's settings. Bad values change nothing (the whole body is checked
 * first). The `agency.updated` event names the fields that actually changed, with old and new values, in
 * the same transaction; a PATCH that changes nothing writes no event. A new expiry applies to invitations
 * created or resent from now on: an invitation already sent keeps the expiry its email announced.
 */
export async function updateAgencySettingsFor(deps: Pick<Deps, 'pool' | 'principals'>, principal: Principal, raw: unknown): Promise<AgencyJson> {
  requireInviter(principal, 'change the agency settings');
  const input = parseOrThrow(agencySettingsInput, raw);
  return withAuthChange(deps, principal.agencyId, async (tx) => {
    const before = await getAgency(tx, principal.agencyId, { forUpdate: true });
    if (!before) throw notFound('Agency');
    const patch: AgencySettingsPatch = {};
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const key of agencySettingKeys) {
      const value = input[key];
      if (value === undefined || JSON.stringify(value) === JSON.stringify(before[key])) continue;
      (patch as Record<string, unknown>)[key] = value;
      changes[key] = { from: before[key], to: value };
    }
    const fields = Object.keys(changes);
    if (fields.length === 0) return toAgencyJson(before);
    const after = (await updateAgencySettings(tx, principal.agencyId, patch))!;
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'agency.updated',
      subjectId: principal.agencyId,
      actorId: principal.userId,
      data: { fields, changes },
    });
    return toAgencyJson(after);
  });
}

/**
 * The invitation email as a client will see it, rendered by the very template code the worker sends with
 * (core/src/email/templates.ts), from the agency's saved settings with `draft` values laid over them (the
 * console's live preview of unsaved changes). A draft value that would be refused on save is left out, so
 * the preview never shows what cannot be saved. The inviter is the signed-in user; the rest is a sample.
 */
export async function previewInvitationEmail(
  deps: Pick<Deps, 'pool' | 'config'>,
  principal: Principal,
  draft: Record<string, unknown> = {},
): Promise<RenderedEmail> {
  const agency = await getAgency(deps.pool, principal.agencyId);
  if (!agency) throw notFound('Agency');
  const merged: Record<string, unknown> = { ...agency };
  const shape = agencySettingsInput.shape;
  for (const key of agencySettingKeys) {
    if (!(key in draft)) continue;
    const parsed = (shape[key] as z.ZodType).safeParse(draft[key]);
    if (parsed.success && parsed.data !== undefined) merged[key] = parsed.data;
  }
  const branded = merged as unknown as AgencyRow;
  const expiresAt = new Date(Date.now() + branded.invite_expiry_days * 86_400_000);
  return renderEmail({
    kind: 'invitation',
    branding: brandingFromAgency(branded),
    recipientName: 'Cleo Client',
    inviterName: principal.userName,
    projectName: 'Website redesign',
    message: null,
    link: `${deps.config.publicBaseUrl}/invite/sample-link-for-the-preview`,
    expiresAt,
  });
}
