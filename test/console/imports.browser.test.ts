import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { countRows } from '../support/fixtures.js';
import { removeTempDir } from '../support/tempDir.js';
import { addMember, launchChromium, screenshots, signedIn, withPassword } from './browserKit.js';

/**
 * CSV imports from the console, in Debian's chromium with the real worker: upload 10,000 rows and watch the
 * progress reach 100% on the same page, download the error rows, drop a file onto the form, see up-front
 * refusals as messages, download the template with the session alone.
 */
let stack: TestStack;
let agency: TestAgency;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'onramp-console-import-'));
  stack = await startStack({ smtp: false, env: { IMPORT_BATCH_SIZE: '500' } });
  agency = await createTestAgency(stack, 'Imports');
  await withPassword(stack, agency);
  browser = await launchChromium();
});
afterAll(async () => {
  try {
    await browser?.close();
    await stack.close();
  } finally {
    removeTempDir(dir);
  }
});

function bigCsv(rows: number, bad: number): string {
  const lines = ['project_name,first_name,last_name,email,tasks'];
  for (let i = 0; i < rows; i++) lines.push(`Client ${i % 200},First${i},Last${i},person${i}@big.test,`);
  for (let i = 0; i < bad; i++) lines.push(`Client 1,Bad${i},Row,not-an-email-${i},`);
  return `${lines.join('\n')}\n`;
}

it('uploads 10,000 rows and the page shows the progress up to 100% by itself; errors.csv downloads', async () => {
  const file = join(dir, 'clients-10k.csv');
  writeFileSync(file, bigCsv(10_000, 25));
  const { page, context, problems } = await signedIn(browser, stack, agency.email);
  await page.goto(`${stack.url}/console/imports`);
  await page.setInputFiles('#file', file);
  await expect(page.locator('#file-name').textContent()).resolves.toContain('clients-10k.csv');
  await page.uncheck('input[name=send_emails][type=checkbox]');
  await page.selectOption('#default_template', 'Client onboarding');
  await Promise.all([page.waitForURL(/\/console\/imports\/[0-9a-f-]{36}$/), page.click('#upload-form button[type=submit]')]);
  const importId = page.url().split('/').pop()!;

  // From here on the page must not navigate: the numbers change in place.
  let navigations = 0;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  const seen = new Set<string>();
  await page.waitForFunction(
    () => {
      const el = document.getElementById('progress-percent');
      (window as unknown as { seen?: string[] }).seen = [...((window as unknown as { seen?: string[] }).seen ?? []), el?.textContent ?? ''];
      return el?.textContent === '100%' && document.querySelector('#import-status .badge')?.textContent === 'completed';
    },
    null,
    { timeout: 180_000, polling: 100 },
  );
  for (const s of await page.evaluate(() => (window as unknown as { seen: string[] }).seen)) seen.add(s);
  expect(navigations).toBe(0);
  await expect(page.locator('#rows-done').textContent()).resolves.toBe('10,025');
  await expect(page.locator('[data-count="clients_invited"]').textContent()).resolves.toBe('10,000');
  await expect(page.locator('[data-count="projects_created"]').textContent()).resolves.toBe('200');
  await expect(page.locator('[data-count="errors"]').textContent()).resolves.toBe('25');
  // The options follow the file input in the form, so they reach the server after the file: still applied.
  await expect(page.locator('main').textContent()).resolves.toContain('no emails');
  expect(await countRows(stack.deps.pool, `select 1 from emails where agency_id = $1`, [agency.agencyId])).toBe(0);
  expect(await page.locator('#cancel-form').isHidden()).toBe(true);
  expect(await countRows(stack.deps.pool, `select 1 from invitations where agency_id = $1`, [agency.agencyId])).toBe(10_000);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#errors-link')]);
  expect(download.suggestedFilename()).toBe(`import-${importId}-errors.csv`);
  const errorsCsv = readFileSync((await download.path())!, 'utf8');
  const lines = errorsCsv.trim().split(/\r?\n/);
  expect(lines[0]).toContain('row_number,error,project_name,first_name,last_name,email');
  expect(lines).toHaveLength(26);
  expect(lines[1]).toMatch(/^10002,.*email/);
  await screenshots(page, 'import-done');

  // Reloaded, it says the same without any script.
  await page.reload();
  await expect(page.locator('#progress-percent').textContent()).resolves.toBe('100%');
  await page.goto(`${stack.url}/console/imports`);
  await expect(page.locator(`tr[data-id="${importId}"] .badge`).first().textContent()).resolves.toBe('completed');
  await screenshots(page, 'imports');
  expect(problems).toEqual([]);
  expect(seen.size).toBeGreaterThan(0);
  await context.close();
});

it('takes a file dropped onto the form, and shows refusals on the page', async () => {
  const { page, context, problems } = await signedIn(browser, stack, agency.email);
  await page.goto(`${stack.url}/console/imports`);
  // A drop, as the browser delivers one: a DataTransfer holding the file.
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(['project_name,first_name,last_name,email\nDropped,Dee,Drop,dee@drop.test\n'], 'dropped.csv', { type: 'text/csv' }));
    return d;
  });
  await page.dispatchEvent('#dropzone', 'drop', { dataTransfer: dt });
  await expect(page.locator('#file-name').textContent()).resolves.toContain('dropped.csv');
  await Promise.all([page.waitForLoadState(), page.click('#upload-form button[type=submit]')]);
  expect(await page.locator('#flash-alert').count()).toBe(0);
  expect(page.url()).toMatch(/\/console\/imports\/[0-9a-f-]{36}$/);
  await page.waitForFunction(() => document.querySelector('#import-status .badge')?.textContent === 'completed', null, { timeout: 60_000 });
  expect(await countRows(stack.deps.pool, `select 1 from invitations where email = 'dee@drop.test'`)).toBe(1);

  // Missing columns: refused before any work, said on the page, nothing kept.
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'name,mail\nA,a@b.test\n');
  await page.goto(`${stack.url}/console/imports`);
  const before = await countRows(stack.deps.pool, 'select 1 from imports where agency_id = $1', [agency.agencyId]);
  await page.setInputFiles('#file', bad);
  await Promise.all([page.waitForLoadState(), page.click('#upload-form button[type=submit]')]);
  await expect(page.locator('#flash-alert').textContent()).resolves.toMatch(/missing required columns?: .*first_name.*found columns: name, mail/);
  // Not UTF-8.
  const latin1 = join(dir, 'latin1.csv');
  writeFileSync(latin1, Buffer.concat([Buffer.from('project_name,first_name,last_name,email\nP,Ren'), Buffer.from([0xe9]), Buffer.from(',X,r@x.test\n')]));
  await page.setInputFiles('#file', latin1);
  await Promise.all([page.waitForLoadState(), page.click('#upload-form button[type=submit]')]);
  await expect(page.locator('#flash-alert').textContent()).resolves.toMatch(/UTF-8/);
  await screenshots(page, 'import-refused');
  expect(await countRows(stack.deps.pool, 'select 1 from imports where agency_id = $1', [agency.agencyId])).toBe(before);

  // The template, by session: no API key anywhere.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download the template (template.csv)')]);
  expect(readFileSync((await download.path())!, 'utf8')).toMatch(/project_name.*first_name.*last_name.*email/);
  expect(problems).toEqual([]);
  await context.close();
});

it('refuses a file over IMPORT_MAX_BYTES with a message on the page, and cancels a queued import', async () => {
  const small = await startStack({ smtp: false, worker: false, env: { IMPORT_MAX_BYTES: '2000' } });
  try {
    const other = await createTestAgency(small, 'Small');
    await withPassword(small, other);
    const { page, context } = await signedIn(browser, small, other.email);
    const file = join(dir, 'big.csv');
    writeFileSync(file, bigCsv(200, 0));
    await page.goto(`${small.url}/console/imports`);
    await page.setInputFiles('#file', file);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/console/imports') && r.request().method() === 'POST'),
      page.click('#upload-form button[type=submit]'),
    ]);
    await expect(page.locator('#flash-alert').textContent()).resolves.toContain('larger than 2000 bytes');
    expect(response.status()).toBe(413);

    // No worker in this stack: an accepted upload waits, queued, and can be cancelled from its page.
    const ok = join(dir, 'small.csv');
    writeFileSync(ok, bigCsv(5, 0));
    await page.setInputFiles('#file', ok);
    await Promise.all([page.waitForURL(/\/console\/imports\/[0-9a-f-]{36}$/), page.click('#upload-form button[type=submit]')]);
    await expect(page.locator('#import-status .badge').textContent()).resolves.toBe('queued');
    await Promise.all([page.waitForURL(/flash=/), page.click('#cancel-form button')]);
    await expect(page.locator('#flash-notice').textContent()).resolves.toContain('The import is cancelled.');
    await expect(page.locator('#import-status .badge').textContent()).resolves.toBe('cancelled');
    expect(await page.locator('#cancel-form').count()).toBe(0);
    await context.close();
  } finally {
    await small.close();
  }
});

it('shows a member the imports read-only, and refuses their upload', async () => {
  const email = `member-imp@${agency.agencyId.slice(0, 8)}.test`;
  await addMember(stack, agency, email);
  const { page, context } = await signedIn(browser, stack, email);
  await page.goto(`${stack.url}/console/imports`);
  expect(await page.locator('#upload-form').count()).toBe(0);
  await expect(page.locator('main').textContent()).resolves.toContain('Read-only');
  const { rows } = await stack.deps.pool.query<{ id: string }>('select id from imports where agency_id = $1 limit 1', [agency.agencyId]);
  await page.goto(`${stack.url}/console/imports/${rows[0]!.id}`);
  expect(await page.locator('#cancel-form').count()).toBe(0);
  await context.close();
});
