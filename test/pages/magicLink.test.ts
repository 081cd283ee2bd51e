import { type Browser, type Page } from 'playwright-core';
import { applyClientAccessSettings } from '@onramp/core';
import { startStack, createTestAgency, type TestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { createInvitation } from './fixtures.js';
import { launchChromium } from '../support/browser.js';

/**
 * Magic-link sign-in the way a client meets it: real SMTP, Debian's Chromium, the links from the emails
 * that arrived. Screenshots of every new page go to /tmp/onramp-*.png.
 */
let stack: TestStack;
let browser: Browser;
let agency: TestAgency;
let slug: string;

beforeAll(async () => {
  stack = await startStack();
  agency = await createTestAgency(stack, 'Magic');
  await stack.deps.pool.query('update agencies set display_name = $2, brand_color = $3 where id = $1', [agency.agencyId, 'Lumen Studio', '#7c3aed']);
  await applyClientAccessSettings(stack.deps.pool, agency.agencyId, { client_sign_in: 'magic_link' });
  slug = (await stack.deps.pool.query<{ slug: string }>('select slug from agencies where id = $1', [agency.agencyId])).rows[0]!.slug;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack.close();
});

const inviteLinkIn = (text: string) => /https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/.exec(text)?.[0];
const signInLinkIn = (text: string) => /https?:\/\/\S+\/signin\/[A-Za-z0-9_-]{43}/.exec(text)?.[0];
const portalLinkIn = (text: string) => /https?:\/\/\S+\/a\/[a-z0-9-]+\/login/.exec(text)?.[0];

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `/tmp/onramp-${name}.png`, fullPage: true });
}

it('a magic-link client joins with no password, comes back days later by emailed link, and the link works once', async () => {
  const api = client(stack.url, agency.key);
  const project = (await api.post('/v1/projects', { name: 'Brand refresh' })).body;
  const email = `mia-${Date.now()}@client.test`;
  const created = await api.post(`/v1/projects/${project.id}/invitations`, { email, first_name: 'Mia', last_name: 'Hamm', message: 'Welcome to Lumen!' });
  expect(created.status).toBe(201);

  const invitationMail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
  const inviteLink = inviteLinkIn(invitationMail.parsed.text ?? '')!;
  const portalLink = portalLinkIn(invitationMail.parsed.text ?? '')!;
  expect(portalLink).toBe(`${stack.config.publicBaseUrl}/a/${slug}/login`);

  const context = await browser.newContext({ viewport: { width: 900, height: 760 } });
  const page = await context.newPage();
  const opened = await page.goto(inviteLink);
  expect(opened!.status()).toBe(200);
  await expect(page.locator('input[type=password]').count()).resolves.toBe(0);
  await shot(page, 'accept-magic');
  await Promise.all([page.waitForURL(`${stack.url}/portal`), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Mia');
  const { rows: clients } = await stack.deps.pool.query<{ password_hash: string | null; status: string }>(
    'select password_hash, status from clients where id = $1',
    [created.body.client.id],
  );
  expect(clients[0]).toEqual({ password_hash: null, status: 'active' });

  // Clicking the (spent) invitation link again while signed in: straight back to the portal.
  await page.goto(inviteLink);
  expect(page.url()).toBe(`${stack.url}/portal`);

  // Days later: the session ran out (the clock moved in the database).
  await stack.deps.pool.query(
    `update client_sessions set created_at = created_at - interval '40 days', expires_at = now() - interval '10 days' where client_id = $1`,
    [created.body.client.id],
  );
  await stack.deps.pool.query(`update invitations set accepted_at = accepted_at - interval '40 days' where id = $1`, [created.body.id]);
  await page.goto(`${stack.url}/portal`);
  expect(page.url()).toBe(`${stack.url}/login`);
  // The neutral page offers the sign-in link too, without naming any agency.
  await expect(page.locator('header .agency').textContent()).resolves.toBe('Client portal');
  await expect(page.locator('#link-email').count()).resolves.toBe(1);
  await shot(page, 'login-neutral');

  // The "your portal" link from the email: the agency's own sign-in page, in its colours, asking for the email only.
  await page.goto(portalLink);
  await expect(page.locator('h1').textContent()).resolves.toBe('Sign in to Lumen Studio');
  await expect(page.evaluate('getComputedStyle(document.querySelector("header")).backgroundColor')).resolves.toBe('rgb(124, 58, 237)');
  await expect(page.locator('input[type=password]').count()).resolves.toBe(0);
  await shot(page, 'agency-login-magic');
  await page.fill('#link-email', email);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Check your email');
  await shot(page, 'link-sent');

  const signInMail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email) && /sign-in link/i.test(m.parsed.subject ?? ''));
  expect(signInMail.parsed.subject).toBe('Your sign-in link for Lumen Studio');
  expect(signInMail.parsed.from?.value[0]?.name).toBe('Lumen Studio');
  const signInLink = signInLinkIn(signInMail.parsed.text ?? '')!;
  expect(signInLinkIn(String(signInMail.parsed.html ?? ''))).toBe(signInLink);
  expect(portalLinkIn(signInMail.parsed.text ?? '')).toBe(portalLink);

  // Opening it (a mail scanner does) signs nobody in and uses nothing up.
  expect((await fetch(signInLink)).status).toBe(200);
  await page.goto(signInLink);
  await expect(page.locator('h1').textContent()).resolves.toBe('Sign in to Lumen Studio');
  await shot(page, 'signin-link');
  const { rows: unused } = await stack.deps.pool.query<{ used_at: Date | null }>('select used_at from sign_in_links where client_id = $1', [
    created.body.client.id,
  ]);
  expect(unused).toEqual([{ used_at: null }]);
  await Promise.all([page.waitForURL(`${stack.url}/portal`), page.click('button[type=submit]')]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Mia');

  // Once only: the same link again is gone, in a fresh browser and in this one.
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  const again = await other.goto(signInLink);
  expect(again!.status()).toBe(410);
  await expect(other.locator('h1').textContent()).resolves.toBe('This sign-in link is no longer valid');
  await shot(other, 'signin-link-gone');
  // The dead invitation link, opened by someone not signed in: names the agency and offers its sign-in page.
  const dead = await other.goto(inviteLink);
  expect(dead!.status()).toBe(410);
  await expect(other.locator('main').textContent()).resolves.toContain('Ask Lumen Studio to send you a new one.');
  await expect(other.locator('main a').getAttribute('href')).resolves.toBe(`/a/${slug}/login`);
  await shot(other, 'invite-gone-agency');
  await fresh.close();

  // Signing out leads back to the agency's page.
  await Promise.all([page.waitForURL(portalLink), page.click('header button[type=submit]')]);
  await context.close();
});

it('an "either" agency lets the client choose on the accept page and at sign-in', async () => {
  const either = await createTestAgency(stack, 'Either');
  await stack.deps.pool.query('update agencies set display_name = $2, brand_color = $3 where id = $1', [either.agencyId, 'Harbor & Co', '#0369a1']);
  await applyClientAccessSettings(stack.deps.pool, either.agencyId, { client_sign_in: 'either' });
  const eitherSlug = (await stack.deps.pool.query<{ slug: string }>('select slug from agencies where id = $1', [either.agencyId])).rows[0]!.slug;
  const f = await createInvitation(stack, either, { projectName: 'Harbor launch', firstName: 'Noor' });

  const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${stack.url}/invite/${f.token}`);
  await expect(page.locator('#new_password').count()).resolves.toBe(1);
  await expect(page.locator('button[type=submit]').allTextContents()).resolves.toEqual(['Set password and join', 'Join without a password']);
  await shot(page, 'accept-either');
  await Promise.all([page.waitForURL(`${stack.url}/portal`), page.locator('button[type=submit]').nth(1).click()]);
  await expect(page.locator('h1').textContent()).resolves.toBe('Welcome, Noor');

  await page.goto(`${stack.url}/a/${eitherSlug}/login`);
  expect(page.url()).toBe(`${stack.url}/portal`); // already signed in with this agency
  const anon = await (await browser.newContext({ viewport: { width: 900, height: 760 } })).newPage();
  await anon.goto(`${stack.url}/a/${eitherSlug}/login`);
  await expect(anon.locator('#password').count()).resolves.toBe(1);
  await expect(anon.locator('#link-email').count()).resolves.toBe(1);
  await shot(anon, 'agency-login-either');
  await anon.goto(`${stack.url}/a/${eitherSlug}/forgot`);
  await expect(anon.locator('h1').textContent()).resolves.toBe('Reset your password');
  await expect(anon.evaluate('getComputedStyle(document.querySelector("header")).backgroundColor')).resolves.toBe('rgb(3, 105, 161)');
  await shot(anon, 'agency-forgot');
  await anon.context().close();
  await context.close();
});
