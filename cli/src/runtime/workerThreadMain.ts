import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type Config } from '@onramp/core';
import { startWorker } from '@onramp/worker';
import { buildDeps } from './stack.js';

// The worker thread of `onramp start` (see workerThread.ts): its own deps, the same startWorker as
// `onramp worker`, closed on the main thread's word and answered with what it abandoned.
const { config, infra } = workerData as { config: Config; infra: { databaseUrl: string; redisUrl: string } };
const port = parentPort!;
const deps = buildDeps(config, infra, createLogger(config.logLevel));
try {
  const worker = await startWorker(deps);
  port.on('message', (m: { type: string; deadlineMs?: number }) => {
    if (m.type !== 'close') return;
    void (async () => {
      const { abandoned } = await worker.close(m.deadlineMs);
      await deps.close().catch(() => undefined);
      // Plain data only crosses to the main thread.
      port.postMessage({ type: 'closed', abandoned: abandoned.map((a) => ({ ...a, data: JSON.parse(JSON.stringify(a.data ?? null)) as unknown })) });
      // In a worker thread this ends the thread only; a connection an abandoned job still holds goes with it.
      setImmediate(() => process.exit(0));
    })();
  });
  port.postMessage({ type: 'ready' });
} catch (err) {
  await deps.close().catch(() => undefined);
  port.postMessage({ type: 'failed', error: err instanceof Error ? err.message : String(err) });
  setImmediate(() => process.exit(1));
}
