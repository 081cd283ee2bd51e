import { type Browser } from 'playwright-core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { createInvitation } from './fixtures.js';
import { launchChromium } from '../support/browser.js';

/**
 * The key flows in a real browser (Debian's chromium, never a downloaded one): the forms, the redirect,
 * the cookie and the CSP have to work together the way a person meets them.
 */
let stack: TestStack;
let agency: TestAgency;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
  agency = await createTestAgency(stack, 'Browser');
  await stack.deps.pool.query('update agencies set display_name = $2, brand_color = $3 where id = $1', [agency.agencyId, 'Northwind Studio', '#0f766e']);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack.close();
});

const PASSWORD = 'correct horse battery';

it('a new client opens the link, sets a password and lands in the portal with their tasks', async () => {
  const f = await createInvitation(stack, agency, {
    projectName: 'Website relaunch',
    firstName: 'Casey',
    message: 'Hi Casey,\nhere is your workspace for the relaunch. Start with the brand book.\n— Dana',
  });
  const { rows } = await stack.deps.pool.query<{ id: string }>(
    `insert into tasks (agency_id, project_id, title, description, due_date, position) values
       ($1, $2, 'Send the brand book', 'Logos, fonts and colours (PDF or Figma link).', '2026-12-01', 1),
       ($1, $2, 'Approve the sitemap', null, null, 2) returning id`,
    [agency.agencyId, f.projectId],
  );
  for (const t of rows) {
    await stack.deps.pool.query('insert into task_assignees (task_id, client_id, agency_id) values ($1, $2, $3)', [t.id, f.clientId, agency.agencyId]);
  }

  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  const opened = await page.goto(`${stack.url}/invite/${f.token}`);
  expect(opened!.status()).toBe(200);
  await expect(page.locator('h1').textContent()).resolves.toBe('Join Website relaunch');
  // The inline style is allowed by its nonce: the header is painted in the brand colour.
  await expect(page.evaluate('getComputedStyle(document.querySelector("header")).backgroundColor')).resolves.toBe('rgb(15, 118, 110)');
  await page.screenshot({ path: '/tmp/onramp-accept.png', fullPage: true });

  // Opening the page did not accept anything.
  const { rows: pending } = await stack.deps.pool.query<{ status: string }>('select status from invitations where id = $1', [f.invitationId]);
  expect(pending[0]!.status).toBe('pending');

  await page.fill('#new_password', 'short');
  await page.fill('#confirm_password', 'short');
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  await expect(page.locator('#new_password-error').textContent()).resolves.toBe('Password must be at least 10 characters');

  await page.fill('#new_password', PASSWORD);
  await page.fill('#confirm_password', PASSWORD);
  await Promise.all([page.waitForURL(`${stack.url}/portal`), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Casey');
  await expect(page.locator('ul.tasks li').count()).resolves.toBe(2);
  await expect(page.locator('.due').first().textContent()).resolves.toBe('Due 1 Dec 2026');
  await page.screenshot({ path: '/tmp/onramp-portal.png', fullPage: true });

  const cookie = (await context.cookies()).find((c) => c.name === 'onramp_session')!;
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.sameSite).toBe('Lax');
  expect(cookie.path).toBe('/');

  // Sign out (to the agency's own sign-in page), then back in with the new password.
  await Promise.all([page.waitForURL(/\/a\/browser-[0-9a-f]+\/login$/), page.click('header button[type=submit]')]);
  await page.fill('#email', f.email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(`${stack.url}/portal`), page.click('main button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Casey');

  // The spent link takes its own signed-in client home; anyone else gets the friendly 410 page.
  await page.goto(`${stack.url}/invite/${f.token}`);
  expect(page.url()).toBe(`${stack.url}/portal`);
  const stranger = await context.browser()!.newContext();
  const strangerPage = await stranger.newPage();
  const again = await strangerPage.goto(`${stack.url}/invite/${f.token}`);
  expect(again!.status()).toBe(410);
  await expect(strangerPage.locator('main').textContent()).resolves.toContain('Ask Northwind Studio to send you a new one.');
  await stranger.close();
  expect(cspViolations).toEqual([]);
  await context.close();
});
