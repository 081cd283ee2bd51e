import { createPool } from '@onramp/core';
import { embeddedUrlFor } from './embedded.js';
import { runCli, type Running } from './harness.js';

/** An agency with an API key and `projectCount` empty projects on a running Onramp: what the invite load needs. */
export async function seedOnrampInvites(
  onramp: Running,
  projectCount: number,
): Promise<{ agencyId: string; headers: Record<string, string>; projects: string[] }> {
  const created = JSON.parse(await runCli(onramp.env, ['agency', 'create', '--name', 'Bench', '--owner-email', 'bench@agency.test', '--json']));
  const agencyId = created.agency_id as string;
  const headers = { authorization: `Bearer ${created.api_key as string}`, 'content-type': 'application/json' };
  const pool = createPool(embeddedUrlFor(onramp.dataDir), 1);
  const projects: string[] = [];
  try {
    for (let p = 0; p < projectCount; p++) {
      const { rows } = await pool.query<{ id: string }>('insert into projects (agency_id, name) values ($1, $2) returning id', [agencyId, `Bench ${p}`]);
      projects.push(rows[0]!.id);
    }
  } finally {
    await pool.end();
  }
  return { agencyId, headers, projects };
}

/** One invitation request's body: a new client each time (first and last name as the invite bench sends them). */
export const inviteBody = (i: number) => ({ email: `user${i}@client.test`, first_name: 'Bench', last_name: `User ${i}` });

/**
 * Run after a warm-up, before the measured window: the window measures a database in use, not its first
 * minute. A new database's tables have no statistics until autovacuum analyzes them (once 50 rows have
 * changed, at most `autovacuum_naptime`, a minute, later), and every plan cached on a pooled connection
 * meanwhile (named statements, the foreign-key checks' own) was made for empty tables; ANALYZE gives the
 * planner what autovacuum would and invalidates those plans. Run on each side of a comparison alike.
 */
export async function analyzeAsAutovacuumWould(db: { query(sql: string): Promise<unknown> }): Promise<void> {
  await db.query('analyze');
}
