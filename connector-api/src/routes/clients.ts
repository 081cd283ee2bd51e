import { z } from 'zod';
import {
  createClient,
  createClientInput,
  clientDetailJson,
  clientJson,
  getClientDetailJson,
  isUuid,
  listClientsJson,
  notFound,
  pageQuery,
  pageSchema,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

export const clientReadRoutes = [
  defineRoute({
    method: 'get',
    path: '/clients',
    summary: 'List or find clients',
    description:
      'Newest first. `email` is an exact, case-insensitive match ("Find Client"); `q` a case-insensitive prefix of the email, first name, last name or full name; `status` one of inactive, invited, active, deactivated.',
    tags: ['Clients'],
    query: pageQuery.extend({
      email: z.string().max(320).optional(),
      q: z.string().trim().max(200).optional(),
      status: clientJson.shape.status.optional(),
    }),
    responses: { 200: { description: 'A page of clients', schema: pageSchema(clientJson) } },
    async handler({ deps, principal, query }) {
      return {
        status: 200,
        body: await listClientsJson(
          deps.pool,
          principal.agencyId,
          { email: query.email, q: query.q, status: query.status },
          { limit: query.limit, cursor: query.cursor },
        ),
      };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/clients',
    summary: 'Add a client without inviting them',
    description:
      "The client is created with status inactive: no email, no project. Invite them later to any project. An address already a client answers 409 (with client_id); a firm user's address 409 email_belongs_to_firm_user.",
    tags: ['Clients'],
    body: createClientInput,
    responses: { 201: { description: 'The new client (inactive)', schema: clientJson } },
    async handler({ deps, principal, body }) {
      return { status: 201, body: await createClient(deps, principal, body) };
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
