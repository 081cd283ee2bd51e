import { z } from 'zod';
import { changeMyPassword, changePasswordInput, updateMe, updateMeInput, userJson } from '@onramp/core';
import { defineRoute } from '../http/route.js';

const meResponse = z.object({
  agency: z.object({ id: z.uuid(), name: z.string() }),
  user: z.object({ id: z.uuid(), email: z.string(), name: z.string().nullable(), role: z.enum(['owner', 'admin', 'member']) }),
});

export const meRoutes = [
  defineRoute({
    method: 'get',
    path: '/me',
    summary: 'Who this API key belongs to',
    description: 'The Zapier connection test and label use this.',
    tags: ['Account'],
    responses: { 200: { description: 'The agency and firm user of the key', schema: meResponse } },
    async handler({ principal }) {
      return {
        status: 200,
        body: {
          agency: { id: principal.agencyId, name: principal.agencyName },
          user: { id: principal.userId, email: principal.userEmail, name: principal.userName, role: principal.role },
        } satisfies z.infer<typeof meResponse>,
      };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/me',
    summary: 'Set your own name',
    description: 'Any firm user. The name is shown as the inviter in emails ("Olivia from Acme") and as `created_by.name`.',
    tags: ['Account'],
    body: updateMeInput,
    responses: { 200: { description: 'You, as the team list shows you', schema: userJson } },
    async handler({ deps, principal, body }) {
      return { status: 200, body: await updateMe(deps, principal, body) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/me/password',
    summary: 'Change your console password',
    description:
      'The current password is required (422 naming `current_password` when wrong); attempts share the console sign-in limit of the address (429). Every console session of the user ends.',
    tags: ['Account'],
    body: changePasswordInput,
    secretBody: true,
    responses: { 204: { description: 'Changed' } },
    async handler({ deps, principal, body }) {
      await changeMyPassword(deps, principal, body);
      return { status: 204 };
    },
  }),
];
