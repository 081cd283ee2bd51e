import { z } from 'zod';
import { eventCatalog, eventTypes, listEventsJson } from '@onramp/core';
import { defineRoute } from '../http/route.js';

/** One schema per event type, discriminated by `type`, its `data` from the event catalog. */
const eventJson = z.discriminatedUnion(
  'type',
  eventTypes.map((type) =>
    z
      .object({
        id: z.string().describe('Ascending, stable; pass as `after` to read on'),
        type: z.literal(type),
        subject_id: z.string().nullable().describe(`The ${eventCatalog[type].subject} the event is about`),
        actor_id: z.string().nullable().describe('The firm user who made the change, when one did'),
        data: eventCatalog[type].data,
        created_at: z.string(),
      })
      .describe(eventCatalog[type].description),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

export const eventRoutes = [
  defineRoute({
    method: 'get',
    path: '/events',
    summary: 'The append-only event feed',
    description: 'Ascending by id. Events are written in the same transaction as the change they record. Read on with `after=<next_cursor>`.',
    tags: ['Events'],
    query: z.object({
      type: z.enum(eventTypes).optional(),
      after: z.coerce.number().int().min(0, 'must be 0 or more').default(0),
      limit: z.coerce.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    }),
    responses: { 200: { description: 'Events after the cursor', schema: z.object({ data: z.array(eventJson), next_cursor: z.string().nullable() }) } },
    async handler({ deps, principal, query }) {
      return {
        status: 200,
        body: await listEventsJson(deps.pool, { agencyId: principal.agencyId, type: query.type, after: query.after, limit: query.limit }),
      };
    },
  }),
];
