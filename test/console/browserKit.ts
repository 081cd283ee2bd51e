import type { Browser, BrowserContext, Page } from 'playwright-core';
import { setFirmUserPassword } from '@onramp/core';
import type { TestAgency, TestStack } from '../support/stack.js';
import { addFirmUser } from '../support/state.js';

export { launchChromium } from '../support/browser.js';

const PASSWORD = 'console password 42';

export interface Session {
  context: BrowserContext;
  page: Page;
  /** CSP violations and page errors seen so far: a page that needs an inline script would show here. */
  problems: string[];
}

/** A fresh browser context signed in as `email` (desktop size unless told). */
export async function signedIn(browser: Browser, stack: TestStack, email: string, viewport = { width: 1280, height: 900 }): Promise<Session> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(`${stack.url}/console/login`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${stack.url}/console`), page.click('main button[type=submit]')]);
  return { context, page, problems };
}

export async function withPassword(stack: TestStack, agency: TestAgency): Promise<void> {
  await setFirmUserPassword(stack.deps.pool, agency.email, PASSWORD);
}

export async function addMember(stack: TestStack, agency: TestAgency, email: string): Promise<void> {
  await addFirmUser(stack.deps.pool, { agencyId: agency.agencyId, email, name: 'Mo Member', role: 'member' });
  await setFirmUserPassword(stack.deps.pool, email, PASSWORD);
}

/** Desktop and 390 px screenshots of the current page (full height) under /tmp/onramp-console-<name>-*.png. */
export async function screenshots(page: Page, name: string): Promise<void> {
  const size = page.viewportSize();
  await page.screenshot({ path: `/tmp/onramp-console-${name}-desktop.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: `/tmp/onramp-console-${name}-390.png`, fullPage: true });
  await page.screenshot({ path: `/tmp/onramp-console-${name}-390-top.png` });
  // Nothing wider than the screen: long names and emails wrap instead.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (size) await page.setViewportSize(size);
  if (overflow > 0) throw new Error(`${name}: the page is ${overflow} px wider than a 390 px screen`);
}
