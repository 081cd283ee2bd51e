// API keys cached in each API process (API_KEY_CACHE_SECONDS): a change to what a key may do reaches every
// process at once through PostgreSQL LISTEN/NOTIFY, and without that notice a key keeps working no longer
// than the cache time. Two real API processes' worth of stacks share one database here.
import { authenticateApiKey, issueApiKey, PrincipalCache, revokeApiKeyFor, updateUser } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { addFirmUser } from '../support/state.js';
import { until } from '../support/receiver.js';
import { unique } from '../support/unique.js';

let a: TestStack;
let b: TestStack;
let agency: TestAgency;

beforeAll(async () => {
  a = await startStack({ worker: false, smtp: false });
  // B caches for a minute: anything B stops accepting within this test's waits, it learned from a notice.
  b = await startStack({ worker: false, smtp: false, env: { DATABASE_URL: a.config.databaseUrl!, API_KEY_CACHE_SECONDS: '60' } });
  agency = await createTestAgency(a);
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

/** A teammate of the agency with a key of their own. */
async function teammate(role: 'admin' | 'member' = 'admin'): Promise<{ id: string; key: string }> {
  const user = await addFirmUser(a.deps.pool, { agencyId: agency.agencyId, email: `${role}-${unique()}@agency.test`, role, name: 'Tess Mate' });
  const { key } = await issueApiKey(a.deps.pool, { agencyId: agency.agencyId, userId: user.id });
  return { id: user.id, key };
}

const me = (stack: TestStack, key: string) => client(stack.url, key).get('/v1/me');
const statusOnB = (key: string) => me(b, key).then((r) => r.status);

/** B has heard the database's notices, so its cache is on (it is off until its LISTEN is in place). */
async function cachedOnB(key: string): Promise<void> {
  await until('B to cache the key', async () => (await statusOnB(key)) === 200 && b.deps.principals?.get(key.split('_')[1]!) !== undefined);
}

/** A change made with the notify triggers off: what a lost notice looks like to an API process. */
async function changeSilently(sql: string, params: unknown[]): Promise<void> {
  const tx = await a.deps.pool.connect();
  try {
    await tx.query('begin');
    await tx.query('alter table api_keys disable trigger api_keys_auth_change');
    await tx.query(sql, params);
    await tx.query('alter table api_keys enable trigger api_keys_auth_change');
    await tx.query('commit');
  } catch (err) {
    await tx.query('rollback');
    throw err;
  } finally {
    tx.release();
  }
}

describe('API key cache', () => {
  it('a key revoked through the API stops working in the same process at once and in another by the notice', async () => {
    const mate = await teammate();
    await cachedOnB(mate.key);
    const { body: keys } = await client(a.url, agency.key).get('/v1/api-keys');
    const id = (keys.data as Array<{ id: string; owner: { id: string } }>).find((k) => k.owner.id === mate.id)!.id;
    // A caches it too, then revokes it: A's very next request must fail (no waiting for any notice).
    expect((await me(a, mate.key)).status).toBe(200);
    expect((await client(a.url, agency.key).delete(`/v1/api-keys/${id}`)).status).toBe(204);
    const onA = await me(a, mate.key);
    expect(onA.status).toBe(401);
    expect(onA.body.detail).toMatch(/revoked/);
    // B caches for 60 s, so only the notice can make it refuse within this wait.
    await until('B to refuse the revoked key', async () => (await statusOnB(mate.key)) === 401, 10_000);
  });

  it('the process that makes the change forgets its cached keys itself, before the notice comes back', async () => {
    // No listener here: only the use case's own forgetting can make these checks pass.
    const cache = new PrincipalCache(60_000);
    cache.setLive(true);
    const deps = { ...a.deps, principals: cache };
    const owner = await authenticateApiKey(a.deps.pool, `Bearer ${agency.key}`, cache);
    const mate = await teammate('admin');
    const header = `Bearer ${mate.key}`;
    expect((await authenticateApiKey(a.deps.pool, header, cache)).role).toBe('admin');
    await updateUser(deps, owner, mate.id, { role: 'member' });
    expect((await authenticateApiKey(a.deps.pool, header, cache)).role).toBe('member');
    const { rows } = await a.deps.pool.query<{ id: string }>('select id from api_keys where user_id = $1', [mate.id]);
    await revokeApiKeyFor(deps, owner, rows[0]!.id);
    await expect(authenticateApiKey(a.deps.pool, header, cache)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('a key revoked by hand in SQL (the CLI, an operator) stops working everywhere by the notice', async () => {
    const mate = await teammate();
    await cachedOnB(mate.key);
    await a.deps.pool.query('update api_keys set revoked_at = now() where prefix = $1', [mate.key.split('_')[1]]);
    await until('B to refuse the key revoked in SQL', async () => (await statusOnB(mate.key)) === 401, 10_000);
  });

  it('deactivating the user, or changing their role, reaches the other process', async () => {
    const mate = await teammate('admin');
    const project = { name: `P ${unique()}` };
    await cachedOnB(mate.key);
    expect((await client(b.url, mate.key).post('/v1/projects', project)).status).toBe(201);
    expect((await client(a.url, agency.key).patch(`/v1/users/${mate.id}`, { role: 'member' })).status).toBe(200);
    await until('B to apply the new role', async () => (await client(b.url, mate.key).post('/v1/projects', { name: `P ${unique()}` })).status === 403, 10_000);
    expect((await client(a.url, agency.key).post(`/v1/users/${mate.id}/deactivate`, {})).status).toBe(200);
    await until('B to refuse the deactivated user', async () => (await statusOnB(mate.key)) === 401, 10_000);
  });

  it('without the notice, a revoked key works no longer than API_KEY_CACHE_SECONDS', async () => {
    const c = await startStack({ worker: false, smtp: false, env: { DATABASE_URL: a.config.databaseUrl!, API_KEY_CACHE_SECONDS: '1' } });
    try {
      const mate = await teammate();
      await until('C to cache the key', async () => (await me(c, mate.key)).status === 200 && c.deps.principals?.get(mate.key.split('_')[1]!) !== undefined);
      await changeSilently('update api_keys set revoked_at = now() where prefix = $1', [mate.key.split('_')[1]]);
      // Still cached: the notice was lost, so C has not heard of the change...
      expect((await me(c, mate.key)).status).toBe(200);
      // ...and a second later the entry has expired and the key is read again.
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await me(c, mate.key)).status).toBe(401);
    } finally {
      await c.close();
    }
  });

  it('losing the LISTEN connection empties the cache, so nothing cached before can outlive a missed notice', async () => {
    const mate = await teammate();
    await cachedOnB(mate.key);
    const listeners = async () =>
      (
        await a.deps.pool.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and query = 'listen onramp_auth_changed'`)
      ).rows.map((r) => r.pid);
    const before = await listeners();
    expect(before.length).toBeGreaterThanOrEqual(2);
    await a.deps.pool.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [before]);
    // Back once both processes have listened again (a new backend each).
    await until('both listeners to reconnect', async () => (await listeners()).filter((p) => !before.includes(p)).length >= 2, 15_000);
    await changeSilently('update api_keys set revoked_at = now() where prefix = $1', [mate.key.split('_')[1]]);
    expect(await statusOnB(mate.key)).toBe(401);
  });
});
