import type { Deps } from '../context.js';
import type { Queryable } from '../db/pool.js';
import { AppError, notFound } from '../errors/AppError.js';
import type { ProjectRow } from '../read/projects.js';
import { findClientsInProject, lockProjectRow, type ProjectPerson } from '../sql/projects.js';
import { insertTaskAssignments } from '../sql/tasks.js';
import type { Principal } from './apiKeys.js';
import type { InviteResult } from './invitations.js';
import { normaliseEmail } from './inputs.js';
import { takeInviteQuotas, type Reservation } from './rateLimits.js';
import { isUuid } from './templates.js';

/**
 * What the project use cases share: locking a project, knowing who is already in it, the invite rate
 * limits for many addresses at once, and writing task assignments with their events set-based.
 */

/**
 * The project row, locked for this transaction: every change to one project's people (invites,
 * assignments) runs one at a time, so concurrent calls never deadlock on each other's client rows.
 */
export async function lockProject(tx: Queryable, agencyId: string, id: string, opts: { forChange: boolean }): Promise<ProjectRow> {
  if (!isUuid(id)) throw notFound('Project');
  const project = await lockProjectRow(tx, agencyId, id);
  if (!project) throw notFound('Project');
  if (opts.forChange && project.archived_at) throw archived();
  return project;
}

export const archived = (): AppError =>
  new AppError('conflict', 'Project is archived', {
    detail: 'Unarchive the project (PATCH /v1/projects/:id {"archived": false}) before inviting or assigning clients.',
  });

export type { ProjectPerson } from '../sql/projects.js';

export async function peopleInProject(db: Queryable, agencyId: string, projectId: string, emails: string[]): Promise<Map<string, ProjectPerson>> {
  const normalized = [...new Set(emails.map(normaliseEmail))];
  const out = new Map<string, ProjectPerson>();
  if (normalized.length === 0) return out;
  const rows = await findClientsInProject(db, agencyId, projectId, normalized);
  for (const r of rows) if (r.member || r.pendingInvitationId) out.set(r.email, r);
  return out;
}

/**
 * The invite API's rate limits, counted as it counts them: only a created invitation uses a unit (and its
 * email a unit of the recipient's quota), taken inside the transaction once the outcomes are known, so a
 * replayed call uses nothing and a 429 rolls the whole change back.
 */
export class InviteQuota {
  private held: Reservation[] = [];

  async count(
    deps: Pick<Deps, 'redis' | 'config'>,
    agencyId: string,
    outcomes: Array<{ email: string; result: InviteResult; emailIds: string[] }>,
  ): Promise<void> {
    const settled = await Promise.allSettled(
      outcomes.filter((o) => o.result === 'invited').map((o) => takeInviteQuotas(deps, agencyId, o.emailIds.length ? o.email : null)),
    );
    for (const s of settled) if (s.status === 'fulfilled') this.held.push(s.value);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** The transaction committed: the units stay used. */
  keep(): void {
    this.held = [];
  }

  /** The transaction rolled back: nothing was created, give every unit back. */
  async release(): Promise<void> {
    const all = this.held;
    this.held = [];
    await Promise.all(all.map((r) => r.give().catch(() => undefined)));
  }
}

/**
 * Assign clients to tasks of one project; an existing assignment is left as it is. Each new assignment
 * gets its task.assigned event (task and client in the data) in the same statement, hence the same
 * transaction. Returns the pairs that were new.
 */
export async function assignTasksTx(
  tx: Queryable,
  principal: Principal,
  projectId: string,
  pairs: Array<{ taskId: string; clientId: string }>,
): Promise<Set<string>> {
  const unique = [...new Map(pairs.map((p) => [`${p.taskId}/${p.clientId}`, p])).values()];
  if (unique.length === 0) return new Set();
  const rows = await insertTaskAssignments(tx, {
    agencyId: principal.agencyId,
    actorId: principal.userId,
    projectId,
    taskIds: unique.map((p) => p.taskId),
    clientIds: unique.map((p) => p.clientId),
  });
  return new Set(rows.map((r) => `${r.task_id}/${r.client_id}`));
}

/** A use case's AppError about one input item, re-addressed so the caller sees which item (`clients[2].email`). */
export function atItem(err: unknown, prefix: string, defaultField = 'email'): unknown {
  if (!(err instanceof AppError)) return err;
  const errors = err.errors.length ? err.errors : [{ field: defaultField, message: err.detail ?? err.title }];
  return new AppError(err.code, err.title, {
    detail: `${prefix}: ${err.detail ?? err.title}`,
    errors: errors.map((e) => ({ field: e.field === '(body)' ? prefix : `${prefix}.${e.field}`, message: e.message })),
    ...(err.extra ? { extra: err.extra } : {}),
    ...(err.retryAfter !== undefined ? { retryAfter: err.retryAfter } : {}),
    cause: err,
  });
}
