// A worker in its own process, built from the compiled packages, so a test can SIGKILL it mid-import.
import { createLogger, loadConfig } from '@onramp/core';
import { buildDeps } from '@onramp/cli';
import { startWorker } from '@onramp/worker';

const config = loadConfig(process.env);
const deps = buildDeps(config, { databaseUrl: config.databaseUrl, redisUrl: config.redisUrl }, createLogger(config.logLevel));
// Only the imports queue: the emails an import queues stay in Redis, where the test counts them.
const worker = await startWorker(deps, { queues: ['imports'], lockDurationMs: 3000, stalledIntervalMs: 1000 });
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await worker.close();
  await deps.close();
  process.exit(0);
});
