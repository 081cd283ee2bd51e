import { z } from 'zod';
import type { Queryable } from '../db/pool.js';
import { notFound } from '../errors/AppError.js';
import { getClientAccess, updateClientAccess, type ClientAccessRow } from '../sql/clientAccess.js';

/**
 * The agency settings of client access: how clients sign in and when pending invitations are reminded.
 * Meant to be merged into the agency settings (PATCH/GET /v1/agency and the console Settings page): spread
 * `clientAccessSettingsSchema.shape` into the PATCH body schema (every field optional there), call
 * `applyClientAccessSettings(tx, agencyId, values)` in the same transaction as the other settings, and add
 * `readClientAccessSettings` to the GET body.
 */
export const clientSignInSchema = z
  .enum(['password', 'magic_link', 'either'])
  .describe(
    'How clients sign in: "password" (they choose a password when they accept), "magic_link" (never a password: accepting signs them in, later visits email them a single-use sign-in link valid 15 minutes) or "either" (the client chooses)',
  );

export const reminderHoursBeforeSchema = z
  .array(z.number().int('must be whole hours').min(1, 'must be at least 1 hour').max(720, 'must be at most 720 hours (30 days)'))
  .max(5, 'must have at most 5 steps')
  .refine((a) => new Set(a).size === a.length, 'must not repeat a step')
  .describe('When to remind a client of a pending invitation, in hours before it expires (e.g. [72, 24]); [] turns reminders off. Default [24].');

export const clientAccessSettingsSchema = z.object({
  client_sign_in: clientSignInSchema.optional(),
  reminder_hours_before: reminderHoursBeforeSchema.optional(),
});
export type ClientAccessSettingsInput = z.infer<typeof clientAccessSettingsSchema>;

export interface ClientAccessSettings {
  client_sign_in: ClientAccessRow['client_sign_in'];
  reminder_hours_before: number[];
}

const toJson = (row: ClientAccessRow): ClientAccessSettings => ({
  client_sign_in: row.client_sign_in,
  reminder_hours_before: [...row.reminder_hours_before].sort((a, b) => b - a),
});

export async function readClientAccessSettings(db: Queryable, agencyId: string): Promise<ClientAccessSettings> {
  const row = await getClientAccess(db, agencyId);
  if (!row) throw notFound('Agency');
  return toJson(row);
}

/**
 * Writes the fields present in `values` (already parsed by clientAccessSettingsSchema) and returns the
 * settings plus the names of the fields whose value changed (for the agency.updated event's data).
 */
export async function applyClientAccessSettings(
  tx: Queryable,
  agencyId: string,
  values: ClientAccessSettingsInput,
): Promise<{ settings: ClientAccessSettings; changed: Array<keyof ClientAccessSettings> }> {
  const before = await getClientAccess(tx, agencyId);
  if (!before) throw notFound('Agency');
  const steps = values.reminder_hours_before ? [...values.reminder_hours_before].sort((a, b) => b - a) : undefined;
  const after = await updateClientAccess(tx, agencyId, {
    ...(values.client_sign_in ? { client_sign_in: values.client_sign_in } : {}),
    ...(steps ? { reminder_hours_before: steps } : {}),
  });
  const changed: Array<keyof ClientAccessSettings> = [];
  if (after!.client_sign_in !== before.client_sign_in) changed.push('client_sign_in');
  if (toJson(after!).reminder_hours_before.join(',') !== toJson(before).reminder_hours_before.join(',')) changed.push('reminder_hours_before');
  return { settings: toJson(after!), changed };
}
