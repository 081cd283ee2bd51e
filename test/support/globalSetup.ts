import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, startPrivateRedis } from '@onramp/cli';
import { createPool, migrate } from '@onramp/core';

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
  process.env.TEST_DATABASE_URL = db.url;
  process.env.TEST_REDIS_URL = redis.url;
  process.env.TEST_ROOT_DIR = dir;
  (globalThis as Record<string, unknown>).__onrampStop = async () => {
    await redis.stop();
    await db.stop();
  };
}
