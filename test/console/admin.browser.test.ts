import { type Browser, type Page } from 'playwright-core';
import { createAgency, setFirmUserPassword } from '@onramp/core';
import { startStack, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import type { ReceivedMail } from '../support/smtp.js';
import { launchChromium } from '../support/browser.js';

/**
 * Agency administration as people meet it, in Debian's chromium, against a real worker and SMTP server:
 * a fresh agency's owner names themselves, sets the branding and a 3-day expiry (watching the email
 * preview), invites an admin; the admin joins over the emailed link, signs in with the password they
 * chose and creates an API key; an invitation sent with that key arrives with the new branding, the
 * admin's name and a 3-day expiry. Screenshots of every page in /tmp/onramp-admin-*.png.
 */
let stack: TestStack;
let browser: Browser;

const OWNER_PASSWORD = 'owner passphrase 42';
const ADMIN_PASSWORD = 'admin passphrase 42';

beforeAll(async () => {
  stack = await startStack();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack.close();
});

const mailTo = (to: string) => (m: ReceivedMail) => m.envelopeTo.some((t) => t.toLowerCase() === to.toLowerCase());

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${stack.url}/console/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${stack.url}/console`), page.click('main button[type=submit]')]);
}

function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  return violations;
}

it('a fresh agency: branding and expiry, an admin invited and joined, an API key, a branded 3-day invitation over SMTP', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const ownerEmail = `owner-${tag}@acme.test`;
  const created = await createAgency(stack.deps.pool, { name: `Acme ${tag}`, ownerEmail });
  await setFirmUserPassword(stack.deps.pool, ownerEmail, OWNER_PASSWORD);

  // ---- the owner ----
  const ownerCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ownerCtx.newPage();
  const cspOwner = watchCsp(page);
  await signIn(page, ownerEmail, OWNER_PASSWORD);

  await Promise.all([page.waitForURL(`${stack.url}/console/profile`), page.click('header a.me')]);
  await page.fill('#first_name', 'Olivia');
  await page.fill('#last_name', 'Owner');
  await Promise.all([page.waitForURL(/\/console\/profile\?done=name/), page.click('form[action="/console/profile/name"] button[type=submit]')]);
  await expect(page.locator('.notice').textContent()).resolves.toContain('Name saved');
  await expect(page.locator('header a.me').textContent()).resolves.toContain('Olivia Owner');
  await page.screenshot({ path: '/tmp/onramp-admin-profile.png', fullPage: true });

  await Promise.all([page.waitForURL(`${stack.url}/console/settings`), page.click('header nav a[href="/console/settings"]')]);
  const preview = page.frameLocator('#email-preview');
  await expect(preview.locator('body').textContent()).resolves.toContain(`Olivia Owner from Acme ${tag} invited you`);
  // A bad value first: nothing is saved and the field says why.
  await page.fill('#brand_color', 'orange');
  await page.fill('#invite_expiry_days', '120');
  await page.click('#settings-form button[type=submit]');
  await expect(page.locator('#brand_color-error').textContent()).resolves.toContain('#rrggbb');
  await expect(page.locator('#invite_expiry_days-error').textContent()).resolves.toContain('at most 90');
  expect((await client(stack.url, created.apiKey).get('/v1/agency')).body).toMatchObject({ brand_color: '#4f46e5', invite_expiry_days: 7 });

  await page.fill('#display_name', 'Acme Studio');
  await page.fill('#sender_name', 'Acme Onboarding');
  await page.fill('#brand_color', '#c2410c');
  await page.fill('#invite_expiry_days', '3');
  await page.fill('#default_message', 'We are glad to have you on board.');
  // The preview follows the typing (unsaved values, rendered by the server's email template).
  await preview.getByText('Olivia Owner from Acme Studio invited you').first().waitFor({ timeout: 10_000 });
  await preview.locator('a[style*="#c2410c"]', { hasText: 'Accept the invitation' }).waitFor({ timeout: 10_000 });
  await preview.getByText('We are glad to have you on board.').waitFor({ timeout: 10_000 });
  await page.screenshot({ path: '/tmp/onramp-admin-settings-typing.png', fullPage: true });
  await Promise.all([page.waitForURL(/\/console\/settings\?saved=1/), page.click('#settings-form button[type=submit]')]);
  await expect(page.locator('.notice').textContent()).resolves.toContain('Settings saved');
  await expect(preview.locator('body').textContent()).resolves.toContain('We are glad to have you on board.');
  await page.screenshot({ path: '/tmp/onramp-admin-settings.png', fullPage: true });

  const adminEmail = `alex-${tag}@acme.test`;
  await Promise.all([page.waitForURL(`${stack.url}/console/team`), page.click('header nav a[href="/console/team"]')]);
  await page.fill('#team-email', adminEmail);
  await page.selectOption('#team-role', 'admin');
  await Promise.all([page.waitForURL(/\/console\/team\?done=invited/), page.click('form[action="/console/team/invite"] button[type=submit]')]);
  await expect(page.locator('.notice').textContent()).resolves.toContain('Invitation sent');
  await expect(page.locator('tbody tr').nth(1).textContent()).resolves.toContain(adminEmail);
  await page.screenshot({ path: '/tmp/onramp-admin-team.png', fullPage: true });

  // ---- the admin, over the emailed link ----
  const invite = await stack.smtp!.waitFor(mailTo(adminEmail));
  expect(invite.parsed.subject).toBe('Olivia Owner from Acme Studio invited you to join the Acme Studio team');
  expect(invite.parsed.from?.value[0]?.name).toBe('Acme Onboarding');
  expect(invite.parsed.html).toContain('#c2410c');
  const joinUrl = /(http:\/\/\S+\/console\/join\/[A-Za-z0-9_-]{43})/.exec(invite.parsed.text ?? '')![1]!;
  const adminCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const adminPage = await adminCtx.newPage();
  const cspAdmin = watchCsp(adminPage);
  await adminPage.goto(joinUrl);
  await expect(adminPage.locator('h1').textContent()).resolves.toBe('Join the Acme Studio team');
  await expect(adminPage.locator('main').textContent()).resolves.toContain('Olivia Owner from Acme Studio invited you to Onramp as an admin');
  await adminPage.fill('#first_name', 'Alex');
  await adminPage.fill('#last_name', 'Admin');
  await adminPage.fill('#password', ADMIN_PASSWORD);
  await adminPage.fill('#confirm_password', 'something else entirely');
  await adminPage.click('main button[type=submit]');
  await expect(adminPage.locator('#confirm_password-error').textContent()).resolves.toContain('does not match');
  await adminPage.fill('#password', ADMIN_PASSWORD);
  await adminPage.fill('#confirm_password', ADMIN_PASSWORD);
  await adminPage.screenshot({ path: '/tmp/onramp-admin-join.png', fullPage: true });
  await Promise.all([adminPage.waitForURL(`${stack.url}/console`), adminPage.click('main button[type=submit]')]);
  // The link worked once.
  await adminPage.goto(joinUrl);
  await expect(adminPage.locator('h1').textContent()).resolves.toBe('This invitation is no longer valid');
  await expect(adminPage.locator('header .agency').textContent()).resolves.toBe('Acme Studio');
  await adminPage.screenshot({ path: '/tmp/onramp-admin-join-used.png', fullPage: true });
  // Sign out, then in with the chosen password.
  await adminPage.goto(`${stack.url}/console`);
  await Promise.all([adminPage.waitForURL(`${stack.url}/console/login`), adminPage.click('header form[action="/console/logout"] button')]);
  await signIn(adminPage, adminEmail, ADMIN_PASSWORD);
  await expect(adminPage.locator('header a.me').textContent()).resolves.toContain('Alex Admin (admin)');

  await Promise.all([adminPage.waitForURL(`${stack.url}/console/api-keys`), adminPage.click('header nav a[href="/console/api-keys"]')]);
  await adminPage.fill('#key-name', 'Zapier');
  await Promise.all([adminPage.waitForLoadState('load'), adminPage.click('form[action="/console/api-keys"] button[type=submit]')]);
  const key = await adminPage.locator('#new-key-value').inputValue();
  expect(key).toMatch(/^onr_[a-z2-9]{10}_[A-Za-z0-9_-]{43}$/);
  // copy.js (deferred) unhides the button once it runs: wait for it rather than race it.
  await adminPage.locator('#copy-key').waitFor({ state: 'visible', timeout: 10_000 });
  await adminPage.screenshot({ path: '/tmp/onramp-admin-api-keys.png', fullPage: true });
  // Shown once: the list never shows it again.
  await adminPage.goto(`${stack.url}/console/api-keys`);
  await expect(adminPage.locator('main').textContent()).resolves.not.toContain(key.slice(16));
  await expect(adminPage.locator('tbody tr').first().textContent()).resolves.toContain('Zapier');

  // ---- an invitation sent with the admin's key ----
  const api = client(stack.url, key);
  const project = await api.post('/v1/projects', { name: 'Website redesign' });
  expect(project.status).toBe(201);
  const clientEmail = `cleo-${tag}@client.test`;
  const inv = await api.post(`/v1/projects/${project.body.id}/invitations`, { email: clientEmail, first_name: 'Cleo', last_name: 'Client' });
  expect(inv.status).toBe(201);
  expect(inv.body.created_by.name).toBe('Alex Admin');
  const days = (new Date(inv.body.expires_at).getTime() - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(2.99);
  expect(days).toBeLessThanOrEqual(3);
  const mail = await stack.smtp!.waitFor(mailTo(clientEmail));
  expect(mail.parsed.from?.value[0]?.name).toBe('Acme Onboarding');
  expect(mail.parsed.subject).toBe('Acme Studio invited you to Website redesign');
  expect(mail.parsed.text).toContain('Alex Admin from Acme Studio invited you to join Website redesign.');
  expect(mail.parsed.text).toContain('We are glad to have you on board.');
  expect(mail.parsed.text).toContain(`expires on`);
  expect(mail.parsed.text).toContain(inv.body.expires_at.slice(0, 16));
  expect(mail.parsed.html).toContain('background:#c2410c');

  // The owner sees the admin active; revoking the key (with confirmation) stops it.
  await page.goto(`${stack.url}/console/team`);
  await expect(page.locator('tbody').textContent()).resolves.toContain('Alex Admin');
  await expect(page.locator('tbody tr', { hasText: adminEmail }).locator('.badge').textContent()).resolves.toBe('active');
  await adminPage.goto(`${stack.url}/console/api-keys`);
  await Promise.all([adminPage.waitForURL(/\/revoke$/), adminPage.locator('tbody tr', { hasText: 'Zapier' }).locator('a', { hasText: 'Revoke' }).click()]);
  await adminPage.screenshot({ path: '/tmp/onramp-admin-api-key-revoke.png', fullPage: true });
  await Promise.all([adminPage.waitForURL(/done=revoked/), adminPage.click('main button.danger')]);
  expect((await api.get('/v1/me')).status).toBe(401);

  expect(cspOwner).toEqual([]);
  expect(cspAdmin).toEqual([]);
  await ownerCtx.close();
  await adminCtx.close();
});

it('a member sees Settings and Team read-only, without write controls; a dead client link names the agency', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const ownerEmail = `owner-${tag}@northwind.test`;
  const created = await createAgency(stack.deps.pool, { name: `Northwind ${tag}`, ownerEmail, ownerName: 'Nora North' });
  const owner = client(stack.url, created.apiKey);
  await owner.patch('/v1/agency', { display_name: 'Northwind Studio', brand_color: '#0f766e', default_message: 'Welcome aboard!' });
  const memberEmail = `mo-${tag}@northwind.test`;
  await owner.post('/v1/users', { email: memberEmail, role: 'member' });
  const link = /(http:\/\/\S+\/console\/join\/[A-Za-z0-9_-]{43})/.exec((await stack.smtp!.waitFor(mailTo(memberEmail))).parsed.text ?? '')![1]!;

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const csp = watchCsp(page);
  await page.goto(link);
  await page.fill('#first_name', 'Mo');
  await page.fill('#last_name', 'Member');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.fill('#confirm_password', ADMIN_PASSWORD);
  await Promise.all([page.waitForURL(`${stack.url}/console`), page.click('main button[type=submit]')]);

  await page.goto(`${stack.url}/console/settings`);
  await expect(page.locator('#settings-form button[type=submit]').count()).resolves.toBe(0);
  await expect(page.locator('#display_name').isDisabled()).resolves.toBe(true);
  await page.frameLocator('#email-preview').getByText('Welcome aboard!').waitFor();
  await page.screenshot({ path: '/tmp/onramp-admin-settings-member.png', fullPage: true });
  await page.goto(`${stack.url}/console/team`);
  await expect(page.locator('form[action="/console/team/invite"]').count()).resolves.toBe(0);
  await expect(page.locator('main select, main a.button, main form button').count()).resolves.toBe(0);
  await page.screenshot({ path: '/tmp/onramp-admin-team-member.png', fullPage: true });

  // A client's link, revoked: the page still says whose it was.
  const project = await owner.post('/v1/projects', { name: 'Brand refresh' });
  const clientEmail = `dana-${tag}@client.test`;
  const inv = await owner.post(`/v1/projects/${project.body.id}/invitations`, { email: clientEmail, first_name: 'Dana', last_name: 'Client' });
  const clientLink = /(http:\/\/\S+\/invite\/[A-Za-z0-9_-]{43})/.exec((await stack.smtp!.waitFor(mailTo(clientEmail))).parsed.text ?? '')![1]!;
  await owner.post(`/v1/invitations/${inv.body.id}/revoke`);
  const visitor = await browser.newPage();
  await visitor.goto(clientLink);
  await expect(visitor.locator('header .agency').textContent()).resolves.toBe('Northwind Studio');
  await expect(visitor.locator('main').textContent()).resolves.toContain('Ask Northwind Studio to send you a new one.');
  await visitor.screenshot({ path: '/tmp/onramp-admin-dead-link.png', fullPage: true });
  await visitor.close();
  expect(csp).toEqual([]);
  await ctx.close();
});
