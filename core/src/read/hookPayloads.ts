import { z } from 'zod';
import type { Queryable } from '../db/pool.js';
import { eventCatalog } from '../events/catalog.js';
import { newestEventsOfType, type EventRow } from '../sql/events.js';
import { hookEvents, type HookEvent } from '../sql/hooks.js';
import { selectImportRows } from '../sql/read/imports.js';
import { toImportJson } from './imports.js';
import { getInvitationsJson } from './invitations.js';
import { selectProjectRows } from '../sql/read/projects.js';
import { listTasksJson, toProjectJson } from './projects.js';
import { importJson, invitationJson, projectJson, taskJson, type ImportJson, type InvitationJson, type ProjectJson, type TaskJson } from './resources.js';

/**
 * What a webhook delivery POSTs and what GET /v1/feeds/:event lists: one function builds both, so a Zap
 * sees the same fields whether it polls or is pushed to. The entity is read as it is when the payload is
 * built (delivery time or poll time), not as it was when the event happened; `event`, `event_id` and
 * `occurred_at` pin down which change the payload announces.
 */
export type HookPayload = (InvitationJson | (ProjectJson & { tasks: TaskJson[] }) | ImportJson) & {
  id: string;
  event: HookEvent;
  event_id: string;
  occurred_at: string;
};

const entityOf = {
  invitation: invitationJson,
  project: projectJson.extend({ tasks: z.array(taskJson) }),
  import: importJson,
} as const;

/**
 * The payload of each hook event, for the OpenAPI document: the entity the event is about (Invitation,
 * Project with its tasks, Import) plus the event's identity, discriminated by `event`.
 */
export const hookPayloadSchemas = Object.fromEntries(
  hookEvents.map((event) => {
    const subject = eventCatalog[event].subject as keyof typeof entityOf;
    return [
      event,
      entityOf[subject]
        .extend({
          id: z.uuid().describe(`The ${subject}'s id`),
          event: z.literal(event),
          event_id: z.string().describe('The id of the event in GET /v1/events'),
          occurred_at: z.string().describe('When the event happened (the entity is read as it is when the payload is built)'),
        })
        .describe(`${eventCatalog[event].description} The body of a ${event} delivery and of an item of GET /v1/feeds/${event}.`),
    ];
  }),
) as unknown as Record<HookEvent, z.ZodObject>;

export const hookPayloadJson = z.discriminatedUnion('event', hookEvents.map((e) => hookPayloadSchemas[e]) as [z.ZodObject, ...z.ZodObject[]]);

export type PayloadEvent = Pick<EventRow, 'id' | 'agency_id' | 'type' | 'subject_id' | 'created_at'>;

async function projectsWithTasks(db: Queryable, agencyId: string, ids: string[]): Promise<Map<string, ProjectJson & { tasks: TaskJson[] }>> {
  const out = new Map<string, ProjectJson & { tasks: TaskJson[] }>();
  if (ids.length === 0) return out;
  const rows = await selectProjectRows(db, agencyId, ids);
  for (const r of rows) out.set(r.id, { ...toProjectJson(r), tasks: [] });
  if (rows.length === 0) return out;
  // listTasksJson itself, so a payload's tasks can never drift from GET /v1/projects/:id/tasks.
  await Promise.all(
    rows.map(async (r) => {
      out.get(r.id)!.tasks = await listTasksJson(db, agencyId, r.id);
    }),
  );
  return out;
}

async function importsById(db: Queryable, agencyId: string, ids: string[], publicBaseUrl: string): Promise<Map<string, ImportJson>> {
  if (ids.length === 0) return new Map();
  const rows = await selectImportRows(db, agencyId, ids);
  return new Map(rows.map((r) => [r.id, toImportJson(r, publicBaseUrl)]));
}

/**
 * Payloads for events of one agency, keyed by event id. An event whose entity no longer exists (or has no
 * subject) has no payload and is absent from the map.
 */
export async function buildHookPayloads(db: Queryable, agencyId: string, events: PayloadEvent[], publicBaseUrl: string): Promise<Map<number, HookPayload>> {
  const subjects = (prefix: string) => [
    ...new Set(events.filter((e) => e.type.startsWith(prefix) && e.subject_id && e.agency_id === agencyId).map((e) => e.subject_id!)),
  ];
  const invitationIds = subjects('invitation.');
  const [invitations, projects, imports] = await Promise.all([
    invitationIds.length ? getInvitationsJson(db, agencyId, invitationIds) : Promise.resolve(new Map<string, InvitationJson>()),
    projectsWithTasks(db, agencyId, subjects('project.')),
    importsById(db, agencyId, subjects('import.'), publicBaseUrl),
  ]);
  const out = new Map<number, HookPayload>();
  for (const e of events) {
    if (!e.subject_id || e.agency_id !== agencyId) continue;
    const entity = e.type.startsWith('invitation.')
      ? invitations.get(e.subject_id)
      : e.type.startsWith('project.')
        ? projects.get(e.subject_id)
        : e.type.startsWith('import.')
          ? imports.get(e.subject_id)
          : undefined;
    if (!entity) continue;
    out.set(e.id, {
      ...entity,
      id: e.subject_id,
      event: e.type as HookEvent,
      event_id: String(e.id),
      occurred_at: e.created_at.toISOString(),
    });
  }
  return out;
}

/**
 * The polling feed: newest first, one item per entity (the newest event about it). Reads twice the limit
 * of events so that duplicates and vanished entities rarely leave the page short.
 */
export async function listFeedPayloads(db: Queryable, agencyId: string, event: HookEvent, limit: number, publicBaseUrl: string): Promise<HookPayload[]> {
  const rows = await newestEventsOfType(db, agencyId, event, limit * 2);
  const seen = new Set<string>();
  const newest = rows.filter((e) => (seen.has(e.subject_id!) ? false : (seen.add(e.subject_id!), true))).slice(0, limit);
  const payloads = await buildHookPayloads(db, agencyId, newest, publicBaseUrl);
  return newest.map((e) => payloads.get(e.id)).filter((p): p is HookPayload => p !== undefined);
}
