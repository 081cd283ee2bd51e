import { freePort } from '@onramp/cli';
import { sendEmailJobId } from '@onramp/core';
import { startStack, type TestStack } from '../support/stack.js';
import { call } from '../support/http.js';
import { emailRow, invitationRow, inviteFixture, queueEmail, waitForJob } from './fixtures.js';

let stack: TestStack;
let port: number;

beforeAll(async () => {
  // SMTP_URL points at a port nobody listens on: every send is refused (a transient failure).
  port = await freePort();
  stack = await startStack({ smtp: false, env: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
});
afterAll(async () => {
  await stack.close();
});

describe('SMTP server unreachable', () => {
  it('retries a refused connection and records the failure on the last attempt', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation', { enqueue: false });
    const jobId = sendEmailJobId(emailId);
    // The catalog's 5 attempts with exponential backoff take half a minute; two show the same path.
    await stack.deps.jobs.queue('email').add('send-email', { emailId }, { jobId, attempts: 2, backoff: { type: 'fixed', delay: 200 } });

    const job = await waitForJob(stack, jobId);
    expect(job.state).toBe('failed');
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toMatch(/gave up after 2 attempts: could not talk to the mail server \(ESOCKET\): connect ECONNREFUSED/);
    const row = await emailRow(stack, emailId);
    expect(row).toMatchObject({ status: 'failed', attempts: 2 });
    expect(row.error).toMatch(/ECONNREFUSED/);
    const inv = await invitationRow(stack, f.invitationId);
    expect(inv.delivery_status).toBe('failed');
    expect(inv.delivery_error).toMatch(/could not talk to the mail server/);
  });

  it('says on the dev mailbox that mail goes to SMTP, without credentials', async () => {
    const res = await call(stack.url, 'GET', '/dev/mailbox');
    expect(res.status).toBe(200);
    expect(res.text).toContain(`SMTP_URL is set: new mail goes to the SMTP server at smtp://127.0.0.1:${port}`);
  });
});
