import { type Browser } from 'playwright-core';
import { setFirmUserPassword } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { createInvitation, createProject } from '../pages/fixtures.js';
import { launchChromium } from '../support/browser.js';

/**
 * The console as a person meets it, in Debian's chromium: sign in, invite from the project page, find the
 * invitation pending on the dashboard, revoke it with the bulk form and see it revoked. No JavaScript is
 * involved; the forms, cookies, redirects and the CSP have to work together.
 */
let stack: TestStack;
let agency: TestAgency;
let browser: Browser;

const PASSWORD = 'console password 42';

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: false });
  agency = await createTestAgency(stack, 'Browser');
  await stack.deps.pool.query('update agencies set display_name = $2, brand_color = $3 where id = $1', [agency.agencyId, 'Northwind Studio', '#0f766e']);
  await setFirmUserPassword(stack.deps.pool, agency.email, PASSWORD);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack.close();
});

it('signs in, invites a client, sees it pending and revokes it with the bulk form', async () => {
  const projectId = await createProject(stack, agency, 'Website relaunch');
  // Some company on the dashboard, so the screenshot shows a realistic table.
  await createInvitation(stack, agency, { projectName: 'Brand refresh', firstName: 'Jordan', email: 'jordan@client.test' });
  await createInvitation(stack, agency, { projectId, firstName: 'Riley', email: 'riley@client.test' });

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });

  // The link of the "invitation accepted" email lands here; without a session it asks to sign in.
  await page.goto(`${stack.url}/console`);
  expect(page.url()).toBe(`${stack.url}/console/login`);
  await page.fill('#email', agency.email);
  await page.fill('#password', PASSWORD);
  await page.screenshot({ path: '/tmp/onramp-console-login.png' });
  await Promise.all([page.waitForURL(`${stack.url}/console`), page.click('main button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Invitations');
  const cookie = (await context.cookies()).find((c) => c.name === 'onramp_console')!;
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });

  await Promise.all([page.waitForURL(`${stack.url}/console/projects`), page.click('header nav a[href="/console/projects"]')]);
  await Promise.all([page.waitForURL(`${stack.url}/console/projects/${projectId}`), page.click('text=Website relaunch')]);
  await page.fill('#first_name', 'Casey');
  await page.fill('#last_name', "O'Neil");
  await page.fill('#invite-email', 'casey@client.test');
  await page.fill('#message', 'Hi Casey,\nhere is your workspace for the relaunch.');
  await Promise.all([page.waitForURL(/\/console\/projects\/.+\?done=invited/), page.click('form.invite button[type=submit]')]);
  await expect(page.locator('.notice').textContent()).resolves.toContain("Invited Casey O'Neil (casey@client.test)");
  await page.screenshot({ path: '/tmp/onramp-console-project.png', fullPage: true });

  const { rows } = await stack.deps.pool.query<{ id: string }>("select id from invitations where email = 'casey@client.test'");
  const invitationId = rows[0]!.id;

  await Promise.all([page.waitForURL(`${stack.url}/console`), page.click('header nav a[href="/console"]')]);
  const row = page.locator(`tr[data-id="${invitationId}"]`);
  await expect(row.locator('.badge').first().textContent()).resolves.toBe('pending');
  await expect(page.locator('tbody tr').count()).resolves.toBe(3);

  // Copy link shows the live link in a read-only box.
  await Promise.all([page.waitForURL(/link=/), row.locator('text=Copy link').click()]);
  await expect(page.locator('#invite-link').inputValue()).resolves.toMatch(new RegExp(`^${stack.url}/invite/[A-Za-z0-9_-]{43}$`));
  await page.screenshot({ path: '/tmp/onramp-console-dashboard.png', fullPage: true });

  await page.locator(`tr[data-id="${invitationId}"] input[type=checkbox]`).check();
  await Promise.all([page.waitForLoadState(), page.click('#bulk button[value=revoke]')]);
  // Revoke asks first.
  await Promise.all([page.waitForURL(/\/console\?flash=/), page.click('#confirm-button')]);
  await expect(page.locator('#flash-notice').textContent()).resolves.toContain('1 revoked');
  // The default view lists pending ones: Casey is gone from it; the revoked filter shows them.
  await expect(page.locator(`tr[data-id="${invitationId}"]`).count()).resolves.toBe(0);
  await page.screenshot({ path: '/tmp/onramp-console-revoked.png', fullPage: true });
  await page.selectOption('#status', 'revoked');
  await Promise.all([page.waitForURL(/status=revoked/), page.click('form.filters button[type=submit]')]);
  await expect(page.locator(`tr[data-id="${invitationId}"] .badge`).first().textContent()).resolves.toBe('revoked');
  const { rows: after } = await stack.deps.pool.query<{ status: string }>('select status from invitations where id = $1', [invitationId]);
  expect(after[0]!.status).toBe('revoked');

  expect(cspViolations).toEqual([]);
  await context.close();
});
