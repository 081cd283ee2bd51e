import { createServer } from 'node:net';
import { ConfigError, migrate, createLogger, type Config } from '@onramp/core';
import { startApi, type RunningApi } from '@onramp/connector-api';
import { startWorker, type RunningWorker } from '@onramp/worker';
import { buildDeps, checkReachable, resolveInfra, type InfraMode } from '../runtime/stack.js';
import { workerMaxHeapMb } from '../runtime/heap.js';
import { startWorkerThread } from '../runtime/workerThread.js';
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
  let deps: ReturnType<typeof buildDeps> | undefined;
  let api: RunningApi | undefined;
  let worker: RunningWorker | undefined;
  let stopping: Promise<number> | undefined;
  let hurry: () => void = () => undefined;
  const hurried = new Promise<void>((resolve) => (hurry = resolve));
  // Signals are ours from the start: a Ctrl-C while the database boots must still stop it (it is detached).
  let pendingSignal: string | undefined;
  let ready = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`onramp: ${signal} again: stopping now, without waiting for requests and jobs\n`);
      hurry();
      return;
    }
    if (!ready) {
      // Startup finishes its current step, then stops (below).
      pendingSignal ??= signal;
      return;
    }
    void stop(signal).then((code) => process.exit(code));
  };
  // SIGHUP too: a closed terminal must not leave the (detached) embedded services running.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  let infra: Awaited<ReturnType<typeof resolveInfra>>;
  try {
    infra = await resolveInfra(config, mode, { needRedis: true, log: say });
  } catch (err) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(signal, onSignal);
    throw err;
  }
  /**
   * The ordered, bounded stop: no new HTTP requests (503 + Retry-After on open connections) and the
   * workers stop taking jobs, both drained until the app deadline; then the pools; then the embedded
   * PostgreSQL and Redis, last, in what is left of SHUTDOWN_TIMEOUT_MS. Whatever is still running at a
   * deadline is abandoned and named, and the exit code says so (1). A second signal skips the waiting.
   */
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      const started = Date.now();
      const total = config.shutdownTimeoutMs;
      const embedded = infra.embedded.postgres || infra.embedded.redis;
      // The embedded services need a few seconds of their own (PostgreSQL's shutdown checkpoint).
      const servicesBudget = embedded ? Math.min(5_000, Math.round(total * 0.4)) : 0;
      const poolsBudget = Math.min(1_000, Math.round(total * 0.1));
      const appBudget = total - servicesBudget - poolsBudget;
      const left = (budgetEnd: number) => Math.max(0, started + budgetEnd - Date.now());
      const abandoned: string[] = [];
      logger.info({ signal, deadlineMs: total }, 'shutting down');
      const bounded = <T>(p: Promise<T>, ms: number, fallback: T) => {
        let timer: NodeJS.Timeout | undefined;
        return Promise.race([p, hurried.then(() => fallback), new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() =>
          clearTimeout(timer),
        );
      };
      const failed = (what: string) => (err: unknown) => {
        logger.error({ err }, `${what} failed`);
        return undefined;
      };
      await Promise.all([
        api &&
          bounded(api.stop(left(appBudget)), left(appBudget) + 500, { abandoned: -1 }).then((r) => {
            if (r.abandoned > 0) abandoned.push(`${r.abandoned} HTTP request${r.abandoned === 1 ? '' : 's'} in flight`);
            if (r.abandoned < 0) abandoned.push('the HTTP server');
          }, failed('api stop')),
        worker &&
          bounded(worker.close(left(appBudget)), left(appBudget) + 500, { abandoned: [] }).then((r) => {
            for (const job of r.abandoned) {
              const importId = job.name === 'csv-import' ? (job.data as { importId?: string }).importId : undefined;
              abandoned.push(
                `job ${job.name} ${job.id ?? ''}${importId ? ` (import ${importId}: resumes from its last checkpoint)` : ''}${job.requeued ? ', requeued' : ', left to the stalled-job check'}`,
              );
            }
          }, failed('worker stop')),
      ]);
      const poolsClosed = await bounded(
        (deps?.close() ?? Promise.resolve()).then(() => true, failed('pool close')),
        left(appBudget + poolsBudget),
        false,
      );
      if (!poolsClosed) abandoned.push('closing the database/Redis connections');
      if (embedded) await infra.stop(Math.max(1_000, left(total))).catch(failed('embedded services stop'));
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (abandoned.length) {
        process.stderr.write(`onramp: stopped after ${seconds} s (SHUTDOWN_TIMEOUT_MS=${total}); abandoned: ${abandoned.join('; ')}\n`);
        return 1;
      }
      logger.info({ seconds: Number(seconds) }, 'stopped');
      return 0;
    })());
  try {
    deps = buildDeps(config, infra, logger);
    await checkReachable(deps, { redis: true });
    if (!pendingSignal) await migrate(deps.pool, logger);
    if (roles.worker && !pendingSignal) {
      // With the API in the same process (`start`), the worker gets a thread of its own (workerThread.ts).
      worker = roles.api
        ? await startWorkerThread(deps.config, { databaseUrl: deps.config.databaseUrl!, redisUrl: deps.config.redisUrl! }, workerMaxHeapMb(), logger, () => {
            // The ordered stop, then a failing exit code.
            void stop('worker-crash').then(() => process.exit(1));
          })
        : await startWorker(deps);
    }
    if (roles.api && !pendingSignal) api = await startApi(deps);
  } catch (err) {
    await stop('startup-failure');
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(signal, onSignal);
    throw err;
  }
  ready = true;
  if (pendingSignal) {
    void stop(pendingSignal).then((code) => process.exit(code));
    return -1;
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
