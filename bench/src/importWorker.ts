// The import worker alone in its own process, so its peak RSS is the worker's and nobody else's.
import { createLogger, loadConfig } from '@onramp/core';
import { buildDeps } from '@onramp/cli';
import { startWorker } from '@onramp/worker';

const config = loadConfig(process.env);
const deps = buildDeps(config, { databaseUrl: config.databaseUrl!, redisUrl: config.redisUrl! }, createLogger('warn'));
const worker = await startWorker(deps, { queues: ['imports'] });
const report = () => {
  const u = process.resourceUsage();
  process.stdout.write(`maxrss ${u.maxRSS}\ncpu ${Math.round((u.userCPUTime + u.systemCPUTime) / 1000)}\n`);
};
// The CPU spent starting up goes out before `ready`, so the bench can leave it out of the import's.
report();
process.stdout.write('ready\n');
const timer = setInterval(report, 250);
process.on('SIGTERM', async () => {
  clearInterval(timer);
  report();
  await worker.close();
  await deps.close();
  process.exit(0);
});
