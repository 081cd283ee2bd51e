import { z } from 'zod';
import { clientDetailJson, clientJson, getClientDetailJson, isUuid, listClientsJson, notFound, pageQuery, pageSchema } from '@onramp/core';
import { defineRoute } from '../http/route.js';

export const clientReadRoutes = [
  defineRoute({
    method: 'get',
    path: '/clients',
    summary: 'List or find clients',
    description: '`email` is an exact, case-insensitive match ("Find Client").',
    tags: ['Clients'],
    query: pageQuery.extend({ email: z.string().max(320).optional() }),
    responses: { 200: { description: 'A page of clients', schema: pageSchema(clientJson) } },
    async handler({ deps, principal, query }) {
      return {
        status: 200,
        body: await listClientsJson(deps.pool, principal.agencyId, { email: query.email }, { limit: query.limit, cursor: query.cursor }),
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/clients/:id',
    summary: 'Get a client with their projects and tasks',
    tags: ['Clients'],
    params: z.object({ id: z.string() }),
    responses: { 200: { description: 'The client', schema: clientDetailJson } },
    async handler({ deps, principal, params }) {
      const client = isUuid(params.id) ? await getClientDetailJson(deps.pool, principal.agencyId, params.id) : null;
      if (!client) throw notFound('Client');
      return { status: 200, body: client };
    },
  }),
];
