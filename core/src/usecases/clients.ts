import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { AppError, notFound } from '../errors/AppError.js';
import { toClientJson, getClientRow, type ClientRow } from '../read/clients.js';
import type { ClientJson } from '../read/resources.js';
import { appendEvent } from '../sql/events.js';
import type { Principal } from './apiKeys.js';
import { z } from 'zod';
import { parseOrThrow } from '../errors/fromZod.js';
import {
  findAddressOwner,
  insertInactiveClient,
  lockClientRow,
  lockClientWithActivation,
  markClientDeactivated,
  markClientReactivated,
} from '../sql/clients.js';
import { cancelQueuedEmailsOfInvitations } from '../sql/emails.js';
import { revokePendingInvitationsInProject, revokePendingInvitationsOfClient } from '../sql/invitations.js';
import { deleteClientAssignmentsInProject, deleteMembership } from '../sql/memberships.js';
import { revokeClientSessionsOfClient } from '../sql/sessions.js';
import { emailAddress, personName } from './inputs.js';
import { inviteToProjectTx, requireInviter } from './invitations.js';
import { lockProject } from './projectAccess.js';

const isUuid = (id: string) => /^[0-9a-f-]{36}$/i.test(id);

async function lockClient(tx: Queryable, agencyId: string, id: string): Promise<ClientRow & { activated_at: Date | null }> {
  if (!isUuid(id)) throw notFound('Client');
  const row = await lockClientWithActivation(tx, agencyId, id);
  if (!row) throw notFound('Client');
  return row;
}

/**
 * Access ends at once: sessions are revoked and the portal refuses a deactivated client; memberships are
 * kept (suspended) so reactivation restores them; pending invitations are revoked so no link still works.
 */
export async function deactivateClient(deps: Deps, principal: Principal, id: string): Promise<ClientJson> {
  requireInviter(principal);
  const row = await withTransaction(deps.pool, async (tx) => {
    const client = await lockClient(tx, principal.agencyId, id);
    if (client.status === 'deactivated') return client;
    const deactivated = await markClientDeactivated(tx, id);
    await revokeClientSessionsOfClient(tx, id);
    const revoked = await revokePendingInvitationsOfClient(tx, id);
    await cancelQueuedEmailsOfInvitations(
      tx,
      revoked.map((r) => r.id),
    );
    for (const inv of revoked) {
      await appendEvent(tx, {
        agencyId: principal.agencyId,
        type: 'invitation.revoked',
        subjectId: inv.id,
        actorId: principal.userId,
        data: { project_id: inv.project_id, reason: 'client_deactivated' },
      });
    }
    await appendEvent(tx, { agencyId: principal.agencyId, type: 'client.deactivated', subjectId: id, actorId: principal.userId });
    return deactivated;
  });
  return toClientJson(row);
}

/**
 * The way back: a client who had accepted before is active again in the projects they kept; one who never
 * accepted returns to inactive, ready to be invited (POST /v1/projects/:id/invitations).
 */
export async function reactivateClient(deps: Deps, principal: Principal, id: string): Promise<ClientJson> {
  requireInviter(principal);
  const row = await withTransaction(deps.pool, async (tx) => {
    const client = await lockClient(tx, principal.agencyId, id);
    if (client.status !== 'deactivated') {
      throw new AppError('conflict', 'Client is not deactivated', { detail: `The client is ${client.status}; only a deactivated client can be reactivated.` });
    }
    const reactivated = await markClientReactivated(tx, id);
    await appendEvent(tx, { agencyId: principal.agencyId, type: 'client.reactivated', subjectId: id, actorId: principal.userId });
    return reactivated;
  });
  return toClientJson(row);
}

/** Out of one project: membership, task assignments there, and any pending invitation to it. */
export async function removeClientFromProject(deps: Deps, principal: Principal, projectId: string, clientId: string): Promise<void> {
  requireInviter(principal);
  if (!isUuid(projectId) || !isUuid(clientId)) throw notFound('Membership');
  await withTransaction(deps.pool, async (tx) => {
    const removed = await deleteMembership(tx, principal.agencyId, projectId, clientId);
    const revoked = await revokePendingInvitationsInProject(tx, principal.agencyId, projectId, clientId);
    if (!removed && !revoked.length) throw notFound('Membership');
    await deleteClientAssignmentsInProject(tx, projectId, clientId);
    await cancelQueuedEmailsOfInvitations(
      tx,
      revoked.map((r) => r.id),
    );
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'client.removed_from_project',
      subjectId: clientId,
      actorId: principal.userId,
      data: { project_id: projectId, client_id: clientId },
    });
  });
}

export const createClientInput = z.object({ email: emailAddress, first_name: personName, last_name: personName });
export type CreateClientInput = z.input<typeof createClientInput>;

/**
 * Add a client to the agency without inviting them: status inactive, no email, no project. Inviting them
 * later (to any project) is the ordinary invite. An address that is already a client is a 409 naming that
 * client; a firm user's address cannot be a client.
 */
export async function createClient(deps: Pick<Deps, 'pool'>, principal: Principal, raw: unknown): Promise<ClientJson> {
  requireInviter(principal, 'add clients');
  const input = parseOrThrow(createClientInput, raw);
  const row = await insertInactiveClient(deps.pool, {
    agencyId: principal.agencyId,
    actorId: principal.userId,
    email: input.email,
    firstName: input.first_name,
    lastName: input.last_name,
  });
  if (row) return toClientJson(row);
  const owner = await findAddressOwner(deps.pool, principal.agencyId, input.email);
  if (owner?.kind === 'client') {
    throw new AppError('conflict', 'Client already exists', {
      detail: `${input.email} is already a client of this agency (${owner.status}).`,
      errors: [{ field: 'email', message: 'is already a client of this agency' }],
      extra: { client_id: owner.id },
    });
  }
  throw new AppError('email_belongs_to_firm_user', 'Email belongs to a team member', {
    detail: `${input.email} is a firm user of this agency. A client needs a different email address.`,
    errors: [{ field: 'email', message: 'belongs to a firm user of this agency; a client needs a different address' }],
  });
}

export type AddToProjectResult = 'added' | 'already_member';

/**
 * "Add a client from another workspace": an active client (one who has accepted an invitation before)
 * joins another project at once, without an email, by the invitation rules themselves. Anyone not active
 * has no account to sign in with yet, so they must be invited instead.
 */
export async function addClientToProject(
  deps: Deps,
  principal: Principal,
  projectId: string,
  clientId: string,
): Promise<{ result: AddToProjectResult; client: ClientJson }> {
  requireInviter(principal);
  if (!isUuid(clientId)) throw notFound('Client');
  const result = await withTransaction(deps.pool, async (tx) => {
    const project = await lockProject(tx, principal.agencyId, projectId, { forChange: true });
    const client = await lockClientRow(tx, principal.agencyId, clientId);
    if (!client) throw notFound('Client');
    if (client.status !== 'active') {
      throw new AppError('conflict', 'Client is not active', {
        detail:
          client.status === 'deactivated'
            ? `${client.email} is deactivated. Reactivate them with POST /v1/clients/${client.id}/reactivate first.`
            : `${client.email} is ${client.status} (has not accepted an invitation yet), so cannot be added without an email. Invite them to the project instead.`,
        errors: [{ field: 'client_id', message: `is ${client.status}; only an active client can be added without an invitation` }],
        extra: { client_status: client.status },
      });
    }
    const outcome = await inviteToProjectTx(tx, deps, principal, project, {
      email: client.email,
      first_name: client.first_name,
      last_name: client.last_name,
      send_email: false,
    });
    return outcome.result as AddToProjectResult;
  });
  const client = await getClientRow(deps.pool, principal.agencyId, clientId);
  return { result, client: toClientJson(client!) };
}
