import { z } from 'zod';
import {
  createdHookJson,
  createHook,
  createHookInput,
  deleteHook,
  getFeed,
  hookEvents,
  hookJson,
  hookPayloadJson,
  listHookDeliveries,
  listHooks,
  pageQuery,
  pageSchema,
  webhookDeliveryJson,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const hookId = z.object({ id: z.uuid('must be a hook id') });
const feedParams = z.object({ event: z.enum(hookEvents, { error: `must be one of: ${hookEvents.join(', ')}` }) });
const feedQuery = z.object({
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100').default(50),
});
// Each item is the Invitation, Project (with tasks) or Import the event is about, with the event's identity.
const feedItem = hookPayloadJson;

export const hooksRoutes = [
  defineRoute({
    method: 'post',
    path: '/hooks',
    summary: 'Subscribe a URL to an event (REST hook)',
    description:
      'Onramp POSTs each later event of this type to target_url, signed with the returned secret (Onramp-Signature). ' +
      'target_url must be https and resolve to public addresses. The secret is only shown here.',
    tags: ['Hooks'],
    body: createHookInput,
    responses: { 201: { description: 'The subscription and its signing secret', schema: createdHookJson } },
    async handler({ deps, principal, body }) {
      return { status: 201, body: await createHook(deps, principal, body) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/hooks',
    summary: "List this agency's hook subscriptions",
    tags: ['Hooks'],
    query: pageQuery,
    responses: { 200: { description: 'A page of hooks (no secrets)', schema: pageSchema(hookJson) } },
    async handler({ deps, principal, query }) {
      return { status: 200, body: await listHooks(deps, principal, query) };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/hooks/:id',
    summary: 'Unsubscribe',
    tags: ['Hooks'],
    params: hookId,
    responses: { 204: { description: 'Deleted; pending deliveries are dropped' } },
    async handler({ deps, principal, params }) {
      await deleteHook(deps, principal, params.id);
      return { status: 204 };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/hooks/:id/deliveries',
    summary: 'Deliveries of a hook, newest first, each with its attempts',
    tags: ['Hooks'],
    params: hookId,
    query: pageQuery,
    responses: { 200: { description: 'A page of deliveries', schema: pageSchema(webhookDeliveryJson) } },
    async handler({ deps, principal, params, query }) {
      return { status: 200, body: await listHookDeliveries(deps, principal, params.id, query) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/feeds/:event',
    summary: 'Polling feed of an event, newest first',
    description: 'Each item is exactly the body a hook delivery of that event POSTs; one item per invitation / project / import.',
    tags: ['Hooks'],
    params: feedParams,
    query: feedQuery,
    responses: { 200: { description: 'The newest payloads', schema: z.object({ data: z.array(feedItem) }) } },
    async handler({ deps, principal, params, query }) {
      return { status: 200, body: await getFeed(deps, principal, params.event, query.limit) };
    },
  }),
];
