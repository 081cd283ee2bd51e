import express, { type Request, type Response, type Router } from 'express';
import {
  cancelImport,
  createImport,
  getImport,
  html,
  importErrorsCsv,
  importDuplicatesCsv,
  importWarningsCsv,
  importTemplateCsv,
  listImports,
  listTemplatesJson,
  notFound,
  type Deps,
  type ImportJson,
  type SafeHtml,
} from '@onramp/core';
import { discardBody, readUpload } from '../../http/importUpload.js';
import { see } from '../cookies.js';
import { CSRF_FIELD } from '../csrf.js';
import { badge, canInvite, consoleOf, consolePage, formatWhen, sendConsolePage, type ConsoleLocals, type View } from './layout.js';
import { flashBlock, flashOf, optionalText, redirectWithFlash, refusal, UUID, type Flash } from './kit.js';
import type { ConsoleForm } from './index.js';
import { streamCsv } from '../../http/csv.js';

const finished = (s: ImportJson['status']) => s === 'completed' || s === 'failed' || s === 'cancelled';

/** What the progress line shows, from the import's own timestamps (any API process computes the same). */
function progressOf(imp: ImportJson, now = Date.now()): { elapsedSeconds: number; rowsPerSecond: number | null } {
  if (!imp.started_at) return { elapsedSeconds: 0, rowsPerSecond: null };
  const end = imp.finished_at ? Date.parse(imp.finished_at) : now;
  const elapsed = Math.max(0, (end - Date.parse(imp.started_at)) / 1000);
  return { elapsedSeconds: Math.round(elapsed), rowsPerSecond: elapsed > 0.5 ? Math.round(imp.progress.rows_done / elapsed) : null };
}

const duration = (s: number) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
const num = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US'));

const COUNT_LABELS: Array<[keyof ImportJson['counts'], string]> = [
  ['rows', 'Rows read'],
  ['projects_created', 'Projects created'],
  ['projects_reused', 'Projects reused'],
  ['clients_invited', 'Clients invited'],
  ['clients_added', 'Active clients added'],
  ['already_invited', 'Already invited'],
  ['already_members', 'Already members'],
  ['assignments', 'Task assignments'],
  ['duplicates', 'Duplicate rows'],
  ['errors', 'Rows with errors'],
];

/**
 * CSV imports from the browser: the list, the upload form (the same streaming pipeline and refusals as
 * POST /v1/imports, via its createImport use case), an import's page with live progress, cancel, the
 * error rows and the template, all signed in by the console session.
 */
export function importsConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  async function listPage(res: Response, c: ConsoleLocals, req: Request, extra: { flash?: Flash | null; status?: number } = {}): Promise<void> {
    const cursor = optionalText(req.query.cursor)?.slice(0, 200);
    const [page, templates] = await Promise.all([
      listImports(deps, c.session.principal.agencyId, { limit: 25, cursor }),
      listTemplatesJson(deps.pool, c.session.principal.agencyId, { limit: 100 }),
    ]);
    sendConsolePage(
      res,
      importsPage(c, { items: page.data, nextCursor: page.next_cursor, cursor, templates: templates.data.map((t) => t.name), flash: extra.flash ?? null }),
      extra.status ?? 200,
    );
  }

  router.get('/console/imports', async (req: Request, res: Response) => {
    const c = consoleOf(res);
    await listPage(res, c, req, { flash: await flashOf(deps, req, c) });
  });

  router.get('/console/imports/template.csv', (_req: Request, res: Response) => {
    res.status(200).type('text/csv; charset=utf-8').setHeader('Content-Disposition', 'attachment; filename="onramp-import-template.csv"');
    res.send(importTemplateCsv);
  });

  // The file is streamed into createImport as it arrives; the CSRF token travels in the action's query
  // string because the body is read only after the check.
  router.post('/console/imports', ...form('import-upload', null), async (req: Request, res: Response) => {
    const c = consoleOf(res);
    try {
      const created = await readUpload(deps, req, (file, options) => createImport(deps, c.session.principal, file, options));
      see(res, `/console/imports/${created.value.id}`);
    } catch (err) {
      discardBody(req, res);
      const r = refusal(err);
      await listPage(res, c, req, { status: r.status, flash: { alert: `The file was not imported: ${r.message}` } });
    }
  });

  async function found(c: ConsoleLocals, id: string): Promise<ImportJson> {
    const imp = UUID.test(id) ? await getImport(deps, c.session.principal.agencyId, id) : null;
    if (!imp) throw notFound('Import');
    return imp;
  }

  router.get('/console/imports/:id', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const imp = await found(c, req.params.id);
    sendConsolePage(res, importPage(c, imp, await flashOf(deps, req, c)));
  });

  /** What the page's script polls while the import runs. */
  router.get('/console/imports/:id/progress', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const imp = await found(c, req.params.id);
    const p = progressOf(imp);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      status: imp.status,
      finished: finished(imp.status),
      progress: imp.progress,
      elapsed_seconds: p.elapsedSeconds,
      rows_per_second: p.rowsPerSecond,
      counts: imp.counts,
      error: imp.error,
    });
  });

  // The import's downloads, signed in by session (no API key): the same files the API serves.
  const downloads = { errors: importErrorsCsv, duplicates: importDuplicatesCsv, warnings: importWarningsCsv } as const;
  for (const [kind, rows] of Object.entries(downloads)) {
    router.get(`/console/imports/:id/${kind}.csv`, async (req: Request<{ id: string }>, res: Response) => {
      const c = consoleOf(res);
      const imp = await found(c, req.params.id);
      await streamCsv(res, `import-${imp.id}-${kind}.csv`, rows(deps, c.session.principal.agencyId, imp.id));
    });
  }

  router.post('/console/imports/:id/cancel', ...form('import-cancel'), async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const here = `/console/imports/${encodeURIComponent(req.params.id)}`;
    try {
      const imp = await cancelImport(deps, c.session.principal, req.params.id);
      await redirectWithFlash(deps, res, c, here, {
        notice: imp.status === 'cancelled' ? 'The import is cancelled.' : 'Cancelling: the import stops after the batch in progress. What was committed stays.',
      });
    } catch (err) {
      const r = refusal(err);
      await redirectWithFlash(deps, res, c, here, { alert: r.message });
    }
  });

  return router;
}

function importsPage(
  c: ConsoleLocals,
  d: { items: ImportJson[]; nextCursor: string | null; cursor?: string | undefined; templates: string[]; flash: Flash | null },
): View {
  const inviter = canInvite(c.session);
  const upload = inviter
    ? html`<form method="post" action="/console/imports?${CSRF_FIELD}=${c.csrf('import-upload')}" enctype="multipart/form-data" class="upload" id="upload-form">
<div class="dropzone" id="dropzone">
<label for="file">CSV file <span class="muted">(up to 100 MB; UTF-8; a header row naming project_name, first_name, last_name, email)</span></label>
<input type="file" id="file" name="file" accept=".csv,text/csv" required>
<p class="muted drop-hint" hidden>…or drop the file here.</p>
<p class="file-name" id="file-name" aria-live="polite"></p>
</div>
<div class="options">
<label class="inline"><input type="checkbox" name="dry_run" value="true"> Dry run: check every row and report the counts, change nothing</label>
<input type="hidden" name="send_emails" value="false">
<label class="inline"><input type="checkbox" name="send_emails" value="true" checked> Send the invitation emails</label>
<label for="default_template">Template for new projects whose row names none</label>
<select id="default_template" name="default_template"><option value="">No template</option>${d.templates.map((t) => html`<option value="${t}">${t}</option>`)}</select>
</div>
<div class="actions"><button type="submit">Upload and import</button><a href="/console/imports/template.csv" download>Download the template (template.csv)</a></div>
</form>`
    : html`<p class="muted">Read-only: owners and admins can upload imports. <a href="/console/imports/template.csv" download>Download the template (template.csv)</a></p>`;

  const rows = d.items.map(
    (i) => html`<tr data-id="${i.id}">
<td data-label="File"><a href="/console/imports/${i.id}"><strong>${i.filename ?? 'Upload'}</strong></a>${i.dry_run ? html` <span class="badge inactive">dry run</span>` : ''}<span class="sub">${num(i.size_bytes)} bytes</span></td>
<td data-label="Status">${badge(i.status)}</td>
<td class="num" data-label="Progress">${i.progress.percent === null ? '—' : `${i.progress.percent}%`}<span class="sub">${num(i.progress.rows_done)} / ${num(i.progress.rows_total)} rows</span></td>
<td class="num" data-label="Errors">${num(i.counts.errors)}</td>
<td data-label="Uploaded">${formatWhen(i.created_at)}</td>
</tr>`,
  );
  return consolePage(c, {
    section: 'imports',
    title: 'CSV imports',
    scripts: ['console.js'],
    body: html`<div class="card"><h1>CSV imports</h1>
<p class="muted">One CSV creates many projects, invites many clients and assigns tasks. Each row follows the same rules as the API; bad rows are skipped and listed in an errors file.</p>
${flashBlock(d.flash)}
${upload}</div>
<div class="card flush"><div class="card-head"><h2>Imports, newest first</h2></div>${
      d.items.length === 0
        ? html`<p class="empty">No imports yet.</p>`
        : html`<table class="stack"><thead><tr><th>File</th><th>Status</th><th class="num">Progress</th><th class="num">Errors</th><th>Uploaded</th></tr></thead><tbody>${rows}</tbody></table>`
    }${
      d.nextCursor || d.cursor
        ? html`<div class="pager">${d.cursor ? html`<a href="/console/imports">« First page</a>` : ''}${
            d.nextCursor ? html`<a href="/console/imports?cursor=${d.nextCursor}" rel="next">Next page »</a>` : ''
          }</div>`
        : ''
    }</div>`,
  });
}

function importPage(c: ConsoleLocals, imp: ImportJson, flash: Flash | null): View {
  const p = progressOf(imp);
  const live = !finished(imp.status);
  const percent = imp.progress.percent;
  const counts: SafeHtml = html`<dl class="counts">${COUNT_LABELS.map(
    ([k, label]) => html`<div><dt>${label}</dt><dd data-count="${k}">${num(imp.counts[k])}</dd></div>`,
  )}</dl>`;
  return consolePage(c, {
    section: 'imports',
    title: imp.filename ?? 'Import',
    scripts: ['console.js'],
    body: html`${live ? html`<noscript><meta http-equiv="refresh" content="3"></noscript>` : ''}
<div class="card"><div class="title-row"><h1>${imp.filename ?? 'Import'}</h1><span id="import-status">${badge(imp.status)}</span>${imp.dry_run ? html`<span class="badge inactive">dry run</span>` : ''}
<a class="right" href="/console/imports">All imports »</a></div>
<p class="muted">Uploaded ${formatWhen(imp.created_at)} · ${num(imp.size_bytes)} bytes · ${imp.send_emails ? 'invitation emails on' : 'no emails'}</p>
${flashBlock(flash)}
<div class="progress-box" id="import-progress" data-progress-url="/console/imports/${imp.id}/progress" data-live="${live ? 'yes' : 'no'}">
<progress id="progress-bar" max="100" value="${percent ?? 0}" aria-label="Import progress">${percent ?? 0}%</progress>
<p class="progress-line" aria-live="polite"><strong id="progress-percent">${percent === null ? '—' : `${percent}%`}</strong> ·
<span id="rows-done">${num(imp.progress.rows_done)}</span> of <span id="rows-total">${num(imp.progress.rows_total)}</span> rows ·
<span id="rows-rate">${p.rowsPerSecond === null ? '—' : num(p.rowsPerSecond)}</span> rows/s ·
elapsed <span id="elapsed">${duration(p.elapsedSeconds)}</span></p>
${live ? html`<p class="muted" id="live-note">This page updates on its own while the import runs; without JavaScript it reloads every few seconds.</p>` : ''}
<p class="alert" id="import-error" role="alert"${imp.error ? '' : html` hidden`}>${imp.error ?? ''}</p>
</div>
${counts}
<div class="actions">
<a class="button secondary small" id="errors-link" href="/console/imports/${imp.id}/errors.csv" download${imp.counts.errors > 0 ? '' : html` hidden`}>Download the ${num(imp.counts.errors)} error rows (errors.csv)</a>
${imp.counts.duplicates > 0 ? html`<a class="button secondary small" id="duplicates-link" href="/console/imports/${imp.id}/duplicates.csv" download>The ${num(imp.counts.duplicates)} duplicate rows (duplicates.csv)</a>` : ''}
${imp.status === 'completed' ? html`<a class="button secondary small" id="warnings-link" href="/console/imports/${imp.id}/warnings.csv" download>Email typo warnings (warnings.csv)</a>` : ''}
${
  live && canInvite(c.session)
    ? html`<form method="post" action="/console/imports/${imp.id}/cancel" id="cancel-form"><input type="hidden" name="${CSRF_FIELD}" value="${c.csrf('import-cancel')}"><button type="submit" class="danger small">Cancel the import</button></form>`
    : ''
}
</div></div>`,
  });
}
