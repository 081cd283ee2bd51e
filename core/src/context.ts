import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import type { JobBus } from './jobs/bus.js';
import type { Logger } from './logger.js';
import type { Redis } from './redis.js';

/** What every use case may need; built once per process by the CLI or a test. */
export interface Deps {
  config: Config;
  appSecret: string;
  pool: Pool;
  redis: Redis;
  jobs: JobBus;
  logger: Logger;
}
