import { createAgency, encryptToken, enqueueEmails, hashToken, queueEmailTx, randomToken, TokenPurpose, withTransaction, type EmailKind } from '@onramp/core';
import { settledJob } from '../support/jobs.js';
import type { TestStack } from '../support/stack.js';
import { unique } from '../support/unique.js';
import { setAgencyBranding } from '../support/state.js';

export interface InviteFixture {
  agencyId: string;
  userId: string;
  ownerEmail: string;
  projectId: string;
  clientId: string;
  clientEmail: string;
  invitationId: string;
  token: string;
  tokenCiphertext: Buffer;
}

export interface InviteOptions {
  agencyName?: string;
  branding?: Parameters<typeof setAgencyBranding>[2];
  ownerName?: string;
  projectName?: string;
  firstName?: string;
  lastName?: string;
  message?: string | null;
}

/** An agency with a project, a client and a pending invitation (token hashed and encrypted as the use cases do). */
export async function inviteFixture(stack: TestStack, o: InviteOptions = {}): Promise<InviteFixture> {
  const t = unique();
  const ownerEmail = `owner-${t}@agency-${t}.test`;
  const created = await createAgency(stack.deps.pool, { name: o.agencyName ?? `Agency ${t}`, ownerEmail, ownerName: o.ownerName ?? `Olivia Owner` });
  const agencyId = created.agency.id;
  if (o.branding) await setAgencyBranding(stack.deps.pool, agencyId, o.branding);
  const db = stack.deps.pool;
  const project = await db.query<{ id: string }>('insert into projects (agency_id, name, created_by) values ($1, $2, $3) returning id', [
    agencyId,
    o.projectName ?? 'Website redesign',
    created.owner.id,
  ]);
  const clientEmail = `client-${t}@example.test`;
  const client = await db.query<{ id: string }>(
    "insert into clients (agency_id, email, first_name, last_name, status) values ($1, $2, $3, $4, 'invited') returning id",
    [agencyId, clientEmail, o.firstName ?? 'Cleo', o.lastName ?? 'Client'],
  );
  const token = randomToken();
  const tokenCiphertext = encryptToken(stack.deps.appSecret, token);
  const inv = await db.query<{ id: string }>(
    `insert into invitations (agency_id, project_id, client_id, email, created_by, token_hash, token_ciphertext, message, expires_at, delivery_status)
     values ($1, $2, $3, $4, $5, $6, $7, $8, now() + interval '7 days', 'queued') returning id`,
    [
      agencyId,
      project.rows[0]!.id,
      client.rows[0]!.id,
      clientEmail,
      created.owner.id,
      hashToken(stack.deps.appSecret, token, TokenPurpose.invitation),
      tokenCiphertext,
      o.message ?? null,
    ],
  );
  return {
    agencyId,
    userId: created.owner.id,
    ownerEmail,
    projectId: project.rows[0]!.id,
    clientId: client.rows[0]!.id,
    clientEmail,
    invitationId: inv.rows[0]!.id,
    token,
    tokenCiphertext,
  };
}

/** What the invite/resend/accept use cases do: an emails row in a transaction, the job after commit. */
export async function queueEmail(
  stack: TestStack,
  f: InviteFixture,
  kind: EmailKind,
  opts: { enqueue?: boolean; tokenCiphertext?: Buffer | null; to?: string } = {},
): Promise<string> {
  const toFirm = kind === 'invitation_accepted';
  const emailId = await withTransaction(stack.deps.pool, (tx) =>
    queueEmailTx(tx, {
      agencyId: f.agencyId,
      kind,
      to: opts.to ?? (toFirm ? f.ownerEmail : f.clientEmail),
      invitationId: kind === 'password_reset' ? null : f.invitationId,
      clientId: toFirm ? null : f.clientId,
      firmUserId: toFirm ? f.userId : null,
      tokenCiphertext: opts.tokenCiphertext !== undefined ? opts.tokenCiphertext : toFirm ? null : f.tokenCiphertext,
    }),
  );
  if (opts.enqueue !== false) await enqueueEmails(stack.deps, [emailId]);
  return emailId;
}

export async function emailRow(stack: TestStack, emailId: string) {
  const { rows } = await stack.deps.pool.query<{ status: string; attempts: number; error: string | null; message_id: string | null; sent_at: Date | null }>(
    'select status, attempts, error, message_id, sent_at from emails where id = $1',
    [emailId],
  );
  return rows[0]!;
}

export async function invitationRow(stack: TestStack, invitationId: string) {
  const { rows } = await stack.deps.pool.query<{ delivery_status: string; delivery_error: string | null; token_ciphertext: Buffer }>(
    'select delivery_status, delivery_error, token_ciphertext from invitations where id = $1',
    [invitationId],
  );
  return rows[0]!;
}

/** Polls the database (the job runs in the worker) until the email leaves queued/sending. */
export async function waitForEmailStatus(stack: TestStack, emailId: string, timeoutMs = 20_000): Promise<Awaited<ReturnType<typeof emailRow>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await emailRow(stack, emailId);
    if (row.status !== 'queued' && row.status !== 'sending') return row;
    if (Date.now() > deadline) throw new Error(`email ${emailId} still ${row.status} after ${timeoutMs} ms (error: ${row.error})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for a BullMQ job to settle and returns its final state and reason. */
export async function waitForJob(stack: TestStack, jobId: string, timeoutMs = 20_000): Promise<{ state: string; failedReason: string; attemptsMade: number }> {
  const job = await settledJob(stack.deps.jobs.queue('email'), jobId, timeoutMs);
  return { ...job, failedReason: job.failedReason ?? '' };
}

/** Every href in an HTML part, entity-decoded as a browser would. */
export function hrefs(html: string): string[] {
  return [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}
