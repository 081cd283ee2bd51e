import { z } from 'zod';

// Control characters (C0, DEL, C1) in a name break email headers and spreadsheets; none is ever intended.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export const personName = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters')
  .refine((v) => !CONTROL.test(v), 'must not contain control characters');

/** Stored as given (trimmed); compared lower-cased (the database's email_normalized columns). */
export const emailAddress = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(320, 'must be at most 320 characters')
  .pipe(z.email('must be a valid email address'));

export const customMessage = z
  .string()
  .max(2000, 'must be at most 2,000 characters')
  .refine((v) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(v), 'must not contain control characters')
  .nullable()
  .optional();

export const inviteInput = z.object({
  email: emailAddress,
  first_name: personName,
  last_name: personName,
  message: customMessage,
  send_email: z.boolean().default(true),
});
export type InviteInput = z.input<typeof inviteInput>;
export type ParsedInviteInput = z.output<typeof inviteInput>;

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
