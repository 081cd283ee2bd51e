import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { AppError, notFound } from '../errors/AppError.js';
import { toClientJson, clientColumns, type ClientRow } from '../read/clients.js';
import type { ClientJson } from '../read/resources.js';
import { appendEvent } from '../sql/events.js';
import type { Principal } from './apiKeys.js';
import { requireInviter } from './invitations.js';

const isUuid = (id: string) => /^[0-9a-f-]{36}$/i.test(id);

async function lockClient(tx: Queryable, agencyId: string, id: string): Promise<ClientRow & { activated_at: Date | null }> {
  if (!isUuid(id)) throw notFound('Client');
  const { rows } = await tx.query<ClientRow & { activated_at: Date | null }>(
    `select ${clientColumns}, activated_at from clients where agency_id = $1 and id = $2 for update`,
    [agencyId, id],
  );
  if (!rows[0]) throw notFound('Client');
  return rows[0];
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
    const { rows } = await tx.query<ClientRow>(
      `update clients set status = 'deactivated', deactivated_at = now(), updated_at = now() where id = $1 returning ${clientColumns}`,
      [id],
    );
    await tx.query('update client_sessions set revoked_at = now() where client_id = $1 and revoked_at is null', [id]);
    const revoked = await tx.query<{ id: string; project_id: string }>(
      `update invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null, updated_at = now()
        where client_id = $1 and status = 'pending' returning id, project_id`,
      [id],
    );
    await tx.query(
      `update emails set status = 'cancelled' where status = 'queued' and invitation_id = any($1::uuid[])`,
      [revoked.rows.map((r) => r.id)],
    );
    for (const inv of revoked.rows) {
      await appendEvent(tx, { agencyId: principal.agencyId, type: 'invitation.revoked', subjectId: inv.id, actorId: principal.userId, data: { project_id: inv.project_id, reason: 'client_deactivated' } });
    }
    await appendEvent(tx, { agencyId: principal.agencyId, type: 'client.deactivated', subjectId: id, actorId: principal.userId });
    return rows[0]!;
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
    const { rows } = await tx.query<ClientRow>(
      `update clients set status = case when activated_at is not null then 'active' else 'inactive' end,
              deactivated_at = null, updated_at = now() where id = $1 returning ${clientColumns}`,
      [id],
    );
    await appendEvent(tx, { agencyId: principal.agencyId, type: 'client.reactivated', subjectId: id, actorId: principal.userId });
    return rows[0]!;
  });
  return toClientJson(row);
}

/** Out of one project: membership, task assignments there, and any pending invitation to it. */
export async function removeClientFromProject(deps: Deps, principal: Principal, projectId: string, clientId: string): Promise<void> {
  requireInviter(principal);
  if (!isUuid(projectId) || !isUuid(clientId)) throw notFound('Membership');
  await withTransaction(deps.pool, async (tx) => {
    const removed = await tx.query(
      'delete from memberships where agency_id = $1 and project_id = $2 and client_id = $3',
      [principal.agencyId, projectId, clientId],
    );
    const revoked = await tx.query<{ id: string }>(
      `update invitations set status = 'revoked', revoked_at = now(), token_hash = null, token_ciphertext = null, updated_at = now()
        where agency_id = $1 and project_id = $2 and client_id = $3 and status = 'pending' returning id`,
      [principal.agencyId, projectId, clientId],
    );
    if (!removed.rowCount && !revoked.rowCount) throw notFound('Membership');
    await tx.query(
      `delete from task_assignees ta using tasks t where ta.task_id = t.id and t.project_id = $1 and ta.client_id = $2`,
      [projectId, clientId],
    );
    await tx.query('update emails set status = $2 where status = $3 and invitation_id = any($1::uuid[])', [revoked.rows.map((r) => r.id), 'cancelled', 'queued']);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'client.removed_from_project',
      subjectId: clientId,
      actorId: principal.userId,
      data: { project_id: projectId, client_id: clientId },
    });
  });
}
