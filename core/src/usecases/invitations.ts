import { randomBytes } from 'node:crypto';
import type { Deps } from '../context.js';
import { withTransaction, type PoolClient, type Queryable } from '../db/pool.js';
import { openToken, seededTokens, tokenHasher, TokenPurpose } from '../crypto/tokens.js';
import { AppError, notFound } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { getInvitationJson } from '../read/invitations.js';
import type { InvitationJson } from '../read/resources.js';
import { appendEvent } from '../sql/events.js';
import { expireStaleInvitations, insertInvitations, type InsertedInvitation, type InsertedOneInvitation } from '../sql/invitationInserts.js';
import { getClientStatus, getClientWithProjectName, upsertInvitedClient, upsertInvitedClients, type ClientUpsert } from '../sql/clients.js';
import { cancelQueuedInvitationEmails, countRecentResends } from '../sql/emails.js';
import {
  expireDueInvitations,
  getInvitationLinkRow,
  hasOtherPendingInvitation,
  lockInvitationRow,
  lockPendingInvitation,
  markInvitationRevoked,
  renewInvitationLink,
  type InvitationLockRow,
} from '../sql/invitations.js';
import { insertMembership } from '../sql/memberships.js';
import { getProjectRef, type ProjectRef } from '../sql/projects.js';
import type { Principal } from './apiKeys.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { insertInvitationGrouped } from './inviteGroupCommit.js';
import { inviteInput, normaliseEmail, type InviteInput, type ParsedInviteInput } from './inputs.js';
import { takeInviteQuotas, takeRecipientQuota, type Reservation } from './rateLimits.js';
import { isUuid } from './templates.js';

export { inviteInput, type InviteInput } from './inputs.js';

export type InviteResult = 'invited' | 'already_invited' | 'added' | 'already_member';

export interface InviteOutcome {
  result: InviteResult;
  invitationId: string | null;
  clientId: string;
  /** Email rows written in the transaction; enqueue them after commit with enqueueEmails. */
  emailIds: string[];
  /** The new invitation as the API shows it, when this call created it (saves reading it back). */
  invitation?: InvitationJson;
}

export type { ProjectRef } from '../sql/projects.js';

/**
 * The firm roles, one rule for every door: members read; every write (invitations, projects, tasks,
 * templates, clients, imports, hooks) needs an owner or an admin.
 */
export function requireInviter(principal: Principal, action = 'invite clients'): void {
  if (principal.role !== 'owner' && principal.role !== 'admin') {
    throw new AppError('forbidden', 'Forbidden', { detail: `Only agency owners and admins can ${action}.` });
  }
}

/**
 * Fresh links: the token itself is never stored, only its HMAC (to redeem) and its seed (to copy the link;
 * only APP_SECRET turns the seed into the token). The keys are derived once and the randomness drawn in one
 * call, for the import's batches of thousands.
 */
export function newInvitationTokens(appSecret: string, n: number): Array<{ token: string; hash: Buffer; ciphertext: Buffer }> {
  const seal = seededTokens(appSecret);
  const hash = tokenHasher(appSecret, TokenPurpose.invitation);
  const random = randomBytes(32 * n);
  const out: Array<{ token: string; hash: Buffer; ciphertext: Buffer }> = [];
  for (let i = 0; i < n; i++) {
    const { token, sealed } = seal(random.subarray(i * 32, i * 32 + 32));
    out.push({ token, hash: hash(token), ciphertext: sealed });
  }
  return out;
}

export const newInvitationToken = (appSecret: string): { token: string; hash: Buffer; ciphertext: Buffer } => newInvitationTokens(appSecret, 1)[0]!;

/** The invitation rules' refusals, before anything is written for this client: a firm user's address, a deactivated client. */
function refuseClient(email: string, client: ClientUpsert | null): asserts client is ClientUpsert {
  if (!client) {
    throw new AppError('email_belongs_to_firm_user', 'Email belongs to a team member', {
      detail: `${email} is a firm user of this agency. A client needs a different email address.`,
      errors: [{ field: 'email', message: 'belongs to a firm user of this agency; a client needs a different address' }],
    });
  }
  if (client.status === 'deactivated') {
    throw new AppError('client_deactivated', 'Client is deactivated', {
      detail: `${client.email} is deactivated. Reactivate them with POST /v1/clients/${client.id}/reactivate, then invite again.`,
      extra: { client_id: client.id },
    });
  }
}

/**
 * Invite one client into one project, inside the caller's transaction. The rules, in order:
 * a firm user's address cannot be a client; a deactivated client must be reactivated first; an active
 * client joins at once without an email; an existing live pending invitation is returned as it is (no
 * second email); otherwise a new pending invitation, its event, and (if asked) its email in the outbox.
 */
export async function inviteToProjectTx(
  tx: PoolClient,
  deps: Pick<Deps, 'appSecret'>,
  principal: Principal,
  project: ProjectRef,
  raw: InviteInput,
): Promise<InviteOutcome> {
  const input = parseOrThrow(inviteInput, raw);
  const agencyId = principal.agencyId;
  if (project.agency_id !== agencyId) throw notFound('Project');
  const client = await upsertInvitedClient(tx, agencyId, input);
  refuseClient(input.email, client);
  return inviteUpsertedClientTx(tx, deps, principal, project, input, client);
}

/** inviteToProjectTx once its client is upserted (and locked) and passed the refusals. */
async function inviteUpsertedClientTx(
  tx: PoolClient,
  deps: Pick<Deps, 'appSecret'>,
  principal: Principal,
  project: ProjectRef,
  input: ParsedInviteInput,
  client: ClientUpsert,
): Promise<InviteOutcome> {
  const agencyId = principal.agencyId;
  if (client.status === 'active') {
    const added = await insertMembership(tx, { projectId: project.id, clientId: client.id, agencyId });
    if (!added) return { result: 'already_member', invitationId: null, clientId: client.id, emailIds: [] };
    await appendEvent(tx, {
      agencyId,
      type: 'client.added_to_project',
      subjectId: client.id,
      actorId: principal.userId,
      data: { project_id: project.id, client_id: client.id },
    });
    return { result: 'added', invitationId: null, clientId: client.id, emailIds: [] };
  }

  const link = newInvitationToken(deps.appSecret);
  for (let attempt = 0; attempt < 2; attempt++) {
    // The statement an import uses for its batches, with one row (core/src/sql/invitationInserts.ts); a
    // pair that has a pending invitation is skipped, and looked at below.
    const [row] = await insertInvitations(
      tx,
      {
        agencyId,
        actorId: principal.userId,
        importId: null,
        sendEmails: input.send_email,
        expiryDays: null,
        projectIds: [project.id],
        clientIds: [client.id],
        emails: [input.email],
        messages: [input.message ?? null],
        tokenHashes: [link.hash],
        tokenCiphertexts: [link.ciphertext],
        taskIds: [''],
        assignHere: [false],
        clientInactive: [client.status === 'inactive'],
      },
      'skip',
    );
    if (row) {
      const invitation = invitationJson(
        principal,
        { id: project.id, name: project.name },
        {
          id: client.id,
          email: client.email,
          first_name: client.first_name,
          last_name: client.last_name,
          status: client.status === 'inactive' ? 'invited' : client.status,
        },
        row,
      );
      return { result: 'invited', invitationId: row.id, clientId: client.id, emailIds: row.email_id ? [row.email_id] : [], invitation };
    }
    // A pending invitation exists. Past its expiry it no longer counts: mark it expired, then create anew.
    const existing = await lockPendingInvitation(tx, project.id, input.email);
    if (!existing) continue;
    if (!existing.expired) return { result: 'already_invited', invitationId: existing.id, clientId: client.id, emailIds: [] };
    // As an import expires one (the same statement), then create anew.
    await expireStaleInvitations(tx, agencyId, [project.id], [normaliseEmail(input.email)]);
  }
  throw new AppError('conflict', 'Concurrent change', { detail: 'The invitation changed while being created; retry the request.' });
}

/**
 * inviteToProjectTx for several clients of distinct addresses (Create Project's), with the same rules and the
 * same outcome for each, in two statements for the common case instead of two per client: every client
 * upserted at once, in the order given (Create Project gives the address order, so concurrent calls lock
 * client rows alike), then every new invitation at once. A client who is active, or who already has a
 * pending invitation in the project, then goes through the rest of inviteToProjectTx alone. An error is
 * passed through `atItem` with the index of the client it concerns; nothing is written for anyone then (the
 * caller's transaction rolls back).
 */
export async function inviteAllToProjectTx(
  tx: PoolClient,
  deps: Pick<Deps, 'appSecret'>,
  principal: Principal,
  project: ProjectRef,
  raws: InviteInput[],
  atItem: (err: unknown, index: number) => unknown,
): Promise<InviteOutcome[]> {
  const inputs = raws.map((raw, k) => {
    try {
      return parseOrThrow(inviteInput, raw);
    } catch (err) {
      throw atItem(err, k);
    }
  });
  const agencyId = principal.agencyId;
  if (project.agency_id !== agencyId) throw notFound('Project');
  const upserted = await upsertInvitedClients(tx, agencyId, inputs);
  const byIndex = new Map(upserted.map((c) => [c.n, c]));
  const clients = inputs.map((input, k) => {
    const client = byIndex.get(k) ?? null;
    try {
      refuseClient(input.email, client);
    } catch (err) {
      throw atItem(err, k);
    }
    return client;
  });

  const outcomes: Array<InviteOutcome | undefined> = new Array(inputs.length);
  for (const sendEmail of [true, false]) {
    const fresh = inputs.flatMap((input, k) =>
      input.send_email === sendEmail && (clients[k]!.status === 'invited' || clients[k]!.status === 'inactive') ? [k] : [],
    );
    if (fresh.length === 0) continue;
    const links = newInvitationTokens(deps.appSecret, fresh.length);
    // As inviteToProjectTx's statement, with every new pair at once; a pair with a pending invitation is skipped.
    const rows = await insertInvitations(
      tx,
      {
        agencyId,
        actorId: principal.userId,
        importId: null,
        sendEmails: sendEmail,
        expiryDays: null,
        projectIds: fresh.map(() => project.id),
        clientIds: fresh.map((k) => clients[k]!.id),
        emails: fresh.map((k) => inputs[k]!.email),
        messages: fresh.map((k) => inputs[k]!.message ?? null),
        tokenHashes: links.map((l) => l.hash),
        tokenCiphertexts: links.map((l) => l.ciphertext),
        taskIds: fresh.map(() => ''),
        assignHere: fresh.map(() => false),
        clientInactive: fresh.map((k) => clients[k]!.status === 'inactive'),
      },
      'skip',
    );
    const byClient = new Map(rows.map((r) => [r.client_id, r]));
    for (const k of fresh) {
      const row = byClient.get(clients[k]!.id);
      if (row) outcomes[k] = { result: 'invited', invitationId: row.id, clientId: row.client_id, emailIds: row.email_id ? [row.email_id] : [] };
    }
  }
  // The rest (an active client, a pending invitation, one past its expiry) by the one-client rules; their
  // clients are upserted and locked already.
  for (let k = 0; k < inputs.length; k++) {
    if (outcomes[k]) continue;
    try {
      outcomes[k] = await inviteUpsertedClientTx(tx, deps, principal, project, inputs[k]!, clients[k]!);
    } catch (err) {
      throw atItem(err, k);
    }
  }
  return outcomes as InviteOutcome[];
}

/** What inviteClient did (the route maps `invited` and `added` to 201, the others to 200) and the resource to show. */
export interface InviteResponse {
  result: InviteResult;
  body: (InvitationJson & { result: InviteResult }) | AddedJson;
}

interface AddedJson {
  id: null;
  status: 'added';
  result: 'added' | 'already_member';
  project: { id: string; name: string };
  client: { id: string; email: string; first_name: string; last_name: string; status: string };
}

async function lockProject(tx: Queryable, agencyId: string, projectId: string): Promise<ProjectRef> {
  const project = await getProjectRef(tx, agencyId, projectId);
  if (!project) throw notFound('Project');
  if (project.archived_at) {
    throw new AppError('conflict', 'Project is archived', { detail: 'Unarchive the project (PATCH /v1/projects/:id {"archived": false}) before inviting.' });
  }
  return project;
}

/**
 * POST /v1/projects/:id/invitations. The common case (a new invitation to a new or invited client of a
 * live project) is one statement, one database round trip, no transaction held open: the quotas are
 * taken first in Redis, the statement writes the invitation, its event, its outbox email and the email's
 * relay row (the worker's relay hands it to the queue), and the quotas are given back if it wrote nothing.
 * Every other case, and a quota that is full, takes the full path, where the rules are decided one by one
 * in a transaction.
 */
export async function inviteClient(deps: Deps, principal: Principal, projectId: string, raw: InviteInput): Promise<InviteResponse> {
  requireInviter(principal);
  const input = parseOrThrow(inviteInput, raw);
  if (!isUuid(projectId)) throw notFound('Project');
  let quotas: Reservation;
  try {
    quotas = await takeInviteQuotas(deps, principal.agencyId, input.send_email ? input.email : null);
  } catch (err) {
    // A full quota may still answer 200 (a retry of an invitation that exists): the full path knows.
    if (err instanceof AppError && err.code === 'rate_limited') return inviteClientInTransaction(deps, principal, projectId, input);
    throw err;
  }
  let created: InsertedOneInvitation | null;
  try {
    const link = newInvitationToken(deps.appSecret);
    created = await insertInvitationGrouped(deps, {
      agencyId: principal.agencyId,
      actorId: principal.userId,
      projectId,
      email: input.email,
      firstName: input.first_name,
      lastName: input.last_name,
      message: input.message ?? null,
      sendEmail: input.send_email,
      tokenHash: link.hash,
      tokenCiphertext: link.ciphertext,
    });
  } catch (err) {
    await giveBack(deps, quotas);
    throw err;
  }
  if (!created) {
    await giveBack(deps, quotas);
    return inviteClientInTransaction(deps, principal, projectId, input);
  }
  const client = {
    id: created.client_id,
    email: created.client_email,
    first_name: created.client_first_name,
    last_name: created.client_last_name,
    status: 'invited' as const,
  };
  return { result: 'invited', body: { ...invitationJson(principal, { id: projectId, name: created.project_name }, client, created), result: 'invited' } };
}

/** A unit not used goes back; if Redis refuses, the quota counts one too many until its window ends: logged, not fatal. */
async function giveBack(deps: Pick<Deps, 'logger'>, quotas: Reservation): Promise<void> {
  await quotas.give().catch((err: unknown) => deps.logger.warn({ err }, 'could not give back an invite quota unit'));
}

/** The invitation as the API shows it, built from the row its creating statement returned (no read back). */
function invitationJson(
  principal: Principal,
  project: { id: string; name: string },
  client: InvitationJson['client'],
  row: InsertedInvitation,
): InvitationJson {
  return {
    id: row.id,
    status: 'pending',
    project,
    client,
    email: row.email,
    created_by: { id: principal.userId, email: principal.userEmail, name: principal.userName },
    message: row.message,
    expires_at: row.expires_at.toISOString(),
    send_count: row.send_count,
    last_sent_at: row.last_sent_at ? row.last_sent_at.toISOString() : null,
    delivery_status: row.delivery_status,
    delivery_error: null,
    reminders_sent: 0,
    last_reminded_at: null,
    accepted_at: null,
    revoked_at: null,
    created_at: row.created_at.toISOString(),
  };
}

/** The full path: every rule in one transaction, the quotas taken only when an invitation is created. */
async function inviteClientInTransaction(deps: Deps, principal: Principal, projectId: string, input: InviteInput): Promise<InviteResponse> {
  // Quotas count creations only, so they are taken inside the transaction once the outcome is known:
  // fifty retries of one invite use one unit, and a 429 rolls the creation back.
  const reservations: Reservation[] = [];
  try {
    const outcome = await withTransaction(deps.pool, async (tx) => {
      const project = await lockProject(tx, principal.agencyId, projectId);
      const result = await inviteToProjectTx(tx, deps, principal, project, input);
      if (result.result === 'invited') {
        reservations.push(await takeInviteQuotas(deps, principal.agencyId, result.emailIds.length ? input.email : null));
      }
      return result;
    });
    reservations.length = 0;
    await enqueueEmails(deps, outcome.emailIds);
    if (outcome.invitationId) {
      const json = outcome.invitation ?? (await getInvitationJson(deps.pool, principal.agencyId, outcome.invitationId))!;
      return { result: outcome.result, body: { ...json, result: outcome.result } };
    }
    const { project_name, ...client } = (await getClientWithProjectName(deps.pool, outcome.clientId, projectId))!;
    return {
      result: outcome.result,
      body: { id: null, status: 'added', result: outcome.result as 'added' | 'already_member', project: { id: projectId, name: project_name }, client },
    };
  } catch (err) {
    await Promise.all(reservations.map((r) => r.give().catch(() => undefined)));
    throw err;
  }
}

async function lockInvitation(tx: Queryable, agencyId: string, id: string): Promise<InvitationLockRow> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('Invitation');
  const row = await lockInvitationRow(tx, agencyId, id);
  if (!row) throw notFound('Invitation');
  return row;
}

const notPending = (status: string, action: string) =>
  new AppError('invitation_not_pending', `Invitation is ${status}`, {
    detail: `Only a pending invitation can be ${action}; this one is ${status}.`,
    extra: { invitation_status: status },
  });

/**
 * A new link (the old one stops working), a new expiry and a new email, for a pending or expired
 * invitation. Per-invitation limits are read from its own email history under the row lock, so every API
 * process agrees.
 */
export async function resendInvitation(deps: Deps, principal: Principal, id: string): Promise<InvitationJson> {
  requireInviter(principal);
  const { limits } = deps.config;
  let recipient: Reservation | undefined;
  const emailIds = await withTransaction(deps.pool, async (tx) => {
    const inv = await lockInvitation(tx, principal.agencyId, id);
    const status = inv.expired_now ? 'expired' : inv.status;
    if (status !== 'pending' && status !== 'expired') throw notPending(status, 'resent');
    const client = await getClientStatus(tx, inv.client_id);
    if (client?.status === 'deactivated') {
      throw new AppError('client_deactivated', 'Client is deactivated', {
        detail: `Reactivate the client with POST /v1/clients/${inv.client_id}/reactivate before resending.`,
      });
    }
    if (inv.last_sent_at && limits.resendMinIntervalSeconds > 0) {
      const wait = limits.resendMinIntervalSeconds - (Date.now() - inv.last_sent_at.getTime()) / 1000;
      if (wait > 0) {
        throw new AppError('rate_limited', 'Resent too recently', {
          detail: `This invitation was sent less than ${limits.resendMinIntervalSeconds} s ago.`,
          retryAfter: Math.ceil(wait),
        });
      }
    }
    const recent = await countRecentResends(tx, inv.id);
    if ((recent?.n ?? 0) >= limits.resendsPerDay) {
      const retryAfter = Math.ceil((recent!.oldest!.getTime() + 86_400_000 - Date.now()) / 1000);
      throw new AppError('rate_limited', 'Too many resends', {
        detail: `An invitation can be resent at most ${limits.resendsPerDay} times a day.`,
        retryAfter,
      });
    }
    recipient = await takeRecipientQuota(deps, principal.agencyId, inv.email);
    if (status === 'expired') {
      // Another pending invitation may have been created for this address since; that one is the live one.
      if (await hasOtherPendingInvitation(tx, inv.project_id, inv.email, inv.id))
        throw notPending('expired', 'resent (a newer invitation to this address is pending)');
    }
    const link = newInvitationToken(deps.appSecret);
    await renewInvitationLink(tx, inv.id, link.hash, link.ciphertext);
    // Mail still waiting with the old link must not go out.
    await cancelQueuedInvitationEmails(tx, inv.id);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'invitation.resent',
      subjectId: inv.id,
      actorId: principal.userId,
      data: { project_id: inv.project_id },
    });
    return [
      await queueEmailTx(tx, {
        agencyId: principal.agencyId,
        kind: 'invitation_resend',
        to: inv.email,
        invitationId: inv.id,
        clientId: inv.client_id,
        tokenCiphertext: link.ciphertext,
      }),
    ];
  }).catch(async (err: unknown) => {
    await recipient?.give().catch(() => undefined);
    throw err;
  });
  await enqueueEmails(deps, emailIds);
  return (await getInvitationJson(deps.pool, principal.agencyId, id))!;
}

/** Pending -> revoked. The link's hash is burnt, so it can never be redeemed, and queued mail is cancelled. */
export async function revokeInvitation(deps: Deps, principal: Principal, id: string): Promise<InvitationJson> {
  requireInviter(principal);
  await withTransaction(deps.pool, async (tx) => {
    const inv = await lockInvitation(tx, principal.agencyId, id);
    const status = inv.expired_now ? 'expired' : inv.status;
    if (status !== 'pending') throw notPending(status, 'revoked');
    await markInvitationRevoked(tx, inv.id);
    await cancelQueuedInvitationEmails(tx, inv.id);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'invitation.revoked',
      subjectId: inv.id,
      actorId: principal.userId,
      data: { project_id: inv.project_id },
    });
  });
  return (await getInvitationJson(deps.pool, principal.agencyId, id))!;
}

/** "Copy invite link": the live link of a pending invitation, decrypted with the server secret. */
export async function invitationLink(deps: Deps, principal: Principal, id: string): Promise<{ url: string; expires_at: string }> {
  requireInviter(principal);
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound('Invitation');
  const inv = await getInvitationLinkRow(deps.pool, principal.agencyId, id);
  if (!inv) throw notFound('Invitation');
  const status = inv.expired_now ? 'expired' : inv.status;
  if (status !== 'pending' || !inv.token_ciphertext || !inv.token_hash) throw notPending(status, 'copied as a link');
  const token = openToken(deps.appSecret, inv.token_ciphertext, inv.token_hash, TokenPurpose.invitation);
  return { url: `${deps.config.publicBaseUrl}/invite/${token}`, expires_at: inv.expires_at.toISOString() };
}

export const BULK_MAX = 500;

export interface BulkItemResult {
  id: string;
  ok: boolean;
  status?: string;
  error?: { code: string; message: string };
}

/** Each id on its own: one bad id never stops the others, and each answer says what happened to it. */
export async function bulkInvitations(deps: Deps, principal: Principal, action: 'resend' | 'revoke', ids: string[]): Promise<BulkItemResult[]> {
  requireInviter(principal);
  if (ids.length > BULK_MAX) {
    throw new AppError('payload_too_large', 'Too many ids', { detail: `At most ${BULK_MAX} ids per bulk request (got ${ids.length}).` });
  }
  const results: BulkItemResult[] = [];
  for (const id of [...new Set(ids)]) {
    try {
      const inv = action === 'resend' ? await resendInvitation(deps, principal, id) : await revokeInvitation(deps, principal, id);
      results.push({ id, ok: true, status: inv.status });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      results.push({ id, ok: false, error: { code: err.code, message: err.detail ?? err.title } });
    }
  }
  return results;
}

/** The periodic sweep: mark what expired and say so in the event feed, in bounded batches. */
export async function expireInvitations(pool: Queryable, batch = 1000): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await expireDueInvitations(pool, batch);
    total += expired;
    if (expired < batch) return total;
  }
}
