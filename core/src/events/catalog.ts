import { z } from 'zod';
import { importCountsJson } from '../read/resources.js';

/**
 * Every event Onramp records: its type and the shape of its `data`. Like the job catalog, one table that
 * writers and readers share: appendEvent parses `data` against it, the set-based statements (an import's
 * batches, the expiry sweep) build their `jsonb_build_object` from it (eventDataSql), and GET /v1/events
 * documents each type from it. So an event has one shape whichever door wrote it.
 *
 * The schemas are strict: a key a writer adds without declaring it here fails the test that parses every
 * event row the pipeline suite writes (test/events/catalog.test.ts).
 */
const id = z.uuid();
/** Set when a CSV import wrote the event (one event per imported row). */
const fromImport = {
  import_id: id.optional().describe('The CSV import that wrote this event, when one did'),
  task_ids: z.array(id).optional().describe("The row's task assignments, when a CSV import wrote this event"),
};

export const eventTypes = [
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'invitation.expired',
  'invitation.resent',
  'invitation.reminded',
  'client.added_to_project',
  'client.removed_from_project',
  'client.deactivated',
  'client.reactivated',
  'client.created',
  'project.created',
  'task.assigned',
  'import.completed',
  'agency.updated',
  'user.invited',
  'user.invitation_resent',
  'user.joined',
  'user.updated',
  'user.deactivated',
  'api_key.created',
  'api_key.revoked',
] as const;
export type EventType = (typeof eventTypes)[number];

export const eventCatalog = {
  'invitation.created': {
    subject: 'invitation',
    description: 'A pending invitation was created (API, Zapier, console, task assignment or CSV import).',
    data: z.strictObject({ project_id: id, client_id: id, email: z.string(), ...fromImport }),
  },
  'invitation.accepted': {
    subject: 'invitation',
    description: 'The client accepted the invitation and joined the project.',
    data: z.strictObject({ project_id: id, client_id: id }),
  },
  'invitation.revoked': {
    subject: 'invitation',
    description: 'The invitation was revoked (its link is dead).',
    data: z.strictObject({
      project_id: id,
      reason: z.enum(['client_deactivated']).optional().describe('Set when the revocation came from deactivating the client'),
    }),
  },
  'invitation.expired': {
    subject: 'invitation',
    description: 'The invitation passed its expiry while pending (the sweep, or an invite that found it stale).',
    data: z.strictObject({ project_id: id, client_id: id }),
  },
  'invitation.reminded': {
    subject: 'invitation',
    description: "An automatic reminder was sent before the invitation expires (the same link; the agency's reminder_hours_before).",
    data: z.strictObject({
      project_id: id,
      client_id: id,
      hours_before: z.number().int().describe('The schedule step: hours before expiry'),
      reminders_sent: z.number().int().describe('Reminders sent for this invitation, this one included'),
    }),
  },
  'invitation.resent': {
    subject: 'invitation',
    description: 'The invitation was resent with a new link.',
    data: z.strictObject({ project_id: id }),
  },
  'client.added_to_project': {
    subject: 'client',
    description: 'An active client joined a project without an invitation.',
    data: z.strictObject({ project_id: id, client_id: id, ...fromImport }),
  },
  'client.removed_from_project': {
    subject: 'client',
    description: 'A client left a project (membership removed, pending invitations revoked).',
    data: z.strictObject({ project_id: id, client_id: id }),
  },
  'client.deactivated': { subject: 'client', description: 'A client was deactivated.', data: z.strictObject({}) },
  'client.reactivated': { subject: 'client', description: 'A client was reactivated.', data: z.strictObject({}) },
  'client.created': {
    subject: 'client',
    description: 'A client was added to the agency without an invitation (status inactive: POST /v1/clients, the console).',
    data: z.strictObject({ client_id: id, email: z.string(), status: z.literal('inactive') }),
  },
  'project.created': {
    subject: 'project',
    description: 'A project was created (API, Zapier, console or CSV import).',
    data: z.strictObject({
      name: z.string(),
      external_id: z.string().nullable(),
      template_id: id.nullable(),
      import_id: fromImport.import_id,
    }),
  },
  'task.assigned': {
    subject: 'task',
    description: 'A client was assigned to a task.',
    data: z.strictObject({
      project_id: id,
      task_id: id,
      task_title: z.string(),
      client_id: id,
      email: z.string(),
      first_name: z.string(),
      last_name: z.string(),
    }),
  },
  'import.completed': {
    subject: 'import',
    description: 'A CSV import finished; its counts are final.',
    data: z.strictObject({ counts: importCountsJson, dry_run: z.boolean() }),
  },
  'agency.updated': {
    subject: 'agency',
    description: 'Owners or admins changed the agency settings or branding; only the fields that changed are named.',
    data: z.strictObject({
      fields: z.array(z.string()).min(1).describe('The settings that changed'),
      changes: z.record(z.string(), z.strictObject({ from: z.unknown(), to: z.unknown() })).describe('Old and new value of each changed setting'),
    }),
  },
  'user.invited': {
    subject: 'user',
    description: 'A teammate was invited (a firm user with status invited and a single-use link by email).',
    data: z.strictObject({ email: z.string(), role: z.enum(['admin', 'member']), invitation_id: id }),
  },
  'user.invitation_resent': {
    subject: 'user',
    description: 'An invited teammate was sent a new link (the old one stopped working).',
    data: z.strictObject({ invitation_id: id }),
  },
  'user.joined': {
    subject: 'user',
    description: 'An invited teammate set their name and password over their link and became active.',
    data: z.strictObject({ invitation_id: id, role: z.enum(['admin', 'member']) }),
  },
  'user.updated': {
    subject: 'user',
    description: "A firm user's name, role or password changed (the password itself is never recorded).",
    data: z.strictObject({
      fields: z.array(z.enum(['first_name', 'last_name', 'name', 'role', 'password'])).min(1),
      role: z.strictObject({ from: z.enum(['owner', 'admin', 'member']), to: z.enum(['owner', 'admin', 'member']) }).optional(),
    }),
  },
  'user.deactivated': {
    subject: 'user',
    description: 'A firm user was deactivated: their sessions ended and their API keys stopped.',
    data: z.strictObject({ email: z.string(), role: z.enum(['owner', 'admin', 'member']) }),
  },
  'api_key.created': {
    subject: 'api_key',
    description: 'An API key was created (its prefix only; the secret is never recorded).',
    data: z.strictObject({ name: z.string(), prefix: z.string() }),
  },
  'api_key.revoked': {
    subject: 'api_key',
    description: 'An API key was revoked.',
    data: z.strictObject({ prefix: z.string(), owner_id: id }),
  },
} as const satisfies Record<
  EventType,
  { subject: 'invitation' | 'client' | 'project' | 'task' | 'import' | 'agency' | 'user' | 'api_key'; description: string; data: z.ZodObject }
>;

export type EventData<T extends EventType> = z.infer<(typeof eventCatalog)[T]['data']>;

/** Parses one event's data against the catalog; throws (a programming error) when a writer drifts. */
export function parseEventData<T extends EventType>(type: T, data: unknown): EventData<T> {
  return eventCatalog[type].data.parse(data) as EventData<T>;
}

/**
 * `jsonb_build_object(...)` for a set-based statement that writes events of `type`, from one SQL expression
 * per key of the catalog's schema. Checked when the statement is built (module load): every required key
 * present, no key the catalog does not declare, so the SQL path cannot write a shape the API path does not.
 */
export function eventDataSql<T extends EventType>(type: T, fields: Partial<Record<keyof EventData<T>, string>>): string {
  const shape = eventCatalog[type].data.shape as Record<string, z.ZodType>;
  const given = Object.keys(fields);
  const unknownKey = given.find((k) => !(k in shape));
  if (unknownKey) throw new Error(`event ${type}: "${unknownKey}" is not in the catalog's data`);
  const missing = Object.keys(shape).find((k) => !given.includes(k) && !shape[k]!.safeParse(undefined).success);
  if (missing) throw new Error(`event ${type}: "${missing}" is required by the catalog's data`);
  const pairs = Object.entries(fields as Record<string, string>).map(([k, expr]) => `'${k}', ${expr}`);
  return `jsonb_build_object(${pairs.join(', ')})`;
}

/**
 * `insert into events ... select ...` for a set-based statement (a CTE or a statement of its own): one event
 * of `type` per row of `from` (the rest of the SELECT: `from x`, `from ins join ...`).
 */
export function insertEventsSql<T extends EventType>(
  type: T,
  e: { agencyId: string; subjectId: string; actorId?: string; data: Partial<Record<keyof EventData<T>, string>>; from: string },
): string {
  return `insert into events (agency_id, type, subject_id, actor_id, data)
       select ${e.agencyId}, '${type}', ${e.subjectId}, ${e.actorId ?? 'null'}, ${eventDataSql(type, e.data)}
         ${e.from}`;
}
