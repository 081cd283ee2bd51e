import { UnrecoverableError } from 'bullmq';
import { failImport, ImportFatalError, runImport } from '@onramp/core';
import type { Processor } from './types.js';

/**
 * Runs or resumes a CSV import from its checkpoint. A fatal problem, or the last attempt failing, marks the
 * import failed with a reason GET /v1/imports/:id shows; other errors (database or Redis restarting) are
 * retried by BullMQ and resume after the last committed batch.
 */
export const csvImport: Processor<'csv-import'> = async ({ importId }, deps, job) => {
  try {
    const outcome = await runImport(deps, importId, {
      onProgress: (done, total) => void job.updateProgress({ rows_done: done, rows_total: total }).catch(() => undefined),
    });
    return { outcome };
  } catch (err) {
    const fatal = err instanceof ImportFatalError;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (fatal || lastAttempt) {
      const reason = fatal ? (err as Error).message : `the import failed after ${job.attemptsMade + 1} attempts: ${(err as Error).message}`;
      await failImport(deps, importId, reason).catch((e: unknown) => deps.logger.error({ err: e, importId }, 'could not record the import failure'));
      throw new UnrecoverableError(reason);
    }
    deps.logger.warn({ importId, attempt: job.attemptsMade + 1, err: (err as Error).message }, 'csv-import attempt failed; it will resume');
    throw err;
  }
};
