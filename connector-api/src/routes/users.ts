import { z } from 'zod';
import {
  deactivateUser,
  getUser,
  inviteTeammate,
  inviteTeammateInput,
  listUsers,
  resendTeammateInvitation,
  updateUser,
  updateUserInput,
  userJson,
} from '@onramp/core';
import { defineRoute } from '../http/route.js';

const idParams = z.object({ id: z.string().describe('The firm user id') });

export const userRoutes = [
  defineRoute({
    method: 'get',
    path: '/users',
    summary: 'The team: firm users of the agency',
    description: 'Active users first, then invited, then deactivated. Every firm user reads the team.',
    tags: ['Team'],
    responses: { 200: { description: 'The team', schema: z.object({ data: z.array(userJson) }) } },
    async handler({ deps, principal }) {
      return { status: 200, body: { data: await listUsers(deps, principal) } };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/users',
    summary: 'Invite a teammate',
    description:
      "Owners and admins. Creates the firm user (status `invited`) and emails them a single-use link to choose their name and password; the link expires after the agency's `invite_expiry_days`. " +
      'Inviting an address that is already invited returns that user (200, no second email). An address that is already on the team, or a client of the agency, answers 409 (`conflict`, `email_belongs_to_client`).',
    tags: ['Team'],
    body: inviteTeammateInput,
    responses: {
      201: { description: 'Invited: the user and their invitation', schema: userJson },
      200: { description: 'Already invited: the existing user, nothing sent', schema: userJson },
    },
    async handler({ deps, principal, body }) {
      const out = await inviteTeammate(deps, principal, body);
      return { status: out.created ? 201 : 200, body: out.user };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/users/:id',
    summary: 'One firm user',
    tags: ['Team'],
    params: idParams,
    responses: { 200: { description: 'The user', schema: userJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await getUser(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/users/:id',
    summary: 'Rename a teammate or change their role',
    description:
      'Owners and admins change names; only owners change roles (403 otherwise). The agency always keeps at least one active owner: demoting the last one answers 409.',
    tags: ['Team'],
    params: idParams,
    body: updateUserInput,
    responses: { 200: { description: 'The user', schema: userJson } },
    async handler({ deps, principal, params, body }) {
      return { status: 200, body: await updateUser(deps, principal, params.id, body) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/users/:id/deactivate',
    summary: 'Deactivate a teammate',
    description:
      'Owners and admins deactivate members; only owners deactivate admins and owners; the last active owner cannot be deactivated (409). ' +
      'Their console sessions end and their API keys answer 401 from the next request; a pending teammate invitation is revoked. ' +
      'Their past client invitations keep `created_by`; when a client accepts one, the agency\'s active owners get the "accepted" email instead.',
    tags: ['Team'],
    params: idParams,
    responses: { 200: { description: 'The user, deactivated', schema: userJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await deactivateUser(deps, principal, params.id) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/users/:id/resend-invitation',
    summary: 'Send an invited teammate a new link',
    description:
      "Owners and admins, for a teammate who has not joined yet. The old link stops working; the new one expires after the agency's current `invite_expiry_days`. At most one per `RESEND_MIN_INTERVAL_SECONDS` (429).",
    tags: ['Team'],
    params: idParams,
    responses: { 200: { description: 'The user with their new invitation', schema: userJson } },
    async handler({ deps, principal, params }) {
      return { status: 200, body: await resendTeammateInvitation(deps, principal, params.id) };
    },
  }),
];
