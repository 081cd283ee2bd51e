import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPool, migrate } from '@onramp/core';
import { freePort, startEmbeddedPostgres, startPrivateRedis } from '@onramp/cli';
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { removeTempDir } from '../support/tempDir.js';
import { HEADER, agencySnapshot, uploadCsv, waitForImport } from './helpers.js';

/**
 * Redis and PostgreSQL each restart in the middle of an import. This suite owns both servers (the run's
 * shared ones must stay up for the other suites), restarts them on the same ports and data, and expects the
 * import to resume and end exactly as a clean run of the same file does.
 */
const ROWS = 16_000;
function file(): string {
  const lines = [HEADER];
  for (let i = 0; i < ROWS; i++) {
    const p = Math.floor(i / 8);
    lines.push(`Project ${p},rs-${p},Client onboarding,First${i},Last${i},r${i}@restart.test,Welcome call,Hello ${i}`);
  }
  return `${lines.join('\n')}\n`;
}

type Db = Awaited<ReturnType<typeof startEmbeddedPostgres>>;
type Rd = Awaited<ReturnType<typeof startPrivateRedis>>;

let dir: string;
let db: Db;
let redis: Rd;
let pgPort: number;
let redisPort: number;
let stack: TestStack;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onramp-restart-'));
  chmodSync(dir, 0o755);
  pgPort = await freePort();
  redisPort = await freePort();
  db = await startEmbeddedPostgres(join(dir, 'pg'), { port: pgPort, attach: false, fast: true });
  redis = await startPrivateRedis(join(dir, 'redis'), { port: redisPort, attach: false });
  const pool = createPool(db.url, 1);
  await migrate(pool);
  await pool.end();
  stack = await startStack({ smtp: false, env: { DATABASE_URL: db.url, REDIS_URL: redis.url, IMPORT_BATCH_SIZE: '200' } });
}, 120_000);

afterAll(async () => {
  try {
    await stack?.close();
    await redis?.stop();
    await db?.stop();
  } finally {
    removeTempDir(dir);
  }
}, 120_000);

/**
 * Holds the import still: the lanes' batches wait on import_lanes (each commits its checkpoint there) while
 * the API can still read progress. So a restart lands mid-import however fast this machine runs it, and
 * the progress seen just before is the progress at the restart. Returns the release.
 */
async function holdImport(): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  c.on('error', () => undefined); // Ended by the PostgreSQL restart when that comes while holding.
  await c.query('begin');
  await c.query('lock table import_lanes in exclusive mode');
  return {
    async release() {
      await c.query('commit').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/** The import's progress, riding out the moments when the API itself cannot reach its database. */
async function rowsDone(key: string, id: string): Promise<number> {
  try {
    const res = await fetch(`${stack.url}/v1/imports/${id}`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) return -1;
    return ((await res.json()) as { progress: { rows_done: number } }).progress.rows_done;
  } catch {
    return -1;
  }
}

async function waitForProgress(key: string, id: string, atLeast: number): Promise<number> {
  for (let i = 0; i < 600; i++) {
    const done = await rowsDone(key, id);
    if (done >= atLeast) return done;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`import ${id} never reached ${atLeast} rows`);
}

async function settle(key: string, id: string): Promise<{ status: string; counts: Record<string, number> }> {
  for (let i = 0; i < 600; i++) {
    if ((await rowsDone(key, id)) >= 0) return waitForImport(stack.url, key, id, 180_000);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the API never came back');
}

describe('an import across a Redis restart and a PostgreSQL restart', () => {
  it('resumes and ends exactly as a clean run does', async () => {
    const csv = file();
    const cleanAgency = await createTestAgency(stack, 'Clean');
    const up = await uploadCsv(stack.url, cleanAgency.key, csv);
    expect(up.status).toBe(202);
    const cleanResult = await waitForImport(stack.url, cleanAgency.key, up.body.id, 180_000);
    expect(cleanResult.status).toBe('completed');

    const agency = await createTestAgency(stack, 'Restarted');
    const started = await uploadCsv(stack.url, agency.key, csv);
    expect(started.status).toBe(202);
    const id = started.body.id as string;

    // Redis goes away mid-import and comes back on the same port with its AOF.
    await waitForProgress(agency.key, id, 1_000);
    let hold = await holdImport();
    let beforeRedis: number;
    try {
      beforeRedis = await rowsDone(agency.key, id);
      expect(beforeRedis).toBeLessThan(ROWS);
      await redis.stop();
      await new Promise((r) => setTimeout(r, 1_500));
      redis = await startPrivateRedis(join(dir, 'redis'), { port: redisPort, attach: false });
    } finally {
      await hold.release();
    }

    // The import goes on; then PostgreSQL stops under its batches in flight, and starts again on the same
    // data directory.
    await waitForProgress(agency.key, id, beforeRedis + 500);
    hold = await holdImport();
    try {
      const beforePg = await rowsDone(agency.key, id);
      expect(beforePg).toBeGreaterThan(beforeRedis);
      expect(beforePg).toBeLessThan(ROWS);
      await db.stop();
    } finally {
      await hold.release();
    }
    await new Promise((r) => setTimeout(r, 1_500));
    db = await startEmbeddedPostgres(join(dir, 'pg'), { port: pgPort, attach: false, fast: true });

    const result = await settle(agency.key, id);
    expect(result.status).toBe('completed');
    expect(result.counts).toEqual(cleanResult.counts);
    const [a, b] = [await agencySnapshot(stack.deps.pool, cleanAgency.agencyId), await agencySnapshot(stack.deps.pool, agency.agencyId)];
    expect(b).toEqual(a);
    // One email row per invitation, and no job enqueued twice for one email.
    const { rows } = await stack.deps.pool.query<{ n: number; d: number }>(
      'select count(*)::int as n, count(distinct invitation_id)::int as d from emails where agency_id = $1',
      [agency.agencyId],
    );
    expect(rows[0]!.n).toBe(rows[0]!.d);
    expect(rows[0]!.n).toBe(cleanResult.counts.clients_invited);
  }, 300_000);
});
