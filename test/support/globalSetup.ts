import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, startPrivateRedis } from '@onramp/cli';
import { createPool, migrate } from '@onramp/core';

const TEMPLATE_DB = 'onramp_template';

/**
 * One real PostgreSQL and one real redis-server for the whole run, through the same code `onramp start`
 * uses. Suites isolate by tenant (fresh agencies) and by a unique BullMQ prefix, not by mocks.
 */
export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-test-'));
  chmodSync(dir, 0o755);
  const db = await startEmbeddedPostgres(join(dir, 'data'), { attach: false, fast: true });
  const redis = await startPrivateRedis(join(dir, 'data'), { attach: false });
  const pool = createPool(db.url, 2);
  await migrate(pool);
  await pool.end();
  // A migrated copy that nothing connects to: each test stack clones its own database from it, so one suite's
  // worker (webhook dispatcher, sweeps) never acts on another suite's rows. The copy is made from another
  // database's connection: the source must have no sessions.
  const adminUrl = new URL(db.url);
  const source = adminUrl.pathname.slice(1);
  adminUrl.pathname = '/postgres';
  const admin = createPool(adminUrl.toString(), 1);
  try {
    await admin.query(`create database ${TEMPLATE_DB} template ${source}`);
  } finally {
    await admin.end();
  }
  process.env.TEST_TEMPLATE_DB = TEMPLATE_DB;
  process.env.TEST_DATABASE_URL = db.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_ROOT_DIR = dir;
  (globalThis as Record<string, unknown>).__onrampStop = async () => {
    await redis.stop();
    await db.stop();
  };
}
