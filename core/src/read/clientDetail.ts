import { z } from 'zod';
import type { Queryable } from '../db/pool.js';
import { selectClientDetailRow } from '../sql/read/clientDetail.js';
import { toClientJson } from './clients.js';
import { clientJson } from './resources.js';

export const clientDetailJson = clientJson.extend({
  projects: z.array(
    z.object({
      id: z.uuid(),
      name: z.string(),
      external_id: z.string().nullable(),
      archived: z.boolean(),
      membership: z.enum(['member', 'invited', 'none']).describe('invited = a pending invitation; none = only task assignments remain'),
      tasks: z.array(z.object({ id: z.uuid(), title: z.string(), due_date: z.string().nullable(), position: z.number().int() })),
    }),
  ),
});
export type ClientDetailJson = z.infer<typeof clientDetailJson>;

/**
 * A client with every project of the agency they are in (member or invited) and the tasks they are
 * assigned to there, newest project first.
 */
export async function getClientDetailJson(db: Queryable, agencyId: string, id: string): Promise<ClientDetailJson | null> {
  const r = await selectClientDetailRow(db, agencyId, id);
  return r ? { ...toClientJson(r), projects: r.projects } : null;
}
