import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction } from '../db/pool.js';
import { deleteTemplateRow, insertTemplate, renameTemplate, replaceTemplateTasks } from '../sql/templates.js';
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
export const templateName = z.string({ error: 'is required' }).trim().min(1, 'is required').max(200, 'must be at most 200 characters');

/** Titles are compared case-insensitively, as the database's unique index does. */
function checkUniqueTitles(tasks: Array<{ title: string }>, ctx: z.RefinementCtx, path: PropertyKey[] = ['tasks']): void {
  const seen = new Map<string, number>();
  tasks.forEach((t, i) => {
    const key = t.title.toLowerCase();
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else
      ctx.addIssue({
        code: 'custom',
        path: [...path, i, 'title'],
        message: `duplicates tasks[${first}].title ("${t.title}"); titles must be unique within a template`,
      });
  });
}

const templateTasks = z
  .array(z.object({ title: taskTitle, description: taskDescription }))
  .min(1, 'must have at least 1 task')
  .max(TEMPLATE_MAX_TASKS, `must have at most ${TEMPLATE_MAX_TASKS} tasks`);

export const createTemplateInput = z.object({ name: templateName, tasks: templateTasks }).superRefine((v, ctx) => checkUniqueTitles(v.tasks, ctx));
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

export async function createTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, raw: unknown): Promise<TemplateJson> {
  requireInviter(principal);
  const input = parseOrThrow(createTemplateInput, raw);
  try {
    const id = await withTransaction(deps.pool, async (tx) => {
      const templateId = await insertTemplate(tx, principal.agencyId, input.name);
      await replaceTemplateTasks(tx, templateId, input.tasks);
      return templateId;
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
      if (!(await renameTemplate(tx, principal.agencyId, id, input.name ?? null))) throw notFound('Template');
      if (input.tasks) await replaceTemplateTasks(tx, id, input.tasks);
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
  if (!(await deleteTemplateRow(deps.pool, principal.agencyId, id))) throw notFound('Template');
}

export async function getTemplate(deps: Pick<Deps, 'pool'>, principal: Principal, id: string): Promise<TemplateJson> {
  const t = isUuid(id) ? await getTemplateJson(deps.pool, principal.agencyId, id) : null;
  if (!t) throw notFound('Template');
  return t;
}
