import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser } from 'playwright-core';
import { freePort } from '@onramp/cli';
import { runOnramp, startOnramp, type LongRunning } from '../support/processes.js';
import { launchChromium } from '../support/browser.js';
import { removeTempDir } from '../support/tempDir.js';

/**
 * The README's journey, as a person follows it: `onramp start` with nothing configured (embedded
 * PostgreSQL, private Redis, email to the outbox), an agency from the CLI, a project and an invitation with
 * curl-style calls, the link opened from the dev mailbox in a real browser, a password set, the portal, and
 * the invitation seen as accepted with the inviter's notification in the mailbox.
 */
describe('the quick start journey', () => {
  let onramp: LongRunning;
  let browser: Browser;
  let base: string;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'onramp-e2e-'));
    chmodSync(dir, 0o755);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = { DATA_DIR: join(dir, 'data'), PORT: String(port), PUBLIC_BASE_URL: base };
    // At the default log level, as a person running it sees it (the helper quiets it to warn otherwise).
    onramp = startOnramp(['start'], { ...env, LOG_LEVEL: 'info' });
    await onramp.waitFor(/Onramp is running/);
    // The worker runs in a thread of its own with the heap cap; the API's heap (the process) is not capped.
    await onramp.waitFor(/"maxHeapMb":192,"msg":"worker running in its own thread"/);
    expect(readFileSync(`/proc/${onramp.child.pid}/cmdline`, 'utf8')).not.toContain('--max-old-space-size');
    (globalThis as Record<string, unknown>).__e2eEnv = env;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    try {
      if (onramp) expect(await onramp.stop('SIGINT')).toBe(0);
    } finally {
      removeTempDir(dir);
    }
  });

  it('from agency creation to an accepted invitation and the inviter notified', async () => {
    const env = (globalThis as Record<string, unknown>).__e2eEnv as Record<string, string>;
    const created = await runOnramp(['agency', 'create', '--name', 'Acme', '--owner-email', 'owner@acme.test', '--json'], env);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout).api_key as string;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    const projectRes = await fetch(`${base}/v1/projects`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Website redesign', template_name: 'Client onboarding' }),
    });
    expect(projectRes.status).toBe(201);
    const project = (await projectRes.json()) as { id: string; tasks: unknown[] };
    expect(project.tasks.length).toBeGreaterThan(0);

    const inviteRes = await fetch(`${base}/v1/projects/${project.id}/invitations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email: 'ada@client.test', first_name: 'Ada', last_name: 'Lovelace', message: 'Welcome aboard!' }),
    });
    expect(inviteRes.status).toBe(201);
    const invitation = (await inviteRes.json()) as { id: string; status: string };
    expect(invitation.status).toBe('pending');

    const page = await browser.newPage();
    // The worker writes the email to the outbox; the dev mailbox lists it.
    let inviteHref: string | null = null;
    for (let i = 0; i < 100 && !inviteHref; i++) {
      await page.goto(`${base}/dev/mailbox`);
      const link = page.locator('a', { hasText: 'Website redesign' }).first();
      if (await link.count()) {
        await link.click();
        inviteHref = await page.locator(`a[href*="/invite/"]`).first().getAttribute('href');
      } else {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(inviteHref).toMatch(new RegExp(`^${base}/invite/[A-Za-z0-9_-]{43}$`));

    const opened = await page.goto(inviteHref!);
    expect(opened?.status()).toBe(200);
    expect(await page.textContent('body')).toContain('Welcome aboard!');
    await page.fill('#new_password', 'correct horse battery');
    await page.fill('#confirm_password', 'correct horse battery');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${base}/portal`);
    expect(await page.textContent('body')).toContain('Website redesign');

    const accepted = (await (await fetch(`${base}/v1/invitations?status=accepted`, { headers })).json()) as {
      data: Array<{ id: string; accepted_at: string | null }>;
    };
    expect(accepted.data.map((i) => i.id)).toContain(invitation.id);
    expect(accepted.data[0]!.accepted_at).not.toBeNull();

    // The owner who invited (and nobody else) is told.
    let notified = false;
    for (let i = 0; i < 100 && !notified; i++) {
      await page.goto(`${base}/dev/mailbox`);
      const body = (await page.textContent('body')) ?? '';
      notified = /accepted/i.test(body) && body.includes('owner@acme.test');
      if (!notified) await new Promise((r) => setTimeout(r, 200));
    }
    expect(notified).toBe(true);
    await page.close();
  }, 120_000);
});
