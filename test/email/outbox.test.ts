import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { startStack, type TestStack } from '../support/stack.js';
import { call } from '../support/http.js';
import { inviteFixture, queueEmail, waitForEmailStatus } from './fixtures.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack({ smtp: false });
});
afterAll(async () => {
  await stack.close();
});

const outbox = () => join(stack.config.dataDir, 'outbox');

describe('outbox (SMTP_URL unset)', () => {
  let emailId: string;
  let token: string;
  let fileId: string;

  beforeAll(async () => {
    const f = await inviteFixture(stack, {
      branding: { display_name: 'Acme <b>Studio</b>' },
      projectName: 'Site & "app"',
      message: '<script>alert("x")</script>',
    });
    token = f.token;
    emailId = await queueEmail(stack, f, 'invitation');
    expect(await waitForEmailStatus(stack, emailId)).toMatchObject({ status: 'sent' });
  });

  it('writes one .eml per email under DATA_DIR/outbox, named by time and email id', async () => {
    const files = readdirSync(outbox()).filter((n) => n.endsWith(`-${emailId}.eml`));
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{8}T\d{9}Z-[0-9a-f-]{36}\.eml$/);
    fileId = files[0]!.slice(0, -4);
    const parsed = await simpleParser(readFileSync(join(outbox(), files[0]!)));
    expect(parsed.subject).toBe('Acme <b>Studio</b> invited you to Site & "app"');
    expect(parsed.text).toContain(`${stack.config.publicBaseUrl}/invite/${token}`);
    expect(parsed.from!.value[0]).toEqual({ name: 'Acme <b>Studio</b>', address: stack.config.mailFrom });
    expect(readdirSync(outbox()).some((n) => n.endsWith('.tmp'))).toBe(false);
  });

  it('lists it on GET /dev/mailbox, escaped, newest first', async () => {
    const res = await call(stack.url, 'GET', '/dev/mailbox');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.text).toContain(`href="/dev/mailbox/${fileId}"`);
    expect(res.text).toContain('Acme &lt;b&gt;Studio&lt;/b&gt; invited you to Site &amp; &quot;app&quot;');
    expect(res.text).not.toContain('<b>Studio</b>');
    expect(res.text).toMatch(/SMTP_URL is not set/);
  });

  it('shows it on GET /dev/mailbox/:id with a clickable link and the HTML part sandboxed', async () => {
    const link = `${stack.config.publicBaseUrl}/invite/${token}`;
    const res = await call(stack.url, 'GET', `/dev/mailbox/${fileId}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`<a href="${link}"`);
    expect(res.text).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(res.text).not.toContain('<script>');
    expect(res.text).toMatch(/<iframe[^>]+sandbox="allow-popups allow-popups-to-escape-sandbox"[^>]+src="\/dev\/mailbox\/[^"]+\/html"/);
    expect(res.text).toContain(stack.config.mailFrom);

    const html = await call(stack.url, 'GET', `/dev/mailbox/${fileId}/html`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toMatch(/^sandbox /);
    expect(html.text).toContain(`href="${link}"`);
    expect(html.text).not.toContain('<script>');

    const raw = await call(stack.url, 'GET', `/dev/mailbox/${fileId}/raw`);
    expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(raw.text).toMatch(/^Subject: /m);
  });

  it.each([
    ['%2e%2e%2fsentinel'],
    ['..%2Fsentinel'],
    ['..%5Csentinel'],
    ['20260101T000000000Z-00000000-0000-0000-0000-000000000000%2F..%2F..%2Fsentinel'],
    ['not-an-id'],
  ])('rejects %s as an id (no path traversal)', async (id) => {
    // A readable .eml one level above the outbox: what a traversal would reach.
    writeFileSync(join(stack.config.dataDir, 'sentinel.eml'), 'Subject: SENTINEL\r\n\r\nSENTINEL BODY\r\n');
    for (const suffix of ['', '/html', '/raw']) {
      const res = await call(stack.url, 'GET', `/dev/mailbox/${id}${suffix}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain('SENTINEL');
    }
  });

  it('answers 404 for a well-formed id that is not in the outbox', async () => {
    const res = await call(stack.url, 'GET', '/dev/mailbox/20260101T000000000Z-00000000-0000-0000-0000-000000000000');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});
