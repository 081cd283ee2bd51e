import type { JobBus } from '@onramp/core';
import { until } from './receiver.js';

export interface SettledJob {
  state: 'completed' | 'failed';
  failedReason: string | undefined;
  attemptsMade: number;
}

/**
 * Waits until a job has completed or failed. Its fields are read again once the state is final: read
 * with the state's first look, a job failing in between would show its attempts and reason from before.
 */
export function settledJob(queue: ReturnType<JobBus['queue']>, jobId: string, timeoutMs?: number): Promise<SettledJob> {
  return until(
    `job ${jobId} to settle`,
    async () => {
      const job = await queue.getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (state !== 'completed' && state !== 'failed') return null;
      const done = (await queue.getJob(jobId))!;
      return { state, failedReason: done.failedReason, attemptsMade: done.attemptsMade };
    },
    timeoutMs,
  );
}
