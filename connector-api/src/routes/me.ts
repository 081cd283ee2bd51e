import { z } from 'zod';
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
];
