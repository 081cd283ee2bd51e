import type { Express, Request, Response } from 'express';
import { html, type Deps } from '@onramp/core';
import { clientPages } from './client/index.js';
import { consolePages } from './console/index.js';
import { mountMailbox } from './mailbox.js';
import { mountStatic, sendPage } from './layout.js';

/**
 * HTML pages mount here: static assets, the dev mailbox, the client pages (accept, portal, sign-in), the
 * console. Every page is sent through layout.ts#sendPage, so every one gets the same headers and frame.
 */
export function mountPages(app: Express, deps: Deps): void {
  mountStatic(app);
  mountMailbox(app, deps);
  app.use(clientPages(deps));
  if (deps.config.consoleEnabled) app.use(consolePages(deps));
  app.get('/', (_req: Request, res: Response) => {
    sendPage(res, {
      title: 'Onramp',
      brand: { displayName: 'Onramp', brandColor: '#1f2937', logoUrl: null },
      body: html`<div class="card"><h1>Onramp is running</h1>
${deps.config.consoleEnabled ? html`<p>Firm users: <a href="/console">the console</a>. Clients: <a href="/login">sign in</a>.</p>` : html`<p>Clients: <a href="/login">sign in</a>.</p>`}
<p>API: <a href="/v1/openapi.json">/v1/openapi.json</a></p>
${deps.config.isProduction ? '' : html`<p>Dev mailbox: <a href="/dev/mailbox">/dev/mailbox</a></p>`}</div>`,
    });
  });
}
