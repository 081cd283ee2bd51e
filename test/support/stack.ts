import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgency, createLogger, createPool, loadConfig, type Config } from '@onramp/core';
import { startApi, type RunningApi } from '@onramp/connector-api';
import { startWorker, type RunningWorker } from '@onramp/worker';
import { buildDeps, freePort, type OwnedDeps } from '@onramp/cli';
import { startSmtp, type TestSmtp } from './smtp.js';
import { removeTempDir } from './tempDir.js';
import { unique } from './unique.js';

export interface TestStack {
  deps: OwnedDeps;
  config: Config;
  api: RunningApi;
  url: string;
  worker: RunningWorker | null;
  smtp: TestSmtp | null;
  close(): Promise<void>;
}

export interface StackOptions {
  /** Start a BullMQ worker in-process (default true). */
  worker?: boolean;
  /** Start a real SMTP server and point SMTP_URL at it (default true). */
  smtp?: boolean;
  env?: Record<string, string>;
}

/**
 * The real HTTP API on a free port, a real worker, a real SMTP server, against the run's PostgreSQL and
 * Redis. Each stack gets its own BullMQ prefix so queues never cross between suites.
 */
export async function startStack(opts: StackOptions = {}): Promise<TestStack> {
  const databaseUrl = process.env.TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL;
  if (!databaseUrl || !redisUrl) throw new Error('test/support/globalSetup.ts did not run');
  const ownDb = opts.env?.DATABASE_URL ? null : await createStackDatabase(databaseUrl);
  const smtp = opts.smtp === false ? null : await startSmtp();
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-stack-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: ownDb?.url ?? databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: unique('t'),
    APP_SECRET: randomBytes(32).toString('base64url'),
    // Errors only: a failure that a test did not expect shows its cause in the run's output.
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    SWEEP_INTERVAL_SECONDS: '3600',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    ...(smtp ? { SMTP_URL: smtp.url } : {}),
    ...opts.env,
  });
  const deps = buildDeps(config, { databaseUrl: config.databaseUrl!, redisUrl: config.redisUrl! }, createLogger(config.logLevel));
  const worker = opts.worker === false ? null : await startWorker(deps);
  const api = await startApi(deps);
  return {
    deps,
    config: deps.config,
    api,
    url: api.url,
    worker,
    smtp,
    async close() {
      try {
        await api.stop();
        await worker?.close();
        // Leave no keys behind in the shared Redis.
        const keys = await deps.redis.keys(`${config.redisPrefix}:*`);
        for (let i = 0; i < keys.length; i += 500) await deps.redis.del(...keys.slice(i, i + 500));
        await deps.close();
        await smtp?.close();
        await ownDb?.drop();
      } finally {
        // Last: the API and the worker write there (the outbox) until they stop. A suite that runs processes of
        // its own on the stack's DATA_DIR waits for their exit before close().
        removeTempDir(dataDir);
      }
    },
  };
}

/** A fresh database cloned from the migrated template (globalSetup): a stack sees only its own rows. */
async function createStackDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = unique('stack_');
  const admin = createPool(baseUrl, 1);
  try {
    await admin.query(`create database ${name} template ${process.env.TEST_TEMPLATE_DB ?? 'onramp_template'}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const pool = createPool(baseUrl, 1);
      try {
        await pool.query(`drop database if exists ${name} with (force)`);
      } finally {
        await pool.end();
      }
    },
  };
}

export interface TestAgency {
  agencyId: string;
  userId: string;
  email: string;
  key: string;
}

export async function createTestAgency(stack: TestStack, name = 'Agency'): Promise<TestAgency> {
  const tag = unique('');
  const email = `owner-${tag}@agency-${tag}.test`;
  const created = await createAgency(stack.deps.pool, { name: `${name} ${tag}`, ownerEmail: email, ownerName: `Owner ${tag}` });
  return { agencyId: created.agency.id, userId: created.owner.id, email, key: created.apiKey };
}

/**
 * The tenant-isolation harness: two agencies with keys. Every endpoint that takes an id is tested with
 * B's id and A's key, and must answer 404 and change nothing.
 */
export async function createTwoAgencies(stack: TestStack): Promise<{ a: TestAgency; b: TestAgency }> {
  return { a: await createTestAgency(stack, 'Agency A'), b: await createTestAgency(stack, 'Agency B') };
}
