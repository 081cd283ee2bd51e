import {
  ConfigError,
  JobBus,
  PrincipalCache,
  createLogger,
  createPool,
  createRedis,
  resolveAppSecret,
  type Config,
  type Deps,
  type Logger,
} from '@onramp/core';
import { startEmbeddedPostgres, runningEmbeddedPort, embeddedUrl } from './embeddedPostgres.js';
import { startPrivateRedis } from './redisServer.js';

export interface Infra {
  databaseUrl: string;
  redisUrl: string;
  embedded: { postgres: boolean; redis: boolean };
  /**
   * Stop what this process started, within `deadlineMs`: PostgreSQL first, then Redis, so a job still
   * running at that point fails on the database and is handed back to BullMQ (retried, resumed) while
   * Redis is still there to take it.
   */
  stop(deadlineMs?: number): Promise<void>;
}

export type InfraMode =
  /** `onramp start`: start what is not configured; refuse to run twice on one DATA_DIR. */
  | 'own'
  /** `agency create`, `migrate`: attach to a running embedded database, else start one for the command. */
  | 'attach-or-own'
  /** `onramp api` / `onramp worker`: configured URLs, or a running embedded stack; never start one. */
  | 'attach';

export async function resolveInfra(config: Config, mode: InfraMode, opts: { needRedis: boolean; log?: (line: string) => void }): Promise<Infra> {
  let stopDb: ((deadlineMs?: number) => Promise<void>) | undefined;
  let stopRedis: ((deadlineMs?: number) => Promise<void>) | undefined;
  const stopAll = async (deadlineMs = 10_000) => {
    await stopDb?.(deadlineMs * 0.7).catch(() => undefined);
    await stopRedis?.(deadlineMs * 0.3).catch(() => undefined);
  };
  const embedded = { postgres: false, redis: false };
  let databaseUrl = config.databaseUrl;
  let redisUrl = config.redisUrl;
  try {
    if (!databaseUrl) {
      if (mode === 'attach') {
        const port = runningEmbeddedPort(config.dataDir);
        if (port === null) {
          throw new Error(`DATABASE_URL: not set, and no Onramp PostgreSQL is running under ${config.dataDir} (run \`onramp start\` or set DATABASE_URL)`);
        }
        databaseUrl = embeddedUrl(config.dataDir, port);
      } else {
        const db = await startEmbeddedPostgres(config.dataDir, {
          port: config.embeddedPgPort,
          attach: mode === 'attach-or-own',
          ...(opts.log ? { log: () => undefined, notice: opts.log } : {}),
        });
        databaseUrl = db.url;
        embedded.postgres = db.owned;
        stopDb = db.stop;
      }
    }
    if (!redisUrl && opts.needRedis) {
      const redis = await startPrivateRedis(config.dataDir, {
        port: config.embeddedRedisPort,
        attach: mode !== 'own',
        ...(opts.log ? { log: opts.log, notice: opts.log } : {}),
      });
      if (mode === 'attach' && redis.owned) {
        await redis.stop();
        throw new Error(`REDIS_URL: not set, and no Onramp redis-server is running under ${config.dataDir}`);
      }
      redisUrl = redis.url;
      embedded.redis = redis.owned;
      stopRedis = redis.stop;
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    databaseUrl: databaseUrl!,
    redisUrl: redisUrl ?? '',
    embedded,
    stop: stopAll,
  };
}

function describe(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)}`;
  } catch {
    return 'the configured address';
  }
}

/**
 * Reach both services once at start, with a deadline, so a wrong URL is one clear line naming the
 * setting instead of a stack trace or a process that retries forever.
 */
export async function checkReachable(deps: Deps, opts: { redis: boolean; timeoutMs?: number }): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const withDeadline = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s (${what})`)), timeoutMs).unref()),
    ]);
  try {
    await withDeadline(deps.pool.query('select 1'), 'database');
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new ConfigError('DATABASE_URL', `cannot reach PostgreSQL at ${describe(deps.config.databaseUrl!)}: ${e.code ?? e.message}`);
  }
  if (!opts.redis) return;
  try {
    await withDeadline(deps.redis.ping(), 'redis');
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new ConfigError('REDIS_URL', `cannot reach Redis at ${describe(deps.config.redisUrl!)}: ${e.code ?? e.message}`);
  }
}

export interface OwnedDeps extends Deps {
  close(): Promise<void>;
}

export function buildDeps(config: Config, infra: { databaseUrl: string; redisUrl: string }, logger?: Logger): OwnedDeps {
  const resolved: Config = { ...config, databaseUrl: infra.databaseUrl, redisUrl: infra.redisUrl };
  const log = logger ?? createLogger(config.logLevel);
  const pool = createPool(infra.databaseUrl, config.databasePoolSize);
  const redis = createRedis(infra.redisUrl);
  redis.on('error', (err) => log.debug({ err: err.message }, 'redis connection error'));
  const jobs = new JobBus(redis, config.redisPrefix, (err) => log.debug({ err: err.message }, 'queue connection error'));
  return {
    config: resolved,
    appSecret: resolveAppSecret(config),
    pool,
    redis,
    jobs,
    logger: log,
    ...(config.apiKeyCacheSeconds > 0 ? { principals: new PrincipalCache(config.apiKeyCacheSeconds * 1000) } : {}),
    async close() {
      await jobs.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
