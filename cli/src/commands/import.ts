import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from './types.js';

interface ImportView {
  id: string;
  status: string;
  dry_run: boolean;
  progress: { rows_done: number; rows_total: number | null; percent: number | null };
  counts: Record<string, number>;
  error: string | null;
  errors_url: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number) => n.toLocaleString('en-US');

async function problemText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const p = JSON.parse(text) as { title?: string; detail?: string; errors?: Array<{ field: string; message: string }> };
    const fields = (p.errors ?? []).map((e) => `  ${e.field}: ${e.message}`).join('\n');
    return `${p.title ?? `HTTP ${res.status}`}${p.detail ? `: ${p.detail}` : ''}${fields ? `\n${fields}` : ''}`;
  } catch {
    return `HTTP ${res.status}: ${text.slice(0, 500)}`;
  }
}

function bar(view: ImportView, rate: number): string {
  const total = view.progress.rows_total;
  const done = view.progress.rows_done;
  const pct = total ? Math.min(1, done / total) : 0;
  const width = 30;
  const filled = Math.round(pct * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(pct * 100).toFixed(1).padStart(5)}%  ${fmt(done)}${total ? `/${fmt(total)}` : ''} rows  ${fmt(Math.round(rate))} rows/s`;
}

export const importCommands: Command[] = [
  {
    name: 'import',
    usage: 'FILE.csv [--dry-run] [--template NAME] [--no-emails] [--url URL] [--key KEY]',
    summary: 'Upload a CSV of projects, clients and task assignments to a running Onramp and follow it to the end',
    positionals: 1,
    needsConfig: false,
    options: {
      'dry-run': { type: 'boolean' },
      template: { type: 'string' },
      'no-emails': { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
    },
    optionHelp: {
      'dry-run': 'Validate every row and report the counts; change nothing',
      template: 'Template for rows whose template cell is empty',
      'no-emails': 'Invite without sending emails (send them later with resend)',
      url: 'Onramp base URL (default $ONRAMP_URL, else http://localhost:3000)',
      key: 'API key (default $ONRAMP_API_KEY)',
    },
    run: async ({ values, positionals }) => {
      const file = positionals[0]!;
      const base = String(values.url ?? process.env.ONRAMP_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
      const key = (values.key as string | undefined) ?? process.env.ONRAMP_API_KEY;
      if (!key) {
        console.error('onramp import: an API key is required (--key or ONRAMP_API_KEY)');
        return 2;
      }
      let size: number;
      try {
        size = statSync(file).size;
      } catch (err) {
        console.error(`onramp import: cannot read ${file}: ${(err as Error).message}`);
        return 2;
      }
      const qs = new URLSearchParams({ filename: basename(file) });
      if (values['dry-run']) qs.set('dry_run', 'true');
      if (values['no-emails']) qs.set('send_emails', 'false');
      if (values.template) qs.set('default_template', String(values.template));
      const auth = { authorization: `Bearer ${key}` };
      const err = process.stderr;
      const tty = Boolean(err.isTTY);
      err.write(`Uploading ${file} (${fmt(size)} bytes) to ${base}…\n`);
      // Streamed from disk: a 100 MB file is never held in memory.
      const res = await fetch(`${base}/v1/imports?${qs}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/csv' },
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      if (res.status !== 202) {
        console.error(`onramp import: upload refused: ${await problemText(res)}`);
        return 1;
      }
      let view = (await res.json()) as ImportView;
      err.write(`Import ${view.id} accepted${view.dry_run ? ' (dry run: nothing will change)' : ''}.\n`);
      const started = Date.now();
      let lastLine = 0;
      let lastDone = 0;
      let lastAt = started;
      let rate = 0;
      while (view.status === 'queued' || view.status === 'running') {
        await sleep(500);
        const poll = await fetch(`${base}/v1/imports/${view.id}`, { headers: auth });
        if (!poll.ok) {
          console.error(`onramp import: could not read the import: ${await problemText(poll)}`);
          return 1;
        }
        view = (await poll.json()) as ImportView;
        const now = Date.now();
        if (now > lastAt) {
          const instant = ((view.progress.rows_done - lastDone) * 1000) / (now - lastAt);
          rate = rate === 0 ? instant : rate * 0.7 + instant * 0.3;
        }
        lastDone = view.progress.rows_done;
        lastAt = now;
        if (tty) err.write(`\r${bar(view, rate)}\x1b[K`);
        else if (now - lastLine >= 2000) {
          lastLine = now;
          err.write(`${view.status}: ${bar(view, rate)}\n`);
        }
      }
      if (tty) err.write(`\r${bar(view, rate)}\x1b[K\n`);
      const seconds = (Date.now() - started) / 1000;
      const c = view.counts;
      const lines = [
        `Import ${view.id} ${view.status}${view.dry_run ? ' (dry run: nothing was changed)' : ''} in ${seconds.toFixed(1)} s` +
          (c.rows ? ` (${fmt(Math.round((c.rows ?? 0) / Math.max(seconds, 0.001)))} rows/s)` : ''),
        `  rows                ${fmt(c.rows ?? 0)}`,
        `  projects created    ${fmt(c.projects_created ?? 0)}`,
        `  projects reused     ${fmt(c.projects_reused ?? 0)}`,
        `  clients invited     ${fmt(c.clients_invited ?? 0)}`,
        `  clients added       ${fmt(c.clients_added ?? 0)}  (already active: added without an email)`,
        `  already invited     ${fmt(c.already_invited ?? 0)}`,
        `  already members     ${fmt(c.already_members ?? 0)}`,
        `  task assignments    ${fmt(c.assignments ?? 0)}`,
        `  duplicate rows      ${fmt(c.duplicates ?? 0)}`,
        `  rows with errors    ${fmt(c.errors ?? 0)}`,
      ];
      if ((c.errors ?? 0) > 0) {
        lines.push(
          '',
          `Download the rows with errors, fix them and import that file again:`,
          `  curl -H "Authorization: Bearer $ONRAMP_API_KEY" -o errors.csv ${view.errors_url}`,
        );
      }
      if (view.status === 'failed') lines.push('', `The import failed: ${view.error ?? 'unknown reason'}`);
      console.log(lines.join('\n'));
      return view.status === 'completed' ? 0 : 1;
    },
  },
];
