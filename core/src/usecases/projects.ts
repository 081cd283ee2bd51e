import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction, type PoolClient, type Queryable } from '../db/pool.js';
import { AppError, notFound, validationError, type FieldError } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { getProjectRow, toProjectJson, listTasksJson, type ProjectRow } from '../read/projects.js';
import { insertProjects } from '../sql/projectInserts.js';
import { lockProjectByExternalId, updateProjectRow } from '../sql/projects.js';
import { listProjectTaskRefs, type TaskRef } from '../sql/tasks.js';
import { findTemplateById, findTemplateByName, listTemplateNames, type TemplateRef } from '../sql/templates.js';
import { projectJson, taskJson, type ProjectJson } from '../read/resources.js';
import type { Principal } from './apiKeys.js';
import { enqueueEmails } from './emails.js';
import { customMessage, emailAddress, normaliseEmail, personName } from './inputs.js';
import { inviteAllToProjectTx, requireInviter, type InviteResult } from './invitations.js';
import { assignTasksTx, atItem, archived, InviteQuota, peopleInProject } from './projectAccess.js';
import { isUuid, templateName } from './templates.js';

export const PROJECT_MAX_CLIENTS = 100;
export const PROJECT_MAX_ASSIGNMENTS = 1000;

const projectName = z.string({ error: 'is required' }).trim().min(1, 'is required').max(200, 'must be at most 200 characters');
const externalId = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const createProjectInput = z
  .object({
    name: projectName,
    external_id: externalId.nullable().optional(),
    template_id: z.string().trim().nullable().optional(),
    template_name: templateName.nullable().optional(),
    clients: z
      .array(z.object({ email: emailAddress, first_name: personName, last_name: personName, message: customMessage }))
      .max(PROJECT_MAX_CLIENTS, `must have at most ${PROJECT_MAX_CLIENTS} clients`)
      .default([]),
    assignments: z
      .array(
        z.object({
          task: z.string({ error: 'is required (a task title or id)' }).trim().min(1, 'is required (a task title or id)').max(300),
          emails: z.array(emailAddress).min(1, 'must name at least one email').max(PROJECT_MAX_CLIENTS),
        }),
      )
      .max(PROJECT_MAX_ASSIGNMENTS, `must have at most ${PROJECT_MAX_ASSIGNMENTS} assignments`)
      .default([]),
    send_emails: z.boolean().default(true),
  })
  .superRefine((v, ctx) => {
    if (v.template_id && v.template_name) {
      ctx.addIssue({ code: 'custom', path: ['template_name'], message: 'give template_id or template_name, not both' });
    }
    const seen = new Map<string, number>();
    v.clients.forEach((c, i) => {
      const first = seen.get(normaliseEmail(c.email));
      if (first === undefined) seen.set(normaliseEmail(c.email), i);
      else ctx.addIssue({ code: 'custom', path: ['clients', i, 'email'], message: `duplicates clients[${first}].email` });
    });
  });
export type CreateProjectInput = z.input<typeof createProjectInput>;
type ParsedCreateProject = z.output<typeof createProjectInput>;

export const clientOutcomeJson = z.object({
  email: z.string(),
  client_id: z.uuid(),
  invitation_id: z.uuid().nullable(),
  result: z.enum(['invited', 'added', 'already_invited', 'already_member']),
});
export const createdProjectJson = projectJson.extend({
  created: z.boolean(),
  tasks: z.array(taskJson),
  clients: z.array(clientOutcomeJson),
});
export type CreatedProjectJson = z.infer<typeof createdProjectJson>;

/**
 * Create Project, the Zapier action and the API's one call: the project (or the existing one with this
 * external_id), its tasks copied from the template, its clients invited by the invitation rules, and the
 * task assignments; all in one transaction, the invitation emails queued after commit.
 *
 * Retried with the same external_id, it answers the existing project (created: false) and adds only the
 * clients and assignments that are missing. Concurrent identical calls meet on the (agency_id,
 * external_id) unique key: one inserts, the others wait for it and then see its project.
 */
export async function createProject(deps: Deps, principal: Principal, raw: CreateProjectInput): Promise<CreatedProjectJson> {
  requireInviter(principal);
  const input = parseOrThrow(createProjectInput, raw);
  const quota = new InviteQuota();
  try {
    const done = await withTransaction(deps.pool, async (tx) => {
      const template = await resolveTemplate(tx, principal.agencyId, input);
      // New: the project, its copy of the template's tasks and its project.created event, in one statement.
      const { project, created, tasks } = await insertOrFindProject(tx, principal, input, template);
      if (!created && project.archived_at && (input.clients.length || input.assignments.length)) throw archived();
      // Every assignment is checked before anyone is invited: a bad one leaves nothing behind.
      const plan = await planAssignments(tx, principal.agencyId, project, created, tasks, input);
      const outcomes = await inviteClients(tx, deps, principal, project, input);
      await quota.count(deps, principal.agencyId, outcomes);
      const clientIdByEmail = new Map([...plan.existingClientIds, ...outcomes.map((o) => [normaliseEmail(o.email), o.client_id] as const)]);
      await assignTasksTx(
        tx,
        principal,
        project.id,
        plan.pairs.map((p) => ({ taskId: p.taskId, clientId: clientIdByEmail.get(p.email)! })),
      );
      return { project, created, outcomes };
    });
    quota.keep();
    await enqueueEmails(
      deps,
      done.outcomes.flatMap((o) => o.emailIds),
    );
    return {
      ...toProjectJson(done.project),
      created: done.created,
      tasks: await listTasksJson(deps.pool, principal.agencyId, done.project.id),
      clients: done.outcomes.map(({ emailIds: _emailIds, ...c }) => c),
    };
  } catch (err) {
    await quota.release();
    throw err;
  }
}

async function resolveTemplate(tx: Queryable, agencyId: string, input: ParsedCreateProject): Promise<TemplateRef | null> {
  if (input.template_id) {
    const template = isUuid(input.template_id) ? await findTemplateById(tx, agencyId, input.template_id) : undefined;
    if (!template) {
      throw validationError([
        { field: 'template_id', message: `no template with id "${input.template_id}" in this agency; ${await templateNames(tx, agencyId)}` },
      ]);
    }
    return template;
  }
  if (input.template_name) {
    const template = await findTemplateByName(tx, agencyId, input.template_name);
    if (!template) {
      throw validationError([
        { field: 'template_name', message: `no template named "${input.template_name}" in this agency; ${await templateNames(tx, agencyId)}` },
      ]);
    }
    return template;
  }
  return null;
}

const NAMES_SHOWN = 20;

/**
 * The names a caller could have meant, for the error of an unknown template: a Zap builder types a name
 * ("Client onboarding") as often as they pick one, and a typo should answer with the right spelling.
 */
async function templateNames(tx: Queryable, agencyId: string): Promise<string> {
  const rows = await listTemplateNames(tx, agencyId, NAMES_SHOWN);
  if (!rows.length) return 'the agency has no templates yet';
  const names = rows.map((r) => JSON.stringify(r.name)).join(', ');
  const more = rows[0]!.total - rows.length;
  return `its templates are ${names}${more > 0 ? ` and ${more} more` : ''}`;
}

async function insertOrFindProject(
  tx: PoolClient,
  principal: Principal,
  input: ParsedCreateProject,
  template: TemplateRef | null,
): Promise<{ project: ProjectRow; created: boolean; tasks: TaskRef[] }> {
  // The statement an import uses for its batches, with one row (core/src/sql/projectInserts.ts).
  const rows = await insertProjects(tx, {
    agencyId: principal.agencyId,
    actorId: principal.userId,
    importId: null,
    names: [input.name],
    externalIds: [input.external_id ?? null],
    templateIds: [template?.id ?? null],
  });
  if (rows[0]) {
    const { tasks, ...project } = rows[0];
    return { project, created: true, tasks };
  }
  // The conflicting insert has committed (we waited for it); this statement's fresh snapshot sees it.
  const project = (await lockProjectByExternalId(tx, principal.agencyId, input.external_id!))!;
  return { project, created: false, tasks: await listProjectTaskRefs(tx, project.id) };
}

/**
 * Each assignment names a task of this project (by id or by title, case-insensitive) and emails that are
 * among `clients` or already in the project. Anything else is a 422 naming the item.
 */
async function planAssignments(
  tx: Queryable,
  agencyId: string,
  project: ProjectRow,
  created: boolean,
  tasks: TaskRef[],
  input: ParsedCreateProject,
): Promise<{ pairs: Array<{ taskId: string; email: string }>; existingClientIds: Map<string, string> }> {
  const existingClientIds = new Map<string, string>();
  if (input.assignments.length === 0) return { pairs: [], existingClientIds };
  const byId = new Map(tasks.map((t) => [t.id.toLowerCase(), t.id]));
  const byTitle = new Map(tasks.map((t) => [t.title.toLowerCase(), t.id]));
  const listed = new Set(input.clients.map((c) => normaliseEmail(c.email)));
  const others = input.assignments.flatMap((a) => a.emails.map(normaliseEmail)).filter((e) => !listed.has(e));
  const inProject = created ? new Map() : await peopleInProject(tx, agencyId, project.id, others);
  for (const [email, person] of inProject) existingClientIds.set(email, person.clientId);

  const errors: FieldError[] = [];
  const pairs: Array<{ taskId: string; email: string }> = [];
  input.assignments.forEach((a, i) => {
    const taskId = byId.get(a.task.toLowerCase()) ?? byTitle.get(a.task.toLowerCase());
    if (!taskId) {
      errors.push({
        field: `assignments[${i}].task`,
        message: tasks.length ? `the project has no task "${a.task}"` : `the project has no tasks (no template was given), so there is no task "${a.task}"`,
      });
    }
    a.emails.forEach((raw, j) => {
      const email = normaliseEmail(raw);
      if (!listed.has(email) && !existingClientIds.has(email)) {
        errors.push({ field: `assignments[${i}].emails[${j}]`, message: `"${raw}" is not among clients and is not in the project` });
      } else if (taskId) {
        pairs.push({ taskId, email });
      }
    });
  });
  if (errors.length) throw validationError(errors);
  return { pairs, existingClientIds };
}

interface ClientOutcome {
  email: string;
  client_id: string;
  invitation_id: string | null;
  result: InviteResult;
  emailIds: string[];
}

/** Through the invitation rules all at once, in address order so concurrent calls lock client rows alike. */
async function inviteClients(tx: PoolClient, deps: Deps, principal: Principal, project: ProjectRow, input: ParsedCreateProject): Promise<ClientOutcome[]> {
  const order = input.clients.map((c, i) => ({ c, i })).sort((x, y) => normaliseEmail(x.c.email).localeCompare(normaliseEmail(y.c.email)));
  const results = await inviteAllToProjectTx(
    tx,
    deps,
    principal,
    project,
    order.map(({ c }) => ({ email: c.email, first_name: c.first_name, last_name: c.last_name, message: c.message ?? null, send_email: input.send_emails })),
    (err, k) => atItem(err, `clients[${order[k]!.i}]`),
  );
  const outcomes: ClientOutcome[] = new Array(input.clients.length);
  results.forEach((o, k) => {
    const { c, i } = order[k]!;
    outcomes[i] = { email: c.email, client_id: o.clientId, invitation_id: o.invitationId, result: o.result, emailIds: o.emailIds };
  });
  return outcomes;
}

// ----------------------------------------------------------------------------- read, find, change

export const listProjectsQuery = z.object({
  name: z.string().max(200).optional(),
  external_id: z.string().max(200).optional(),
  include_archived: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true'),
});

export const updateProjectInput = z
  .object({ name: projectName.optional(), archived: z.boolean().optional(), external_id: externalId.nullable().optional() })
  .refine((v) => v.name !== undefined || v.archived !== undefined || v.external_id !== undefined, {
    message: 'give name, archived or external_id',
    path: ['(body)'],
  });

export const projectWithTasksJson = projectJson.extend({ tasks: z.array(taskJson) });
export type ProjectWithTasksJson = z.infer<typeof projectWithTasksJson>;

export async function getProject(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<ProjectWithTasksJson> {
  const project = isUuid(id) ? await getProjectRow(deps.pool, principal.agencyId, id) : null;
  if (!project) throw notFound('Project');
  return { ...toProjectJson(project), tasks: await listTasksJson(deps.pool, principal.agencyId, id) };
}

/** Rename, archive / unarchive, or (re)link to a CRM id. An archived project is hidden from lists. */
export async function updateProject(deps: Pick<Deps, 'pool'>, principal: Principal, id: string, raw: unknown): Promise<ProjectJson> {
  requireInviter(principal);
  if (!isUuid(id)) throw notFound('Project');
  const input = parseOrThrow(updateProjectInput, raw);
  try {
    const project = await updateProjectRow(deps.pool, principal.agencyId, id, {
      name: input.name,
      archived: input.archived,
      externalId: input.external_id,
    });
    if (!project) throw notFound('Project');
    return toProjectJson(project);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new AppError('conflict', 'External id already used', {
        detail: `Another project of this agency has external_id "${input.external_id}".`,
        errors: [{ field: 'external_id', message: 'is already used by another project of this agency' }],
      });
    }
    throw err;
  }
}
