import { withTransaction, type Queryable } from '../db/pool.js';
import type { Deps } from '../context.js';
import { jobCatalog } from '../jobs/catalog.js';
import { insertEmail } from '../sql/emails.js';
import { takeRelayBatch } from '../sql/emailRelay.js';

export type EmailKind =
  'invitation' | 'invitation_resend' | 'invitation_reminder' | 'invitation_accepted' | 'password_reset' | 'teammate_invitation' | 'sign_in_link';

export interface QueueEmailInput {
  agencyId: string;
  kind: EmailKind;
  to: string;
  invitationId?: string | null;
  clientId?: string | null;
  firmUserId?: string | null;
  /** encryptToken(appSecret, token): the worker rebuilds the link; the token never sits in Redis. */
  tokenCiphertext?: Buffer | null;
}

/**
 * Transactional outbox: the email row is written in the caller's transaction, the job is enqueued after
 * commit (enqueueEmails). If the process dies in between, the sweep re-enqueues rows still `queued`.
 */
export async function queueEmailTx(tx: Queryable, input: QueueEmailInput): Promise<string> {
  return insertEmail(tx, input);
}

/** Deterministic job ids: enqueueing the same email twice is one job. */
export const sendEmailJobId = (emailId: string): string => `send-email-${emailId}`;

export async function enqueueEmails(deps: Pick<Deps, 'jobs'>, emailIds: string[]): Promise<void> {
  await deps.jobs.enqueueMany(
    'send-email',
    emailIds.map((emailId) => ({ payload: { emailId }, jobId: sendEmailJobId(emailId) })),
  );
}

/** The most emails one relay step hands to the queue (one addBulk, one delete). */
export const RELAY_BATCH = 1000;

/**
 * The most jobs the relay lets wait in the email queue: ten seconds of sending at EMAIL_RATE_PER_SECOND,
 * at least two relay batches. A burst of invites beyond what can be sent soon waits in email_relay, where
 * a row costs a few bytes of PostgreSQL, instead of becoming jobs at once: each job is a hash in Redis's
 * memory, and creating it costs Redis and the worker CPU the invites are competing for.
 */
export function relayBacklogLimit(config: Pick<Deps['config'], 'limits'>): number {
  return Math.max(2 * RELAY_BATCH, config.limits.emailRatePerSecond * 10);
}

/**
 * One step of the outbox relay (the worker runs it in a loop): takes up to `limit` emails the invite API
 * left in email_relay, no more than the email queue has room for (relayBacklogLimit), and adds their
 * send-email jobs, in one transaction. A failed add rolls the rows back for the next step; an add that
 * reached Redis before a failed commit is added again under the same job id, which BullMQ ignores.
 * Returns how many it handed over.
 */
export async function relayQueuedEmails(deps: Pick<Deps, 'pool' | 'jobs' | 'config'>, limit = RELAY_BATCH): Promise<number> {
  const room = relayBacklogLimit(deps.config) - (await deps.jobs.queue(jobCatalog['send-email'].queue).count());
  if (room <= 0) return 0;
  return withTransaction(deps.pool, async (tx) => {
    const ids = await takeRelayBatch(tx, Math.min(limit, room));
    await enqueueEmails(deps, ids);
    return ids.length;
  });
}

/** The most email ids one queue-emails job carries (the catalog's payload enforces the same bound). */
export const QUEUE_EMAILS_CHUNK = 5000;

export const queueEmailsJobId = (batchKey: string, chunkIndex: number): string => `queue-emails-${batchKey}-${chunkIndex}`;

/**
 * For bulk producers (the CSV import): one small queue-emails job per chunk of at most 5000 ids, which the
 * email worker expands into send-email jobs, instead of one job per email created here. The job ids are
 * deterministic, so calling this again with the same batchKey and ids adds nothing. batchKey must name
 * this exact set of ids (e.g. `<importId>-<batchNumber>`): a later call with the same key and other ids
 * is ignored by BullMQ, and those emails would wait for the outbox sweep.
 *
 * The jobs go to the head of the email queue (LIFO): behind thousands of waiting send-email jobs the
 * expansion would wait its turn, and the outbox sweep would meanwhile take the rows for lost.
 */
export async function enqueueEmailBatches(deps: Pick<Deps, 'jobs'>, emailIds: string[], batchKey: string): Promise<void> {
  if (batchKey === '' || batchKey.includes(':')) throw new Error(`enqueueEmailBatches: batchKey must be non-empty and contain no ':' (got "${batchKey}")`);
  for (let i = 0; i * QUEUE_EMAILS_CHUNK < emailIds.length; i++) {
    const chunk = emailIds.slice(i * QUEUE_EMAILS_CHUNK, (i + 1) * QUEUE_EMAILS_CHUNK);
    await deps.jobs.enqueue('queue-emails', { emailIds: chunk }, { jobId: queueEmailsJobId(batchKey, i), lifo: true });
  }
}
