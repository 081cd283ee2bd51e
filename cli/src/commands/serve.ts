import { createServer } from 'node:net';
import { ConfigError, migrate, createLogger, type Config } from '@onramp/core';
import { startApi, type RunningApi } from '@onramp/connector-api';
import { startWorker, type RunningWorker } from '@onramp/worker';
import { buildDeps, checkReachable, resolveInfra, type InfraMode } from '../runtime/stack.js';
import type { Command } from './types.js';

function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError('PORT', `${port} is already in use on ${host}; choose another PORT`) : err),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function serve(config: Config, roles: { api: boolean; worker: boolean }, mode: InfraMode): Promise<number> {
  const logger = createLogger(config.logLevel);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // A taken port is known before anything starts: say so without booting a database first.
  if (roles.api) await assertPortFree(config.port, config.host);
  const infra = await resolveInfra(config, mode, { needRedis: true, log: say });
  let deps: ReturnType<typeof buildDeps> | undefined;
  let api: RunningApi | undefined;
  let worker: RunningWorker | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await api?.stop().catch((err: unknown) => logger.error({ err }, 'api stop failed'));
      await worker?.close().catch((err: unknown) => logger.error({ err }, 'worker stop failed'));
      await deps?.close().catch((err: unknown) => logger.error({ err }, 'pool close failed'));
      await infra.stop().catch((err: unknown) => logger.error({ err }, 'embedded services stop failed'));
      logger.info('stopped');
    })());
  try {
    deps = buildDeps(config, infra, logger);
    await checkReachable(deps, { redis: true });
    await migrate(deps.pool, logger);
    if (roles.worker) worker = await startWorker(deps);
    if (roles.api) api = await startApi(deps);
  } catch (err) {
    await stop('startup-failure');
    throw err;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop(signal).then(() => process.exit(0));
    });
  }
  if (mode === 'own') {
    const base = config.publicBaseUrl;
    say('');
    say(`Onramp is running: ${base} (listening on ${api?.url})`);
    say(`  API reference   ${base}/v1/openapi.json`);
    say(`  Firm console    ${base}/console  (set a password: npx onramp user password --email EMAIL)`);
    if (!config.isProduction) say(`  Dev mailbox     ${base}/dev/mailbox`);
    say(`  Database        ${infra.embedded.postgres ? `embedded PostgreSQL under ${config.dataDir}/postgres` : 'DATABASE_URL'}`);
    say(`  Redis           ${infra.embedded.redis ? `private redis-server under ${config.dataDir}/redis` : 'REDIS_URL'}`);
    say('');
    say('Next, in another terminal:');
    say('  npx onramp agency create --name Acme --owner-email owner@acme.test');
    say(`  curl -H "Authorization: Bearer <the api_key it prints>" ${base}/v1/me`);
    say('Press Ctrl-C to stop everything.');
  } else {
    logger.info({ api: api?.url, worker: Boolean(worker) }, 'onramp ready');
  }
  return -1;
}

export const serveCommands: Command[] = [
  {
    name: 'start',
    usage: '',
    summary: 'Run the API and the worker; starts an embedded PostgreSQL and a private redis-server when DATABASE_URL / REDIS_URL are unset',
    run: ({ config }) => serve(config!, { api: true, worker: true }, 'own'),
  },
  {
    name: 'api',
    usage: '',
    summary: 'Run only the HTTP API (production: any number, against DATABASE_URL and REDIS_URL)',
    run: ({ config }) => serve(config!, { api: true, worker: false }, 'attach'),
  },
  {
    name: 'worker',
    usage: '',
    summary: 'Run only the background worker (production: any number, against DATABASE_URL and REDIS_URL)',
    run: ({ config }) => serve(config!, { api: false, worker: true }, 'attach'),
  },
];
