import type { Job, Queue } from 'bullmq';

/** States in which a job will still run: whatever it carries is in hand. */
const alive = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);

type JobLook = { inHand: true } | { inHand: false; state: string; failedReason?: string };

/** A job's state, or `missing` when BullMQ keeps no job under the id. */
export async function jobState(queue: Queue, jobId: string): Promise<{ job: Job | undefined; state: string }> {
  const job = await queue.getJob(jobId);
  return { job, state: job ? await job.getState() : 'missing' };
}

export const stillRuns = (state: string): boolean => alive.has(state);

/**
 * For a sweep that re-adds lost jobs under their deterministic ids. A plain re-add is not enough: BullMQ
 * ignores an add whose job id still exists, and it keeps completed jobs for a day and failed ones for a
 * week. So the job under the id is looked at: one that will still run means its work is in hand; a
 * finished one is removed, so the same id can be added again (with its former state and failure reason,
 * for the log); one that is locked as it is removed was just taken by a worker, so it is in hand too.
 */
export async function clearFinishedJob(queue: Queue, jobId: string): Promise<JobLook> {
  const { job, state } = await jobState(queue, jobId);
  if (stillRuns(state)) return { inHand: true };
  if (job) {
    try {
      await job.remove();
    } catch {
      return { inHand: true };
    }
  }
  return { inHand: false, state, ...(job?.failedReason ? { failedReason: job.failedReason } : {}) };
}
