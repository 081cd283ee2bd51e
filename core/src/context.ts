import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import type { JobBus } from './jobs/bus.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';
import type { PrincipalCache } from './usecases/principalCache.js';

/** What every use case may need; built once per process by the CLI or a test. */
export interface Deps {
  config: Config;
  appSecret: string;
  pool: Pool;
  redis: Redis;
  jobs: JobBus;
  logger: Logger;
  /** API processes: verified API keys kept for API_KEY_CACHE_SECONDS (absent = every request reads its key). */
  principals?: PrincipalCache;
}
