import { randomUUID } from 'node:crypto';
import { emailsSql } from '@onramp/core';
import { createTwoAgencies, startStack, type TestStack } from '../support/stack.js';
import { createProjectViaApi } from '../support/fixtures.js';
import { client } from '../support/http.js';
import { withBuffers } from '../support/plans.js';

/**
 * The worker's statements per email, as PostgreSQL runs them on a pooled connection. On a new database a
 * connection keeps plans made while the tables were empty, and there are no statistics on agency_id
 * (migration 0097), so "the agency's rows" look like a few: a statement that lets the planner reach a row
 * through them reads all of the agency's rows for every email once the agency has grown (measured under
 * the invite bench: 11.6 ms an email). Checked by the buffers each execution reads (auto_explain), never
 * by time.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
});
afterAll(async () => {
  await stack.close();
});

async function inviteMany(url: string, key: string, projectId: string, n: number): Promise<string[]> {
  const api = client(url, key);
  const ids: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, j) =>
        api.post(`/v1/projects/${projectId}/invitations`, { email: `c${i + j}@plans.test`, first_name: 'C', last_name: `${i + j}`, send_email: false }),
      ),
    );
    for (const res of batch) {
      expect(res.status).toBe(201);
      ids.push(res.body.id as string);
    }
  }
  return ids;
}

describe("an email's invitation, project, client and inviter (getInvitationForEmail)", () => {
  it('are read by key with the plan the connection made on empty tables, and again after ANALYZE, however large the agency', async () => {
    const { a, b } = await createTwoAgencies(stack);
    const c = await stack.deps.pool.connect();
    try {
      // The plan a connection keeps for the named statement (PostgreSQL itself settles on it after five
      // calls), made now, while this database's tables are empty.
      await c.query('set plan_cache_mode = force_generic_plan');
      expect(await emailsSql.getInvitationForEmail(c, a.agencyId, randomUUID())).toBeNull();

      const projectId = await createProjectViaApi(stack.url, a.key);
      const ids = await inviteMany(stack.url, a.key, projectId, 3000);
      const target = ids[1500]!;

      const before = await withBuffers(c, () => emailsSql.getInvitationForEmail(c, a.agencyId, target));
      expect(before.result).toMatchObject({ id: target, status: 'pending', client_email: 'c1500@plans.test', client_last_name: '1500' });
      expect(before.result!.inviter_email).toBe(a.email);
      expect(before.buffers).toHaveLength(1);
      // Four primary-key probes read about 10 buffers; a plan through the agency's 3,000 clients reads hundreds.
      expect(before.buffers[0]).toBeLessThan(40);

      await stack.deps.pool.query('analyze invitations, clients, projects, firm_users');
      const after = await withBuffers(c, () => emailsSql.getInvitationForEmail(c, a.agencyId, target));
      expect(after.result).toMatchObject({ id: target });
      expect(after.buffers[0]).toBeLessThan(40);

      // Still scoped by agency: the same invitation id under another agency is no row.
      expect(await emailsSql.getInvitationForEmail(c, b.agencyId, target)).toBeNull();
    } finally {
      await c.query('reset plan_cache_mode');
      c.release();
    }
  });
});
