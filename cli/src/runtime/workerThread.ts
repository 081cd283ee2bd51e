import { Worker } from 'node:worker_threads';
import type { Config, Logger } from '@onramp/core';
import type { RunningWorker } from '@onramp/worker';

type Closed = Awaited<ReturnType<RunningWorker['close']>>;

/**
 * `onramp start` runs the worker in a thread of its own: its own event loop, so an import's parsing or a
 * burst of emails never holds up an API request (on one event loop the invite API lost about a third of
 * its rate to the email worker), and its own V8 heap, capped at WORKER_MAX_HEAP_MB, while the API's is not.
 * Same process, same pid: supervisors, signals and Ctrl-C see one Onramp. The thread builds its own pools.
 */
export async function startWorkerThread(
  config: Config,
  infra: { databaseUrl: string; redisUrl: string },
  maxHeapMb: number,
  logger: Logger,
  /** The thread died on its own (an uncaught error, out of heap): the process must not run on without a worker. */
  onCrash: (code: number) => void,
): Promise<RunningWorker> {
  const thread = new Worker(new URL('./workerThreadMain.js', import.meta.url), {
    workerData: { config, infra },
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
  });
  let exited = false;
  const exit = new Promise<number>((resolve) =>
    thread.once('exit', (code) => {
      exited = true;
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { type: string; error?: string }) => {
      if (m.type === 'ready') {
        thread.off('message', onMessage);
        resolve();
      } else if (m.type === 'failed') reject(new Error(m.error));
    };
    thread.on('message', onMessage);
    thread.once('error', reject);
    void exit.then((code) => reject(new Error(`the worker thread exited (${code}) before it was ready`)));
  });
  logger.info({ maxHeapMb }, 'worker running in its own thread');
  thread.on('error', (err) => logger.error({ err }, 'worker thread failed'));
  let closing = false;
  void exit.then((code) => {
    if (closing) return;
    logger.error({ code }, 'the worker thread stopped on its own: stopping Onramp, so that a supervisor restarts it whole');
    onCrash(code);
  });
  return {
    workers: [],
    async close(deadlineMs = 10_000): Promise<Closed> {
      closing = true;
      if (exited) return { abandoned: [] };
      const closed = new Promise<Closed>((resolve) => {
        thread.on('message', (m: { type: string; abandoned?: Closed['abandoned'] }) => {
          if (m.type === 'closed') resolve({ abandoned: m.abandoned ?? [] });
        });
        void exit.then(() => resolve({ abandoned: [] }));
      });
      thread.postMessage({ type: 'close', deadlineMs });
      const result = await closed;
      // The thread ends itself after answering; one that does not (a socket left open) is ended here.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exit, new Promise((r) => (timer = setTimeout(r, 1_000)))]).finally(() => clearTimeout(timer));
      if (!exited) await thread.terminate();
      return result;
    },
  };
}
