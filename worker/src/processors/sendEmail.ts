import { UnrecoverableError } from 'bullmq';
import {
  composeEmail,
  createMailer,
  emailsSql,
  PermanentEmailError,
  recordEmailCancelled,
  recordEmailFailed,
  recordEmailSent,
  type Deps,
  type Mailer,
} from '@onramp/core';
import type { Processor } from './types.js';

/**
 * How long one attempt owns an email (`sending`). Longer than every SMTP timeout of the transport put
 * together (15 s connect + 15 s greeting + 30 s socket), so a live attempt never loses its lease.
 */
const SEND_LEASE_SECONDS = 120;

const mailers = new WeakMap<Deps, Mailer>();

/** One mailer (one SMTP connection pool) per process, shared by the email queue's concurrent jobs. */
function mailerFor(deps: Deps): Mailer {
  let mailer = mailers.get(deps);
  if (!mailer) {
    mailer = createMailer(deps.config);
    mailers.set(deps, mailer);
  }
  return mailer;
}

/** Pooled SMTP connections stay open until closed: the worker calls this when it stops. */
export function closeMailer(deps: Deps): void {
  mailers.get(deps)?.close();
  mailers.delete(deps);
}

/**
 * send-email {emailId}. Exactly-once is impossible across SMTP and a database, so:
 * - a row already sent / cancelled / failed returns at once (a second run of the job sends nothing);
 * - the send is claimed first (queued -> sending, attempts + 1, a lease), so two runs can never send
 *   at the same time;
 * - a worker that dies between the SMTP "250 OK" and the update leaves the row `sending`; once the lease
 *   has expired the next run sends again (at-least-once). We prefer a rare duplicate to a silently lost
 *   invitation, and the duplicate carries the same Message-ID (<emailId@domain>), which mail clients
 *   such as Gmail fold into one message.
 */
export const sendEmail: Processor<'send-email'> = async ({ emailId }, deps, job) => {
  // Claimed straight away (the common case); only an email that cannot be claimed is read to say why.
  const email = await emailsSql.claimEmail(deps.pool, emailId, SEND_LEASE_SECONDS);
  if (!email) {
    const now = await emailsSql.getEmailById(deps.pool, emailId);
    // Another run holds a live lease: let BullMQ retry later; by then it is sent or the lease expired.
    if (now?.status === 'sending') throw new Error('another attempt is sending this email right now');
    return { skipped: now?.status ?? 'the email no longer exists' };
  }

  try {
    const composed = await composeEmail(deps, email);
    if ('cancel' in composed) {
      await recordEmailCancelled(deps, email, composed.cancel);
      deps.logger.info({ emailId, kind: email.kind, reason: composed.cancel }, 'email cancelled');
      return { cancelled: composed.cancel };
    }
    const sent = await mailerFor(deps).send(composed.send);
    await recordEmailSent(deps, email, sent.messageId);
    return { sent: sent.messageId, ...(sent.file ? { file: sent.file } : {}) };
  } catch (err) {
    const reason = describeFailure(err);
    const attempts = job.opts.attempts ?? 1;
    const last = job.attemptsMade + 1 >= attempts;
    if (isPermanent(err) || last) {
      const final = isPermanent(err) ? reason : `gave up after ${attempts} attempts: ${reason}`;
      await recordEmailFailed(deps, email, final);
      throw new UnrecoverableError(final);
    }
    // Transient: back to queued with the reason; BullMQ retries with the catalog's backoff.
    await emailsSql.releaseEmail(deps.pool, email.agency_id, email.id, reason);
    throw err instanceof Error ? err : new Error(reason);
  }
};

interface SmtpError {
  responseCode?: number;
  response?: string;
  code?: string;
  message?: string;
}

/** 5xx from the server is a final answer ("no such mailbox"); 4xx, refused connections and timeouts are not. */
function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentEmailError) return true;
  const e = err as SmtpError;
  if (typeof e?.responseCode === 'number') return e.responseCode >= 500;
  return e?.code === 'EENVELOPE';
}

function describeFailure(err: unknown): string {
  const e = err as SmtpError;
  if (err instanceof PermanentEmailError) return err.message;
  if (typeof e?.responseCode === 'number') {
    return `the mail server rejected the message: ${(e.response ?? `${e.responseCode} ${e.message ?? ''}`).trim()}`;
  }
  if (e?.code === 'ECONNECTION' || e?.code === 'ETIMEDOUT' || e?.code === 'ESOCKET' || e?.code === 'EDNS') {
    return `could not talk to the mail server (${e.code}): ${e.message ?? ''}`.trim();
  }
  return e?.message ?? String(err);
}
