import { z } from 'zod';
import type { Deps } from '../context.js';
import { withSavepoint, withTransaction, type PoolClient } from '../db/pool.js';
import { AppError, notFound, validationError } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { getClientRow, toClientJson } from '../read/clients.js';
import { getInvitationJson } from '../read/invitations.js';
import type { ProjectRow } from '../read/projects.js';
import { getTaskJson } from '../read/projects.js';
import { clientJson, invitationJson, type TaskJson } from '../read/resources.js';
import type { Principal } from './apiKeys.js';
import { enqueueEmails } from './emails.js';
import { emailAddress, normaliseEmail, personName } from './inputs.js';
import { inviteToProjectTx, requireInviter, type InviteResult } from './invitations.js';
import { assignTasksTx, InviteQuota, lockProject, peopleInProject, type ProjectPerson } from './projectAccess.js';
import { isUuid, taskDescription, taskTitle } from './templates.js';
import { clientsByIds } from '../sql/clients.js';
import { deleteTaskAssignment, deleteTaskRow, findProjectTaskIds, insertTask, taskExistsInProject, updateTaskRow } from '../sql/tasks.js';

// ----------------------------------------------------------------------------- tasks

const dueDate = z.iso.date({ error: 'must be a date (YYYY-MM-DD)' }).nullable().optional();

export const createTaskInput = z.object({ title: taskTitle, description: taskDescription, due_date: dueDate });
export const updateTaskInput = z
  .object({
    title: taskTitle.optional(),
    description: taskDescription,
    due_date: dueDate,
    position: z.number().int('must be an integer').min(0).max(1_000_000).optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'give at least one of title, description, due_date, position', path: ['(body)'] });

const titleTaken = (title: string) =>
  new AppError('conflict', 'Task title already used', {
    detail: `The project already has a task titled "${title}".`,
    errors: [{ field: 'title', message: 'is already used by another task of this project' }],
  });
const isTitleClash = (err: unknown) => (err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'tasks_project_title_idx';

async function taskOrNotFound(deps: Pick<Deps, 'pool'>, principal: Principal, projectId: string, taskId: string): Promise<TaskJson> {
  const task = isUuid(projectId) && isUuid(taskId) ? await getTaskJson(deps.pool, principal.agencyId, projectId, taskId) : null;
  if (!task) throw notFound('Task');
  return task;
}

export async function getTask(deps: Pick<Deps, 'pool'>, principal: Principal, projectId: string, taskId: string): Promise<TaskJson> {
  return taskOrNotFound(deps, principal, projectId, taskId);
}

/** A new task goes to the end of the project's list. */
export async function createTask(deps: Pick<Deps, 'pool'>, principal: Principal, projectId: string, raw: unknown): Promise<TaskJson> {
  requireInviter(principal);
  if (!isUuid(projectId)) throw notFound('Project');
  const input = parseOrThrow(createTaskInput, raw);
  try {
    const task = await insertTask(deps.pool, principal.agencyId, projectId, {
      title: input.title,
      description: input.description ?? null,
      dueDate: input.due_date ?? null,
    });
    if (!task) throw notFound('Project');
    return taskOrNotFound(deps, principal, projectId, task.id);
  } catch (err) {
    if (isTitleClash(err)) throw titleTaken(input.title);
    throw err;
  }
}

export async function updateTask(deps: Pick<Deps, 'pool'>, principal: Principal, projectId: string, taskId: string, raw: unknown): Promise<TaskJson> {
  requireInviter(principal);
  if (!isUuid(projectId) || !isUuid(taskId)) throw notFound('Task');
  const input = parseOrThrow(updateTaskInput, raw);
  try {
    const updated = await updateTaskRow(deps.pool, principal.agencyId, projectId, taskId, {
      title: input.title,
      description: input.description,
      dueDate: input.due_date,
      position: input.position,
    });
    if (!updated) throw notFound('Task');
  } catch (err) {
    if (isTitleClash(err)) throw titleTaken(input.title!);
    throw err;
  }
  return taskOrNotFound(deps, principal, projectId, taskId);
}

/** The task and its assignments go; the clients stay in the project. */
export async function deleteTask(deps: Pick<Deps, 'pool'>, principal: Principal, projectId: string, taskId: string): Promise<void> {
  requireInviter(principal);
  if (!isUuid(projectId) || !isUuid(taskId)) throw notFound('Task');
  if (!(await deleteTaskRow(deps.pool, principal.agencyId, projectId, taskId))) throw notFound('Task');
}

// ----------------------------------------------------------------------------- assignments

export const assigneeInput = z.object({
  email: emailAddress,
  first_name: personName.optional(),
  last_name: personName.optional(),
  send_email: z.boolean().default(true),
});
export type AssigneeInput = z.input<typeof assigneeInput>;

export const assignResultJson = z.object({
  task_id: z.uuid(),
  client: clientJson,
  result: z.enum(['assigned', 'already_assigned']),
  invitation: invitationJson.nullable(),
  invite_result: z.enum(['invited', 'added', 'already_invited', 'already_member']),
});
export type AssignResultJson = z.infer<typeof assignResultJson>;

interface Brought {
  clientId: string;
  inviteResult: InviteResult;
  invitationId: string | null;
  emailIds: string[];
}

/**
 * Someone already in the project (member, or invited and pending) is just that; anyone else is invited
 * to the project exactly as POST /v1/projects/:id/invitations does, which needs their names.
 */
async function bringIntoProjectTx(
  tx: PoolClient,
  deps: Pick<Deps, 'appSecret'>,
  principal: Principal,
  project: ProjectRow,
  person: { email: string; first_name?: string | undefined; last_name?: string | undefined; send_email: boolean },
  known: ProjectPerson | undefined,
): Promise<Brought> {
  if (known) {
    if (known.status === 'deactivated') {
      throw new AppError('client_deactivated', 'Client is deactivated', {
        detail: `${person.email} is deactivated. Reactivate them with POST /v1/clients/${known.clientId}/reactivate first.`,
        errors: [{ field: 'email', message: 'belongs to a deactivated client' }],
        extra: { client_id: known.clientId },
      });
    }
    return known.member
      ? { clientId: known.clientId, inviteResult: 'already_member', invitationId: null, emailIds: [] }
      : { clientId: known.clientId, inviteResult: 'already_invited', invitationId: known.pendingInvitationId, emailIds: [] };
  }
  const missing = (['first_name', 'last_name'] as const).filter((f) => !person[f]);
  if (missing.length) {
    throw validationError(missing.map((field) => ({ field, message: 'is required to invite someone who is not yet in the project' })));
  }
  const o = await inviteToProjectTx(tx, deps, principal, project, {
    email: person.email,
    first_name: person.first_name!,
    last_name: person.last_name!,
    send_email: person.send_email,
  });
  return { clientId: o.clientId, inviteResult: o.result, invitationId: o.invitationId, emailIds: o.emailIds };
}

/** What the project knows about someone after they were brought in, for later items of the same request. */
const asKnown = (email: string, b: Brought): ProjectPerson => ({
  email,
  clientId: b.clientId,
  status: b.inviteResult === 'added' || b.inviteResult === 'already_member' ? 'active' : 'invited',
  member: b.inviteResult === 'added' || b.inviteResult === 'already_member',
  pendingInvitationId: b.invitationId,
});

export type AssignResult = 'assigned' | 'already_assigned';

/** What assignClientToTask did (the route maps `assigned` to 201, `already_assigned` to 200) and the resource to show. */
export interface AssignResponse {
  result: AssignResult;
  body: AssignResultJson;
}

/**
 * Assign someone to a task; someone not yet in the project is invited first (and gets the invitation
 * email). Repeating the call changes nothing.
 */
export async function assignClientToTask(deps: Deps, principal: Principal, projectId: string, taskId: string, raw: AssigneeInput): Promise<AssignResponse> {
  requireInviter(principal);
  const input = parseOrThrow(assigneeInput, raw);
  const quota = new InviteQuota();
  try {
    const done = await withTransaction(deps.pool, async (tx) => {
      const project = await lockProject(tx, principal.agencyId, projectId, { forChange: true });
      if (!isUuid(taskId)) throw notFound('Task');
      if (!(await taskExistsInProject(tx, project.id, taskId))) throw notFound('Task');
      const known = await peopleInProject(tx, principal.agencyId, project.id, [input.email]);
      const brought = await bringIntoProjectTx(tx, deps, principal, project, input, known.get(normaliseEmail(input.email)));
      await quota.count(deps, principal.agencyId, [{ email: input.email, result: brought.inviteResult, emailIds: brought.emailIds }]);
      const fresh = await assignTasksTx(tx, principal, project.id, [{ taskId, clientId: brought.clientId }]);
      return { ...brought, assigned: fresh.size > 0 };
    });
    quota.keep();
    await enqueueEmails(deps, done.emailIds);
    const client = (await getClientRow(deps.pool, principal.agencyId, done.clientId))!;
    return {
      result: done.assigned ? 'assigned' : 'already_assigned',
      body: {
        task_id: taskId,
        client: toClientJson(client),
        result: done.assigned ? 'assigned' : 'already_assigned',
        invitation: done.invitationId ? await getInvitationJson(deps.pool, principal.agencyId, done.invitationId) : null,
        invite_result: done.inviteResult,
      },
    };
  } catch (err) {
    await quota.release();
    throw err;
  }
}

/** Unassign only: the client stays in the project. */
export async function unassignClientFromTask(
  deps: Pick<Deps, 'pool'>,
  principal: Principal,
  projectId: string,
  taskId: string,
  clientId: string,
): Promise<void> {
  requireInviter(principal);
  if (![projectId, taskId, clientId].every(isUuid)) throw notFound('Assignment');
  if (!(await deleteTaskAssignment(deps.pool, principal.agencyId, projectId, taskId, clientId))) throw notFound('Assignment');
}

export const BULK_ASSIGN_MAX = 1000;

export const bulkAssignInput = z.object({
  items: z
    .array(
      z.object({
        task_id: z.string({ error: 'is required' }).trim().min(1, 'is required').max(100),
        email: emailAddress,
        first_name: personName.optional(),
        last_name: personName.optional(),
      }),
    )
    .min(1, 'must have at least 1 item')
    .max(BULK_ASSIGN_MAX, `must have at most ${BULK_ASSIGN_MAX} items`),
  send_emails: z.boolean().default(true),
});

export const bulkAssignResultJson = z.object({
  results: z.array(
    z.object({
      index: z.number().int(),
      task_id: z.string(),
      email: z.string(),
      ok: z.boolean(),
      result: z.enum(['assigned', 'already_assigned']).optional(),
      client_id: z.uuid().optional(),
      invite_result: z.enum(['invited', 'added', 'already_invited', 'already_member']).optional(),
      invitation_id: z.uuid().nullable().optional(),
      error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }).optional(),
    }),
  ),
});
export type BulkAssignResultJson = z.infer<typeof bulkAssignResultJson>;
type BulkItemResult = BulkAssignResultJson['results'][number];

/**
 * Many assignments in one project, one transaction: an item that cannot be done (unknown task, missing
 * names, deactivated client) is reported and rolled back to its savepoint; the others go through.
 */
export async function bulkAssign(deps: Deps, principal: Principal, projectId: string, raw: unknown): Promise<BulkAssignResultJson> {
  requireInviter(principal);
  const input = parseOrThrow(bulkAssignInput, raw);
  const emails = input.items.map((it) => it.email);
  const quota = new InviteQuota();
  try {
    const done = await withTransaction(deps.pool, async (tx) => {
      const project = await lockProject(tx, principal.agencyId, projectId, { forChange: true });
      const taskRows = await findProjectTaskIds(tx, project.id, input.items.map((it) => it.task_id).filter(isUuid));
      const tasks = new Set(taskRows.map((t) => t.id.toLowerCase()));
      const known = await peopleInProject(tx, principal.agencyId, project.id, emails);
      // Names given on any item for an address serve every item for it.
      const names = new Map<string, { first_name: string; last_name: string }>();
      for (const it of input.items) {
        if (it.first_name && it.last_name && !names.has(normaliseEmail(it.email)))
          names.set(normaliseEmail(it.email), { first_name: it.first_name, last_name: it.last_name });
      }
      const results: BulkItemResult[] = new Array(input.items.length);
      const pending: Array<{ index: number; taskId: string; brought: Brought }> = [];
      const emailIds: string[] = [];
      const outcomes: Array<{ email: string; result: InviteResult; emailIds: string[] }> = [];
      // Address order, so concurrent requests lock client rows alike.
      const order = input.items.map((it, index) => ({ it, index })).sort((x, y) => normaliseEmail(x.it.email).localeCompare(normaliseEmail(y.it.email)));
      for (const { it, index } of order) {
        const email = normaliseEmail(it.email);
        const base = { index, task_id: it.task_id, email: it.email };
        if (!tasks.has(it.task_id.toLowerCase())) {
          results[index] = { ...base, ok: false, error: { code: 'not_found', field: 'task_id', message: 'the project has no task with this id' } };
          continue;
        }
        try {
          const person = { email: it.email, ...(names.get(email) ?? {}), send_email: input.send_emails };
          // One item's refusal undoes only that item's writes.
          const brought = await withSavepoint(
            tx,
            'bulk_item',
            () => bringIntoProjectTx(tx, deps, principal, project, person, known.get(email)),
            (err) => err instanceof AppError,
          );
          known.set(email, asKnown(email, brought));
          emailIds.push(...brought.emailIds);
          outcomes.push({ email, result: brought.inviteResult, emailIds: brought.emailIds });
          pending.push({ index, taskId: it.task_id.toLowerCase(), brought });
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          const field = err.errors[0]?.field;
          results[index] = { ...base, ok: false, error: { code: err.code, message: err.detail ?? err.title, ...(field ? { field } : {}) } };
        }
      }
      await quota.count(deps, principal.agencyId, outcomes);
      const fresh = await assignTasksTx(
        tx,
        principal,
        project.id,
        pending.map((p) => ({ taskId: p.taskId, clientId: p.brought.clientId })),
      );
      const counted = new Set<string>();
      for (const p of pending) {
        const key = `${p.taskId}/${p.brought.clientId}`;
        // The same pair twice in one request: the first is "assigned", the repeat "already_assigned".
        const assigned = fresh.has(key) && !counted.has(key);
        counted.add(key);
        const it = input.items[p.index]!;
        results[p.index] = {
          index: p.index,
          task_id: it.task_id,
          email: it.email,
          ok: true,
          result: assigned ? 'assigned' : 'already_assigned',
          client_id: p.brought.clientId,
          invite_result: p.brought.inviteResult,
          invitation_id: p.brought.invitationId,
        };
      }
      return { results, emailIds, outcomes };
    });
    quota.keep();
    await enqueueEmails(deps, done.emailIds);
    return { results: done.results };
  } catch (err) {
    await quota.release();
    throw err;
  }
}

/**
 * The console's "assign these clients to these tasks": every client x task pair through bulkAssign, the
 * API's own use case. Clients are named by id (the agency's only; another agency's id is reported as not
 * found) and must be in the project or come with their names, exactly as bulkAssign requires.
 */
export async function bulkAssignClients(
  deps: Deps,
  principal: Principal,
  projectId: string,
  input: { clientIds: string[]; taskIds: string[]; sendEmails?: boolean },
): Promise<BulkAssignResultJson & { unknownClientIds: string[] }> {
  requireInviter(principal);
  const ids = [...new Set(input.clientIds)].filter(isUuid);
  const clients = await clientsByIds(deps.pool, principal.agencyId, ids);
  const known = new Set(clients.map((c) => c.id));
  const unknownClientIds = [...new Set(input.clientIds)].filter((id) => !known.has(id));
  const taskIds = [...new Set(input.taskIds)];
  const items = clients.flatMap((c) => taskIds.map((task_id) => ({ task_id, email: c.email, first_name: c.first_name, last_name: c.last_name })));
  if (items.length === 0) {
    throw validationError([
      ...(clients.length ? [] : [{ field: 'client_ids', message: 'choose at least one client of this agency' }]),
      ...(taskIds.length ? [] : [{ field: 'task_ids', message: 'choose at least one task' }]),
    ]);
  }
  const out = await bulkAssign(deps, principal, projectId, { items, send_emails: input.sendEmails ?? true });
  return { ...out, unknownClientIds };
}
