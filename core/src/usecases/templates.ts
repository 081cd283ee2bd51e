import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { AppError, notFound } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { getTemplateJson } from '../read/templates.js';
import type { TemplateJson } from '../read/resources.js';
import type { Principal } from './apiKeys.js';
import { requireInviter } from './invitations.js';

export const TEMPLATE_MAX_TASKS = 200;

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export const taskTitle = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(300, 'must be at most 300 characters')
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'must not contain control characters');
export const taskDescription = z
  .string()
  .max(5000, 'must be at most 5,000 characters')
  .refine((v) => !CONTROL.test(v), 'must not contain control characters')
  .nullable()
  .optional();
export const templateName = z
  .string({ error: 'is required' })
  .trim()
  .min(1, 'is required')
  .max(200, 'must be at most 200 characters');

/** Titles are compared case-insensitively, as the database's unique index does. */
function checkUniqueTitles(tasks: Array<{ title: string }>, ctx: z.RefinementCtx, path: PropertyKey[] = ['tasks']): void {
  const seen = new Map<string, number>();
  tasks.forEach((t, i) => {
    const key = t.title.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else ctx.addIssue({ code: 'custom', path: [...path, i, 'title'], message: `duplicates tasks[${first}].title ("${t.title}"); titles must be unique within a template` });
  });
}

const templateTasks = z
  .array(z.object({ title: taskTitle, description: taskDescription }))
  .min(1, 'must have at least 1 task')
  .max(TEMPLATE_MAX_TASKS, `must have at most ${TEMPLATE_MAX_TASKS} tasks`);

export const createTemplateInput = z
  .object({ name: templateName, tasks: templateTasks })
  .superRefine((v, ctx) => checkUniqueTitles(v.tasks, ctx));
export const updateTemplateInput = z
  .object({ name: templateName.optional(), tasks: templateTasks.optional() })
  .refine((v) => v.name !== undefined || v.tasks !== undefined, { message: 'give name, tasks or both', path: ['(body)'] })
  .superRefine((v, ctx) => {
    if (v.tasks) checkUniqueTitles(v.tasks, ctx);
  });

export const isUuid = (id: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

const nameTaken = (name: string) =>
  new AppError('conflict', 'Template name already used', {
    detail: `This agency already has a template named "${name}".`,
    errors: [{ field: 'name', message: 'is already used by another template of this agency' }],
  });

const isUniqueViolation = (err: unknown, constraint: string) =>
  (err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === constraint;

async function replaceTasks(tx: Queryable, templateId: string, tasks: Array<{ title: string; description?: string | null | undefined }>): Promise<void> {
  await tx.query('delete from template_tasks where template_id = $1', [templateId]);
  await tx.query(
    `insert into template_tasks (template_id, position, title, description)
     select $1, t.ord::int, t.title, t.description
       from unnest($2::text[], $3::text[]) with ordinality as t(title, description, ord)`,
    [templateId, tasks.map((t) => t.title), tasks.map((t) => t.description ?? null)],
  );
}

export async function createTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, raw: unknown): Promise<TemplateJson> {
  requireInviter(principal);
  const input = parseOrThrow(createTemplateInput, raw);
  try {
    const id = await withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<{ id: string }>('insert into templates (agency_id, name) values ($1, $2) returning id', [principal.agencyId, input.name]);
      await replaceTasks(tx, rows[0]!.id, input.tasks);
      return rows[0]!.id;
    });
    return (await getTemplateJson(deps.pool, principal.agencyId, id))!;
  } catch (err) {
    if (isUniqueViolation(err, 'templates_agency_name_idx')) throw nameTaken(input.name);
    throw err;
  }
}

/** `tasks` replaces the whole list. Projects already made from the template keep their own copies. */
export async function updateTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, id: string, raw: unknown): Promise<TemplateJson> {
  requireInviter(principal);
  if (!isUuid(id)) throw notFound('Template');
  const input = parseOrThrow(updateTemplateInput, raw);
  try {
    await withTransaction(deps.pool, async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `update templates set name = coalesce($3, name), updated_at = now() where agency_id = $1 and id = $2 returning id`,
        [principal.agencyId, id, input.name ?? null],
      );
      if (!rows[0]) throw notFound('Template');
      if (input.tasks) await replaceTasks(tx, id, input.tasks);
    });
  } catch (err) {
    if (isUniqueViolation(err, 'templates_agency_name_idx')) throw nameTaken(input.name!);
    throw err;
  }
  return (await getTemplateJson(deps.pool, principal.agencyId, id))!;
}

export async function deleteTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<void> {
  requireInviter(principal);
  if (!isUuid(id)) throw notFound('Template');
  const { rowCount } = await deps.pool.query('delete from templates where agency_id = $1 and id = $2', [principal.agencyId, id]);
  if (!rowCount) throw notFound('Template');
}

export async function getTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<TemplateJson> {
  const t = isUuid(id) ? await getTemplateJson(deps.pool, principal.agencyId, id) : null;
  if (!t) throw notFound('Template');
  return t;
}
