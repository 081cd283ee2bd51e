import { emailsSql, enqueueEmails } from '@onramp/core';
import type { Processor } from './types.js';

/**
 * queue-emails {emailIds}. A CSV import commits its rows in batches of ~2,000, each with
 * its outbox rows; adding one send-email job per email from the import worker cost a 100k-row import
 * ~5 s and 60-80 MB of that process's memory. The import hands over one small job per batch instead
 * (enqueueEmailBatches) and the email worker expands it here.
 *
 * Safe to run twice: send-email job ids are deterministic (BullMQ ignores an id it already holds) and
 * send-email itself returns early for an email already sent. Every id is handed on, whatever its status;
 * the counts say what the batch held, so an id with no row (missing) is visible on the completed job.
 */
export const queueEmails: Processor<'queue-emails'> = async ({ emailIds }, deps) => {
  const byStatus = await emailsSql.countEmailsByStatus(deps.pool, emailIds);
  const found = Object.values(byStatus).reduce((a, n) => a + n, 0);
  await enqueueEmails(deps, emailIds);
  const result = { enqueued: emailIds.length, byStatus, missing: emailIds.length - found };
  if (result.missing > 0) deps.logger.warn(result, 'queue-emails: some email ids have no row');
  return result;
};
