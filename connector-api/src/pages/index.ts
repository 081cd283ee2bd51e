import type { Express } from 'express';
import type { Deps } from '@onramp/core';
import { clientPages } from './client.js';
import { consolePages } from './console.js';
import { mountMailbox } from './mailbox.js';

/** HTML pages (accept, portal, console, dev mailbox) mount here; each feature adds its own file. */
export function mountPages(app: Express, deps: Deps): void {
  mountMailbox(app, deps);
  app.use(clientPages(deps));
  if (deps.config.consoleEnabled) app.use(consolePages(deps));
  app.get('/', (_req, res) => {
    res
      .type('text/html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Onramp</title></head><body><h1>Onramp is running</h1><p>API: <a href="/v1/openapi.json">/v1/openapi.json</a></p>${
          deps.config.isProduction ? '' : '<p>Dev mailbox: <a href="/dev/mailbox">/dev/mailbox</a></p>'
        }</body></html>`,
      );
  });
}
