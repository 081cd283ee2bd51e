import { z } from 'zod';
import { addClientToProject, clientJson, deactivateClient, reactivateClient, removeClientFromProject } from '@onramp/core';
import { defineRoute } from '../http/route.js';

const idParams = z.object({ id: z.uuid('must be a UUID') });

export const clientActionRoutes = [
  defineRoute({
    method: 'post',
    path: '/clients/:id/deactivate',
    summary: 'Deactivate a client',
    description: 'Access ends at once: portal sessions are revoked, memberships suspended, pending invitations revoked.',
    tags: ['Clients'],
    params: idParams,
    responses: { 200: { description: 'The deactivated client', schema: clientJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await deactivateClient(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/clients/:id/reactivate',
    summary: 'Reactivate a deactivated client',
    description:
      'A client who had accepted before is active again in the projects they kept; one who never accepted returns to inactive and can be invited again.',
    tags: ['Clients'],
    params: idParams,
    responses: { 200: { description: 'The client', schema: clientJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await reactivateClient(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/projects/:id/members',
    summary: 'Add an active client to a project without an email',
    description:
      '"From another workspace": a client who is active (has accepted an invitation before) joins the project at once, with no email (201 added, 200 already a member). A client who is not active answers 409: invite them instead.',
    tags: ['Clients'],
    params: idParams,
    body: z.object({ client_id: z.uuid('must be a UUID') }),
    responses: {
      201: { description: 'Added', schema: z.object({ result: z.literal('added'), client: clientJson }) },
      200: { description: 'Already a member', schema: z.object({ result: z.literal('already_member'), client: clientJson }) },
    },
    async handler({ deps, principal, params, body }) {
      const out = await addClientToProject(deps, principal, params.id, body.client_id);
      return { status: out.result === 'added' ? 201 : 200, body: out };
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/projects/:id/members/:clientId',
    summary: 'Remove a client from a project',
    description:
      'Deletes the membership, the task assignments in that project and any pending invitation to it. A client in no project can no longer open the portal.',
    tags: ['Clients'],
    params: z.object({ id: z.uuid('must be a UUID'), clientId: z.uuid('must be a UUID') }),
    responses: { 204: { description: 'Removed' } },
    async handler({ deps, principal, params }) {
      await removeClientFromProject(deps, principal, params.id, params.clientId);
      return { status: 204 };
    },
  }),
];
