import express, { type Request, type Response, type Router } from 'express';
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  getTemplateUsage,
  html,
  listTemplatesJson,
  updateTemplate,
  type Deps,
  type FieldError,
  type TemplateJson,
  type TemplateUsage,
} from '@onramp/core';
import { canInvite, consoleOf, consolePage, csrfInput, formatWhen, sendConsolePage, type ConsoleLocals, type View } from './layout.js';
import { describedBy, field, fieldError, flashBlock, flashOf, optionalText, plural, redirectWithFlash, refusal, type Flash } from './kit.js';
import type { ConsoleForm } from './index.js';

/** One task title per line; blank lines dropped. */
const linesOf = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** A task-level field error ("tasks.3.title") as a line the user can find. */
const taskErrors = (errors: FieldError[], titles: string[]) =>
  errors.map((e) => {
    const m = /^tasks(?:\.|\[)(\d+)\]?\.title$/.exec(e.field);
    return m ? `Line ${Number(m[1]) + 1} (“${titles[Number(m[1])] ?? ''}”): ${e.message}` : `${e.field === 'tasks' ? 'Tasks' : e.field}: ${e.message}`;
  });

type Move = 'up' | 'down' | 'remove';

/**
 * Templates: the list with a create form (a name and one task per line), and a template's page: rename,
 * reorder, add and remove tasks (each a small form: no script needed), delete (confirmed on a page that
 * says how many projects were made from it, and that they keep their tasks).
 */
export function templatesConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();
  const path = (id: string) => `/console/templates/${encodeURIComponent(id)}`;

  async function listPage(
    req: Request,
    res: Response,
    extra: { create?: { name: string; tasks: string; errors: FieldError[]; alert?: string }; status?: number } = {},
  ) {
    const c = consoleOf(res);
    const cursor = optionalText(req.query.cursor)?.slice(0, 200);
    const [page, flash] = await Promise.all([listTemplatesJson(deps.pool, c.session.principal.agencyId, { limit: 50, cursor }), flashOf(deps, req, c)]);
    sendConsolePage(res, templatesPage(c, { items: page.data, nextCursor: page.next_cursor, cursor, flash, create: extra.create }), extra.status ?? 200);
  }

  router.get('/console/templates', (req: Request, res: Response) => listPage(req, res));

  router.post('/console/templates', ...form('template-create'), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    const name = field(req.body, 'name');
    const tasks = field(req.body, 'tasks');
    const titles = linesOf(tasks);
    try {
      const t = await createTemplate(deps, c.session.principal, { name, tasks: titles.map((title) => ({ title })) });
      await redirectWithFlash(deps, res, c, path(t.id), { notice: `Created the template ${t.name} with ${plural(t.tasks.length, 'task')}.` });
    } catch (err) {
      const r = refusal(err);
      const errors = r.errors.filter((e) => e.field === 'name');
      const rest = taskErrors(
        r.errors.filter((e) => e.field !== 'name'),
        titles,
      );
      await listPage(req, res, {
        status: r.status,
        create: { name, tasks, errors, ...(rest.length ? { alert: rest.join(' ') } : errors.length ? {} : { alert: r.message }) },
      });
    }
  });

  async function templatePage(req: Request<{ id: string }>, res: Response) {
    const c = consoleOf(res);
    const t = await getTemplate(deps, c.session.principal, req.params.id);
    const [usage, flash] = await Promise.all([getTemplateUsage(deps.pool, c.session.principal.agencyId, t.id), flashOf(deps, req, c)]);
    sendConsolePage(res, templateView(c, t, usage!, flash));
  }

  router.get('/console/templates/:id', templatePage);

  /** Change the template through updateTemplate (the API's PATCH), then back to its page. */
  async function change(req: Request<{ id: string }>, res: Response, build: (t: TemplateJson) => { body: Record<string, unknown>; notice: string }) {
    const c = consoleOf(res);
    let flash: Flash;
    try {
      const current = await getTemplate(deps, c.session.principal, req.params.id);
      const { body, notice } = build(current);
      await updateTemplate(deps, c.session.principal, current.id, body);
      flash = { notice };
    } catch (err) {
      const r = refusal(err);
      flash = {
        alert: r.errors.length ? r.errors.map((e) => `${e.field.replace(/^tasks(?:\.|\[)(\d+)\]?\.title$/, 'task')} ${e.message}`).join('; ') : r.message,
      };
    }
    await redirectWithFlash(deps, res, c, path(req.params.id), flash);
  }

  const keep = (t: TemplateJson) => t.tasks.map((x) => ({ title: x.title, description: x.description }));

  router.post('/console/templates/:id/rename', ...form('template-edit'), (req: Request<{ id: string }>, res: Response) =>
    change(req, res, () => ({ body: { name: field(req.body, 'name') }, notice: `Renamed to ${field(req.body, 'name').trim()}.` })),
  );

  router.post('/console/templates/:id/tasks', ...form('template-edit'), (req: Request<{ id: string }>, res: Response) =>
    change(req, res, (t) => {
      const tasks = keep(t);
      const title = field(req.body, 'title');
      tasks.push({ title, description: null });
      return { body: { tasks }, notice: `Added the task ${title.trim()}.` };
    }),
  );

  router.post('/console/templates/:id/move', ...form('template-edit'), (req: Request<{ id: string }>, res: Response) =>
    change(req, res, (t) => {
      const tasks = keep(t);
      const i = Number.parseInt(field(req.body, 'index'), 10);
      const op = field(req.body, 'op') as Move;
      if (!Number.isInteger(i) || i < 0 || i >= tasks.length || !['up', 'down', 'remove'].includes(op)) return { body: { tasks }, notice: 'Nothing changed.' };
      const [task] = op === 'remove' ? tasks.splice(i, 1) : [tasks[i]!];
      if (op === 'up' && i > 0) [tasks[i - 1], tasks[i]] = [tasks[i]!, tasks[i - 1]!];
      if (op === 'down' && i < tasks.length - 1) [tasks[i + 1], tasks[i]] = [tasks[i]!, tasks[i + 1]!];
      return { body: { tasks }, notice: op === 'remove' ? `Removed the task ${task!.title}.` : `Moved ${task!.title} ${op}.` };
    }),
  );

  /** The whole ordered list at once, one title per line (what a keyboard user edits fastest). */
  router.post('/console/templates/:id/edit', ...form('template-edit'), (req: Request<{ id: string }>, res: Response) =>
    change(req, res, (t) => {
      const byTitle = new Map(t.tasks.map((x) => [x.title.toLowerCase(), x.description]));
      const tasks = linesOf(field(req.body, 'tasks')).map((title) => ({ title, description: byTitle.get(title.toLowerCase()) ?? null }));
      return { body: { tasks }, notice: `Saved ${plural(tasks.length, 'task')} in this order.` };
    }),
  );

  router.get('/console/templates/:id/delete', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const t = await getTemplate(deps, c.session.principal, req.params.id);
    const usage = (await getTemplateUsage(deps.pool, c.session.principal.agencyId, t.id))!;
    sendConsolePage(
      res,
      consolePage(c, {
        section: 'templates',
        title: `Delete ${t.name}`,
        body: html`<div class="card danger-zone"><h1>Delete the template ${t.name}?</h1>
<ul><li>${plural(usage.projects, 'project was', 'projects were')} created from it: they keep their own tasks and assignments, and simply no longer name a template.</li>
<li>New projects can no longer use it: Create Project, Zapier and CSV rows naming “${t.name}” are refused (“no template named …”).</li>
${usage.activeImports ? html`<li><strong>${plural(usage.activeImports, 'import')} queued or running use it as their default template</strong>: their new projects without a template column will be created without tasks.</li>` : ''}</ul>
${
  canInvite(c.session)
    ? html`<form method="post" action="/console/templates/${t.id}/delete">${csrfInput(c.csrf('template-delete'))}
<div class="actions"><button type="submit" class="danger" id="confirm-button">Delete ${t.name}</button><a href="/console/templates/${t.id}">Cancel</a></div></form>`
    : html`<p class="muted">Only owners and admins can do this.</p>`
}</div>`,
      }),
    );
  });

  router.post('/console/templates/:id/delete', ...form('template-delete'), async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    try {
      const t = await getTemplate(deps, c.session.principal, req.params.id);
      await deleteTemplate(deps, c.session.principal, t.id);
      await redirectWithFlash(deps, res, c, '/console/templates', { notice: `Deleted the template ${t.name}. Projects made from it keep their tasks.` });
    } catch (err) {
      await redirectWithFlash(deps, res, c, path(req.params.id), { alert: refusal(err).message });
    }
  });

  return router;
}

function templatesPage(
  c: ConsoleLocals,
  d: {
    items: TemplateJson[];
    nextCursor: string | null;
    cursor?: string | undefined;
    flash: Flash | null;
    create?: { name: string; tasks: string; errors: FieldError[]; alert?: string } | undefined;
  },
): View {
  const errors = d.create?.errors;
  const createForm = canInvite(c.session)
    ? html`<details class="card" id="create-card"${d.create ? html` open` : ''}><summary><h2 class="inline-h">Create a template</h2></summary>
${d.create?.alert ? html`<div class="alert" role="alert">${d.create.alert}</div>` : ''}
<form method="post" action="/console/templates" class="wide" novalidate>${csrfInput(c.csrf('template-create'))}
<label for="template-name">Name</label><input type="text" id="template-name" name="name" value="${d.create?.name ?? ''}" maxlength="200" required${describedBy(errors, 'name')}>${fieldError(errors, 'name', 'Name')}
<label for="template-tasks">Tasks, in order <span class="muted">(one per line; 1 to 200, titles unique)</span></label>
<textarea id="template-tasks" name="tasks" rows="8" required>${d.create?.tasks ?? ''}</textarea>
<div class="actions"><button type="submit" id="create-template">Create template</button></div></form></details>`
    : '';
  const rows = d.items.map(
    (t) => html`<tr data-id="${t.id}"><td data-label="Template"><a href="/console/templates/${t.id}"><strong>${t.name}</strong></a></td>
<td data-label="Tasks">${plural(t.tasks.length, 'task')}<span class="sub">${t.tasks
      .slice(0, 4)
      .map((x) => x.title)
      .join(' · ')}${t.tasks.length > 4 ? ' · …' : ''}</span></td><td data-label="Created">${formatWhen(t.created_at)}</td></tr>`,
  );
  return consolePage(c, {
    section: 'templates',
    title: 'Templates',
    body: html`<div class="card"><h1>Templates</h1><p class="muted">A template is an ordered list of tasks. A project created from it gets its own copy of the tasks.</p></div>
${flashBlock(d.flash)}
${createForm}
<div class="card flush">${
      d.items.length === 0
        ? html`<p class="empty">No templates.</p>`
        : html`<table class="stack"><thead><tr><th>Template</th><th>Tasks</th><th>Created</th></tr></thead><tbody>${rows}</tbody></table>`
    }${
      d.nextCursor || d.cursor
        ? html`<div class="pager">${d.cursor ? html`<a href="/console/templates">« First page</a>` : ''}${
            d.nextCursor ? html`<a href="/console/templates?cursor=${d.nextCursor}" rel="next">Next page »</a>` : ''
          }</div>`
        : ''
    }</div>`,
  });
}

function templateView(c: ConsoleLocals, t: TemplateJson, usage: TemplateUsage, flash: Flash | null): View {
  const inviter = canInvite(c.session);
  const csrf = inviter ? c.csrf('template-edit') : '';
  const moveButton = (i: number, op: Move, label: string, disabled: boolean) =>
    html`<form method="post" action="/console/templates/${t.id}/move" class="inline-form">${csrfInput(csrf)}<input type="hidden" name="index" value="${i}"><input type="hidden" name="op" value="${op}"><button type="submit" class="secondary small"${disabled ? html` disabled` : ''} aria-label="${label}">${
      op === 'up' ? '↑' : op === 'down' ? '↓' : 'Remove'
    }</button></form>`;
  const list = html`<ol class="task-edit" id="task-list">${t.tasks.map(
    (x, i) =>
      html`<li><span class="t">${x.title}${x.description ? html`<span class="sub">${x.description}</span>` : ''}</span>${
        inviter
          ? html`${moveButton(i, 'up', `Move ${x.title} up`, i === 0)}${moveButton(i, 'down', `Move ${x.title} down`, i === t.tasks.length - 1)}${moveButton(i, 'remove', `Remove ${x.title}`, t.tasks.length === 1)}`
          : ''
      }</li>`,
  )}</ol>`;
  const forms = inviter
    ? html`<form method="post" action="/console/templates/${t.id}/tasks" class="stack-form" id="add-task-form">${csrfInput(csrf)}<div><label for="new-task">Add a task at the end</label><input type="text" id="new-task" name="title" maxlength="300" required></div><div><button type="submit" class="secondary">Add task</button></div></form>
<details class="edit"><summary>Edit the whole list as text</summary>
<form method="post" action="/console/templates/${t.id}/edit" class="wide">${csrfInput(csrf)}<label for="all-tasks">One task per line, in order</label>
<textarea id="all-tasks" name="tasks" rows="${Math.min(20, t.tasks.length + 2)}">${t.tasks.map((x) => x.title).join('\n')}</textarea>
<div class="actions"><button type="submit" class="secondary">Save the list</button><span class="muted">Descriptions stay with tasks whose title is unchanged.</span></div></form></details>`
    : '';
  return consolePage(c, {
    section: 'templates',
    title: t.name,
    body: html`<div class="card"><div class="title-row"><h1>${t.name}</h1>${inviter ? html`<a class="right button secondary small danger-text" href="/console/templates/${t.id}/delete" id="delete-link">Delete…</a>` : ''}</div>
<p class="muted">${plural(t.tasks.length, 'task')} · ${plural(usage.projects, 'project')} created from it · changes apply to projects created from now on; existing projects keep their tasks.</p>
${
  inviter
    ? html`<details class="edit"><summary>Rename</summary><form method="post" action="/console/templates/${t.id}/rename" class="stack-form">${csrfInput(csrf)}<div><label for="template-rename">New name</label><input type="text" id="template-rename" name="name" value="${t.name}" maxlength="200" required></div><div><button type="submit" class="secondary">Rename</button></div></form></details>`
    : ''
}</div>
${flashBlock(flash)}
<div class="card"><h2>Tasks, in order</h2>${list}${forms}</div>`,
  });
}
