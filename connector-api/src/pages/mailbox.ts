import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Express, Request, Response } from 'express';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { AppError, describeSmtpUrl, escapeHtml, html, OUTBOX_FILE, outboxDir, SafeHtml, type Deps } from '@onramp/core';
import { sendProblem } from '../http/problem.js';
import { contentSecurityPolicy } from '../http/securityHeaders.js';
import { sendPage as sendLayoutPage } from './layout.js';

/** An id is an outbox file name without `.eml`; anything else (../, slashes, dots) is not an email. */
const ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LIST_LIMIT = 200;

/**
 * The dev mailbox: what the outbox (DATA_DIR/outbox, used when SMTP_URL is unset) holds, newest first,
 * so a person running Onramp locally can open an invite link. Never mounted in production.
 */
export function mountMailbox(app: Express, deps: Deps): void {
  if (deps.config.isProduction) return;
  const dir = outboxDir(deps.config);

  app.get('/dev/mailbox', async (_req: Request, res: Response) => {
    const files = await listOutbox(dir);
    const rows: SafeHtml[] = [];
    for (const file of files.slice(0, LIST_LIMIT)) {
      const mail = await parse(dir, file).catch(() => null);
      const id = file.slice(0, -4);
      rows.push(
        html`<tr><td>${mail?.date?.toISOString() ?? ''}</td><td>${addresses(mail?.to)}</td><td><a href="/dev/mailbox/${id}">${mail?.subject || '(no subject)'}</a></td><td>${addresses(mail?.from)}</td></tr>`,
      );
    }
    const body = html`<div class="card"><h1>Dev mailbox</h1>
${modeNote(deps)}
${
  files.length === 0
    ? html`<p>No emails yet. Invite a client and the email shows up here.</p>`
    : html`<p>${files.length} email${files.length === 1 ? '' : 's'}${files.length > LIST_LIMIT ? `, newest ${LIST_LIMIT} shown` : ''}, newest first.</p>
<table><thead><tr><th>Date (UTC)</th><th>To</th><th>Subject</th><th>From</th></tr></thead><tbody>${rows}</tbody></table>`
}</div>`;
    sendPage(res, 'Dev mailbox', body);
  });

  app.get('/dev/mailbox/:id', async (req: Request, res: Response) => {
    const id = emailFileId(req, res);
    if (!id) return;
    const mail = await parse(dir, `${id}.eml`).catch(() => null);
    if (!mail) return notFound(res, id);
    const headerRows = ['from', 'to', 'subject', 'date', 'message-id'].map((name) => html`<tr><th>${name}</th><td>${decodedHeader(mail, name)}</td></tr>`);
    const body = html`<div class="card"><p><a href="/dev/mailbox">&larr; All emails</a> · <a href="/dev/mailbox/${id}/raw">Raw .eml</a></p>
<h1>${mail.subject || '(no subject)'}</h1>
<table>${headerRows}</table>
<h2>Text</h2>
<pre>${linkify(mail.text ?? '')}</pre>
<h2>HTML</h2>
${
  mail.html
    ? html`<iframe title="HTML part" sandbox="allow-popups allow-popups-to-escape-sandbox" src="/dev/mailbox/${id}/html"></iframe>`
    : html`<p>(no HTML part)</p>`
}</div>`;
    sendPage(res, mail.subject || 'Email', body);
  });

  app.get('/dev/mailbox/:id/html', async (req: Request, res: Response) => {
    const id = emailFileId(req, res);
    if (!id) return;
    const mail = await parse(dir, `${id}.eml`).catch(() => null);
    if (!mail || !mail.html) return notFound(res, id);
    // The email's own HTML runs in a sandbox: no scripts, no same-origin, links open in a new tab.
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(res, { sandboxedEmail: true }));
    res.setHeader('Cache-Control', 'no-store');
    // Links in the email open outside the sandboxed frame.
    res.type('text/html').send(`<base target="_blank">${mail.html}`);
  });

  app.get('/dev/mailbox/:id/raw', async (req: Request, res: Response) => {
    const id = emailFileId(req, res);
    if (!id) return;
    const raw = await readFile(join(dir, `${id}.eml`)).catch(() => null);
    if (!raw) return notFound(res, id);
    res.setHeader('Content-Security-Policy', "sandbox; default-src 'none'");
    res.type('text/plain; charset=utf-8').send(raw);
  });
}

async function listOutbox(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => OUTBOX_FILE.test(n))
    .sort()
    .reverse();
}

function parse(dir: string, file: string): Promise<ParsedMail> {
  return readFile(join(dir, file)).then((raw) => simpleParser(raw));
}

function emailFileId(req: Request, res: Response): string | null {
  const id = String(req.params.id ?? '');
  if (ID.test(id)) return id;
  sendProblem(res, new AppError('not_found', 'Email not found', { detail: 'A mailbox id is an outbox file name such as 20260101T120000000Z-<uuid>.' }));
  return null;
}

function notFound(res: Response, id: string): void {
  sendProblem(res, new AppError('not_found', 'Email not found', { detail: `No email ${id} in the outbox.` }));
}

function addresses(value: AddressObject | AddressObject[] | undefined): string {
  if (!value) return '';
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
}

function decodedHeader(mail: ParsedMail, name: string): string {
  const v = mail.headers.get(name);
  if (v === undefined || v === null) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && 'text' in v) return String((v as AddressObject).text);
  return '';
}

/** Escape first, then turn http(s) URLs into links: the quick start opens the invite link from here. */
function linkify(text: string): SafeHtml {
  return new SafeHtml(escapeHtml(text).replace(/https?:\/\/[^\s<>"']+/g, (url) => `<a href="${url}" target="_blank" rel="noopener noreferrer">${url}</a>`));
}

function modeNote(deps: Deps): SafeHtml {
  if (deps.config.smtpUrl) {
    return html`<p class="note">SMTP_URL is set: new mail goes to the SMTP server at ${describeSmtpUrl(deps.config.smtpUrl)}, not to this outbox. Emails written here earlier are still listed.</p>`;
  }
  return html`<p class="note">SMTP_URL is not set: every email is written to ${outboxDir(deps.config)} and listed here instead of being sent.</p>`;
}

function sendPage(res: Response, title: string, body: SafeHtml): void {
  sendLayoutPage(res, {
    title,
    brand: { displayName: 'Onramp dev mailbox', brandColor: '#1f2937', logoUrl: null },
    body,
    mainClass: 'mailbox',
    frameSelf: true,
  });
}
