import { emailsSql, enqueueEmails, jobCatalog, recordEmailFailed, sendEmailJobId } from '@onramp/core';
import type { SweepStep } from './sweep.js';
import { clearFinishedJob } from './lostJobs.js';

/** An email still queued this long after its commit has most likely lost its job. */
const STUCK_AFTER_SECONDS = 60;
/** Re-enqueues an email at most this many rounds of the job's own attempts before giving up on it. */
const MAX_ATTEMPTS = jobCatalog['send-email'].attempts * 3;
const BATCH = 500;

/**
 * The second half of the transactional outbox: an `emails` row is committed first and its job enqueued
 * after, so a process that dies in between leaves a row with no job. Rows queued for over a minute (or
 * `sending` with a long-expired lease: the worker died mid-send and the stalled job was given up) get
 * their job back; one the relay still holds (email_relay, while the queue is full) is not lost.
 *
 * Each row's job is looked up first (clearFinishedJob): waiting/active/delayed means it will run (a
 * transient failure waits in `delayed`); completed/failed (or gone) with the row still unsent means the
 * job is lost, so the old job is removed and the same id is added again.
 */
export const requeueStuckEmails: SweepStep = async (deps) => {
  const rows = await emailsSql.findStuckEmails(deps.pool, STUCK_AFTER_SECONDS, BATCH);
  const queue = deps.jobs.queue(jobCatalog['send-email'].queue);
  let requeued = 0;
  let gaveUp = 0;
  for (const row of rows) {
    if ((await clearFinishedJob(queue, sendEmailJobId(row.id))).inHand) continue;
    if (row.attempts >= MAX_ATTEMPTS) {
      const full = await emailsSql.getEmailById(deps.pool, row.id);
      if (full) await recordEmailFailed(deps, full, `gave up after ${row.attempts} attempts`);
      gaveUp++;
      continue;
    }
    await enqueueEmails(deps, [row.id]);
    requeued++;
  }
  return { emailsRequeued: requeued, emailsGivenUp: gaveUp };
};
