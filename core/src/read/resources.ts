import { z } from 'zod';

/**
 * The JSON shape of every resource the API returns, hook deliveries POST and Zapier reads. Response
 * schemas feed the OpenAPI document; serializers below produce exactly these shapes.
 */
const iso = z.string().describe('ISO 8601 date-time with time zone');

export const projectRefJson = z.object({ id: z.uuid(), name: z.string() });
export const userRefJson = z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable() });

export const clientStatus = z.enum(['inactive', 'invited', 'active', 'deactivated']);
export const clientJson = z.object({
  id: z.uuid(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  status: clientStatus,
  created_at: iso,
});
export type ClientJson = z.infer<typeof clientJson>;

export const invitationStatus = z.enum(['pending', 'accepted', 'revoked', 'expired']);
export const deliveryStatus = z.enum(['not_sent', 'queued', 'sent', 'failed']);
export const invitationJson = z.object({
  id: z.uuid(),
  status: invitationStatus,
  project: projectRefJson,
  client: clientJson.pick({ id: true, email: true, first_name: true, last_name: true, status: true }),
  email: z.string(),
  created_by: userRefJson.nullable(),
  message: z.string().nullable(),
  expires_at: iso,
  send_count: z.number().int(),
  last_sent_at: iso.nullable(),
  delivery_status: deliveryStatus,
  delivery_error: z.string().nullable(),
  reminders_sent: z
    .number()
    .int()
    .describe("Automatic reminders sent before expiry (the agency's reminder_hours_before); each is also an invitation.reminded event"),
  last_reminded_at: iso.nullable().describe('When the last automatic reminder was queued'),
  accepted_at: iso.nullable(),
  revoked_at: iso.nullable(),
  created_at: iso,
});
export type InvitationJson = z.infer<typeof invitationJson>;

export const taskAssigneeJson = z.object({ client_id: z.uuid(), email: z.string(), first_name: z.string(), last_name: z.string() });
export const taskJson = z.object({
  id: z.uuid(),
  project_id: z.uuid(),
  title: z.string(),
  description: z.string().nullable(),
  due_date: z.string().nullable().describe('YYYY-MM-DD'),
  position: z.number().int(),
  assignees: z.array(taskAssigneeJson),
});
export type TaskJson = z.infer<typeof taskJson>;

export const projectJson = z.object({
  id: z.uuid(),
  name: z.string(),
  external_id: z.string().nullable(),
  template_id: z.uuid().nullable(),
  archived: z.boolean(),
  created_at: iso,
});
export type ProjectJson = z.infer<typeof projectJson>;

export const templateJson = z.object({
  id: z.uuid(),
  name: z.string(),
  tasks: z.array(z.object({ id: z.uuid(), title: z.string(), description: z.string().nullable(), position: z.number().int() })),
  created_at: iso,
});
export type TemplateJson = z.infer<typeof templateJson>;

export const importCountsJson = z.object({
  rows: z.number().int(),
  projects_created: z.number().int(),
  projects_reused: z.number().int(),
  clients_invited: z.number().int(),
  clients_added: z.number().int(),
  already_invited: z.number().int(),
  already_members: z.number().int().describe('active clients already in the project: nothing to do'),
  assignments: z.number().int(),
  duplicates: z.number().int(),
  errors: z.number().int(),
});
export type ImportCounts = z.infer<typeof importCountsJson>;
export const emptyImportCounts = (): ImportCounts => ({
  rows: 0,
  projects_created: 0,
  projects_reused: 0,
  clients_invited: 0,
  clients_added: 0,
  already_invited: 0,
  already_members: 0,
  assignments: 0,
  duplicates: 0,
  errors: 0,
});

export const importJson = z.object({
  id: z.uuid(),
  status: z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']),
  dry_run: z.boolean(),
  send_emails: z.boolean(),
  filename: z.string().nullable(),
  size_bytes: z.number().int(),
  progress: z.object({ rows_done: z.number().int(), rows_total: z.number().int().nullable(), percent: z.number().nullable() }),
  counts: importCountsJson,
  error: z.string().nullable(),
  created_at: iso,
  started_at: iso.nullable(),
  finished_at: iso.nullable(),
  errors_url: z.string(),
  duplicates_url: z.string(),
});
export type ImportJson = z.infer<typeof importJson>;

const isoOf = (d: Date | null): string | null => (d ? d.toISOString() : null);
export { isoOf };
