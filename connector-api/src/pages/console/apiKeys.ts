import express, { type Request, type Response, type Router } from 'express';
import {
  AppError,
  createApiKeyFor,
  html,
  listApiKeysFor,
  revokeApiKeyFor,
  type ApiKeyJson,
  type CreatedApiKeyJson,
  type Deps,
  type FieldError,
} from '@onramp/core';
import { statusByCode } from '../../http/problem.js';
import { see } from '../cookies.js';
import { alert, fieldError, formText, notice } from './forms.js';
import type { ConsoleForm } from './index.js';
import { consoleOf, consolePage, csrfInput, formatWhen, sendConsolePage, type ConsoleLocals, type View } from './layout.js';

/**
 * API keys: for Zapier, a CRM or a script. Everyone manages their own keys (a key acts as its owner, so a
 * member's key reads only); owners see and revoke every key of the agency. A new key's secret is shown on
 * the page that answers the create form, once, in a copy box; it is never stored and never shown again.
 */
export function apiKeysConsole(deps: Deps, form: ConsoleForm): Router {
  const router = express.Router();

  async function render(res: Response, extra: Omit<KeysData, 'keys'> = {}, status = 200) {
    const c = consoleOf(res);
    sendConsolePage(res, keysPage(c, { keys: await listApiKeysFor(deps, c.session.principal), ...extra }), status);
  }

  router.get('/console/api-keys', async (req: Request, res: Response) => {
    await render(res, { notice: req.query.done === 'revoked' ? 'Key revoked. Anything still using it now gets 401.' : undefined });
  });

  // The answer to the form carries the secret, so it is a page, not a redirect (never in a URL or a log).
  router.post('/console/api-keys', form('api-keys'), async (req: Request, res: Response) => {
    const name = formText(req.body, 'name');
    try {
      const created = await createApiKeyFor(deps, consoleOf(res).session.principal, { name });
      await render(res, { created }, 201);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      await render(res, { name, errors: err.errors }, statusByCode[err.code]);
    }
  });

  router.get('/console/api-keys/:id/revoke', async (req: Request<{ id: string }>, res: Response) => {
    const c = consoleOf(res);
    const key = (await listApiKeysFor(deps, c.session.principal)).find((k) => k.id === req.params.id);
    if (!key) throw new AppError('not_found', 'API key not found');
    sendConsolePage(res, confirmPage(c, key));
  });

  router.post('/console/api-keys/:id/revoke', form('api-keys'), async (req: Request<{ id: string }>, res: Response) => {
    await revokeApiKeyFor(deps, consoleOf(res).session.principal, req.params.id);
    see(res, '/console/api-keys?done=revoked');
  });

  return router;
}

interface KeysData {
  keys: ApiKeyJson[];
  created?: CreatedApiKeyJson;
  name?: string;
  errors?: FieldError[];
  notice?: string | undefined;
  alert?: string | undefined;
}

function keysPage(c: ConsoleLocals, d: KeysData): View {
  const s = c.session;
  const owner = s.principal.role === 'owner';
  const token = c.csrf('api-keys');
  const created = d.created
    ? html`<div class="card secret" id="new-key"><h2>Your new key "${d.created.name ?? ''}"</h2>
<p><strong>Copy it now: it is shown only this once.</strong> Onramp keeps only a hash of it.</p>
<label for="new-key-value">API key</label>
<input type="text" id="new-key-value" value="${d.created.key ?? ''}" readonly aria-describedby="new-key-help">
<div class="actions"><button type="button" class="secondary small" id="copy-key" data-copy="new-key-value" hidden>Copy to clipboard</button><span class="muted" id="new-key-help">In Zapier: paste it with your Onramp address when you connect the Onramp app.</span></div></div>`
    : '';
  const rows = d.keys.map(
    (k) => html`<tr data-id="${k.id}">
<td><strong>${k.name ?? '(no name)'}</strong><span class="sub"><code>onr_${k.prefix}_…</code></span></td>
${owner ? html`<td>${k.owner.name ?? k.owner.email}${k.owner.id === s.principal.userId ? html` <span class="sub">(you)</span>` : html`<span class="sub">${k.owner.email}</span>`}</td>` : ''}
<td>${formatWhen(k.created_at)}</td>
<td>${k.last_used_at ? formatWhen(k.last_used_at) : html`<span class="sub">never</span>`}</td>
<td><a class="button secondary small" href="/console/api-keys/${k.id}/revoke">Revoke…</a></td>
</tr>`,
  );
  return consolePage(c, {
    section: 'api-keys',
    title: 'API keys',
    scripts: d.created ? ['copy.js'] : [],
    body: html`<div class="card"><h1>API keys</h1>
<p class="muted">A key lets Zapier, your CRM or a script use Onramp as you: it has your role${s.principal.role === 'member' ? ' (as a member, your keys read only)' : ''}. Send it as <code>Authorization: Bearer &lt;key&gt;</code>. ${
      owner ? 'As an owner you see every key of the agency.' : 'You see your own keys.'
    }</p>${notice(d.notice)}${alert(d.alert)}</div>
${created}
<div class="card flush">${
      d.keys.length === 0
        ? html`<p class="empty">No keys yet.</p>`
        : html`<table><thead><tr><th>Name</th>${owner ? html`<th>Owner</th>` : ''}<th>Created</th><th>Last used</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    }</div>
<div class="card"><h2>Create a key</h2>
<form method="post" action="/console/api-keys" class="admin" novalidate>${csrfInput(token)}
<label for="key-name">Name <span class="muted">(what it is for, e.g. "Zapier" or "HubSpot sync")</span></label>
<input type="text" id="key-name" name="name" value="${d.name ?? ''}" maxlength="100" required>${fieldError(d.errors ?? [], 'name', 'Name')}
<div class="actions"><button type="submit">Create key</button></div></form></div>`,
  });
}

function confirmPage(c: ConsoleLocals, k: ApiKeyJson): View {
  return consolePage(c, {
    section: 'api-keys',
    title: 'Revoke API key',
    body: html`<div class="card"><h1>Revoke "${k.name ?? k.prefix}"?</h1>
<p>Key <code>onr_${k.prefix}_…</code> of ${k.owner.name ?? k.owner.email} stops working at once: every Zap, CRM or script using it gets 401 until it is given a new key.</p>
<form method="post" action="/console/api-keys/${k.id}/revoke">${csrfInput(c.csrf('api-keys'))}
<div class="actions"><button type="submit" class="danger">Revoke key</button><a href="/console/api-keys">Cancel</a></div></form></div>`,
  });
}
