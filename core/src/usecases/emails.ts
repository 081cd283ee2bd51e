import type { Queryable } from '../db/pool.js';
import type { Deps } from '../context.js';

export type EmailKind = 'invitation' | 'invitation_resend' | 'invitation_accepted' | 'password_reset';

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
  const { rows } = await tx.query<{ id: string }>(
    `insert into emails (agency_id, kind, to_address, invitation_id, client_id, firm_user_id, token_ciphertext)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [input.agencyId, input.kind, input.to, input.invitationId ?? null, input.clientId ?? null, input.firmUserId ?? null, input.tokenCiphertext ?? null],
  );
  return rows[0]!.id;
}

/** Deterministic job ids: enqueueing the same email twice is one job. */
export const sendEmailJobId = (emailId: string): string => `send-email-${emailId}`;

export async function enqueueEmails(deps: Pick<Deps, 'jobs'>, emailIds: string[]): Promise<void> {
  await deps.jobs.enqueueMany(
    'send-email',
    emailIds.map((emailId) => ({ payload: { emailId }, jobId: sendEmailJobId(emailId) })),
  );
}
