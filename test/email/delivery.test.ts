import { encryptToken, hashToken, randomToken, sendEmailJobId, TokenPurpose } from '@onramp/core';
import { requeueStuckEmails } from '@onramp/worker';
import { createTestAgency, startStack, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { insertProject } from '../support/fixtures.js';
import { ageEmail, lastSentAgo, markInvitationAccepted, markInvitationRevoked, setEmailStatus } from '../support/state.js';
import { emailRow, hrefs, invitationRow, inviteFixture, queueEmail, waitForEmailStatus, waitForJob } from './fixtures.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const to = (address: string) => (m: { envelopeTo: string[] }) => m.envelopeTo.includes(address);
const received = (address: string) => stack.smtp!.messages.filter(to(address));

describe('invitation email over SMTP', () => {
  it('arrives branded, with the link in both parts, the escaped message and the expiry', async () => {
    const f = await inviteFixture(stack, {
      agencyName: 'Acme Holdings LLC',
      branding: { display_name: 'Acme', brand_color: '#123456' },
      message: 'Welcome aboard <script>alert(1)</script> & "friends"',
    });
    const emailId = await queueEmail(stack, f, 'invitation');
    const mail = await stack.smtp!.waitFor(to(f.clientEmail));
    const link = `${stack.config.publicBaseUrl}/invite/${f.token}`;

    expect(mail.parsed.subject).toBe('Acme invited you to Website redesign');
    expect(mail.parsed.from!.value).toEqual([{ name: 'Acme', address: stack.config.mailFrom }]);
    expect(mail.parsed.to).toMatchObject({ value: [{ name: 'Cleo Client', address: f.clientEmail }] });
    expect(mail.envelopeTo).toEqual([f.clientEmail]);
    expect(mail.envelopeFrom).toBe(stack.config.mailFrom);
    expect(mail.parsed.text).toContain(link);
    expect(hrefs(mail.parsed.html as string)).toContain(link);
    expect(mail.parsed.text).toContain('Welcome aboard <script>alert(1)</script> & "friends"');
    expect(mail.parsed.html).toContain('Welcome aboard &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;');
    expect(mail.parsed.html).not.toContain('<script>');
    expect(mail.parsed.text).toMatch(/expires on \w+, \d+ \w+ \d{4} at \d\d:\d\d UTC \(\d{4}-\d\d-\d\dT/);

    const row = await waitForEmailStatus(stack, emailId);
    expect(row).toMatchObject({ status: 'sent', attempts: 1, error: null });
    expect(row.message_id).toBe(mail.parsed.messageId);
    expect(row.sent_at).toBeInstanceOf(Date);
    expect(await invitationRow(stack, f.invitationId)).toMatchObject({ delivery_status: 'sent', delivery_error: null });
  });

  it('uses the sender name for From when the agency set one', async () => {
    const f = await inviteFixture(stack, { branding: { display_name: 'Acme', sender_name: 'Acme Client Team' } });
    await queueEmail(stack, f, 'invitation');
    const mail = await stack.smtp!.waitFor(to(f.clientEmail));
    expect(mail.parsed.from!.value[0]!.name).toBe('Acme Client Team');
    expect(mail.parsed.subject).toBe('Acme invited you to Website redesign');
  });

  it('lets no name add a header or a recipient (CR/LF injection)', async () => {
    const evil = 'Mallory\r\nBcc: evil@attacker.test\r\nX-Injected: 1';
    const f = await inviteFixture(stack, {
      branding: { display_name: evil, sender_name: evil },
      firstName: 'Eve\r\nBcc: evil2@attacker.test',
      projectName: 'Project\r\nCc: evil3@attacker.test',
      ownerName: 'Owner\nBcc: evil4@attacker.test',
    });
    await queueEmail(stack, f, 'invitation');
    const mail = await stack.smtp!.waitFor(to(f.clientEmail));
    expect(mail.envelopeTo).toEqual([f.clientEmail]);
    expect(mail.parsed.headers.has('bcc')).toBe(false);
    expect(mail.parsed.headers.has('cc')).toBe(false);
    expect(mail.parsed.headers.has('x-injected')).toBe(false);
    const headerBlock = mail.raw.split(/\r?\n\r?\n/)[0]!;
    expect(headerBlock).not.toMatch(/^(bcc|cc|x-injected):/im);
    expect(mail.parsed.from!.value).toEqual([{ name: 'Mallory Bcc: evil@attacker.test X-Injected: 1', address: stack.config.mailFrom }]);
    expect(stack.smtp!.messages.some((m) => m.envelopeTo.some((a) => a.includes('attacker')))).toBe(false);
  });
});

describe('failures and idempotency', () => {
  it('records a permanent SMTP rejection on the invitation and fails the job for good', async () => {
    const f = await inviteFixture(stack);
    stack.smtp!.rejectNext(1, '5.1.1 mailbox does not exist');
    const emailId = await queueEmail(stack, f, 'invitation');
    const job = await waitForJob(stack, sendEmailJobId(emailId));
    expect(job.state).toBe('failed');
    // UnrecoverableError: no retry although the catalog allows 5 attempts.
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/rejected the message: 550 5\.1\.1 mailbox does not exist/);
    const row = await emailRow(stack, emailId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/550 5\.1\.1 mailbox does not exist/);
    const inv = await invitationRow(stack, f.invitationId);
    expect(inv.delivery_status).toBe('failed');
    expect(inv.delivery_error).toMatch(/550 5\.1\.1 mailbox does not exist/);
    expect(received(f.clientEmail)).toHaveLength(0);
  });

  it('sends one email when the same email job runs twice', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation');
    await stack.smtp!.waitFor(to(f.clientEmail));
    await waitForEmailStatus(stack, emailId);
    // A second job for the same email under another id (BullMQ would dedupe the same id).
    const again = `${sendEmailJobId(emailId)}-again`;
    await stack.deps.jobs.enqueue('send-email', { emailId }, { jobId: again });
    expect((await waitForJob(stack, again)).state).toBe('completed');
    expect(received(f.clientEmail)).toHaveLength(1);
    expect(await emailRow(stack, emailId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('never mails a link a resend has replaced: the old email is cancelled', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation', { enqueue: false });
    // A resend rotates the token before the first job ran.
    const fresh = randomToken();
    await stack.deps.pool.query('update invitations set token_hash = $2, token_ciphertext = $3 where id = $1', [
      f.invitationId,
      hashToken(stack.deps.appSecret, fresh, TokenPurpose.invitation),
      encryptToken(stack.deps.appSecret, fresh),
    ]);
    await stack.deps.jobs.enqueue('send-email', { emailId }, { jobId: sendEmailJobId(emailId) });
    expect((await waitForJob(stack, sendEmailJobId(emailId))).state).toBe('completed');
    expect(await emailRow(stack, emailId)).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/replaced/) });
    expect(received(f.clientEmail)).toHaveLength(0);
    // The invitation keeps what the newer email will report.
    expect((await invitationRow(stack, f.invitationId)).delivery_status).toBe('queued');
  });

  it('cancels the email of a revoked invitation', async () => {
    const f = await inviteFixture(stack);
    await markInvitationRevoked(stack.deps.pool, f.invitationId);
    const emailId = await queueEmail(stack, f, 'invitation');
    expect((await waitForJob(stack, sendEmailJobId(emailId))).state).toBe('completed');
    expect(await emailRow(stack, emailId)).toMatchObject({ status: 'cancelled', error: 'the invitation is revoked' });
    expect(received(f.clientEmail)).toHaveLength(0);
  });

  it('lets an old email never overwrite the delivery status of a newer one', async () => {
    const f = await inviteFixture(stack);
    const first = await queueEmail(stack, f, 'invitation');
    await waitForEmailStatus(stack, first);
    // A newer email for the same invitation (same link) fails for good...
    stack.smtp!.rejectNext(1, 'no such user');
    const second = await queueEmail(stack, f, 'invitation_resend');
    await waitForJob(stack, sendEmailJobId(second));
    expect((await invitationRow(stack, f.invitationId)).delivery_status).toBe('failed');
    // ...and re-running the older email's work cannot flip the invitation back to "sent".
    await setEmailStatus(stack.deps.pool, first, 'queued');
    const rerun = `${sendEmailJobId(first)}-rerun`;
    await stack.deps.jobs.enqueue('send-email', { emailId: first }, { jobId: rerun });
    await waitForJob(stack, rerun);
    expect(await invitationRow(stack, f.invitationId)).toMatchObject({ delivery_status: 'failed', delivery_error: expect.stringMatching(/no such user/) });
  });
});

describe('other kinds', () => {
  it('tells the firm user who created the invitation that the client accepted', async () => {
    const f = await inviteFixture(stack, { firstName: 'Ada', lastName: 'Lovelace', projectName: 'Brand refresh', branding: { display_name: 'Acme' } });
    await markInvitationAccepted(stack.deps.pool, f.invitationId);
    const emailId = await queueEmail(stack, f, 'invitation_accepted');
    const mail = await stack.smtp!.waitFor(to(f.ownerEmail));
    expect(mail.parsed.subject).toBe('Ada Lovelace accepted your invitation to Brand refresh');
    expect(mail.parsed.from!.value[0]!.name).toBe('Acme');
    expect(mail.parsed.text).toContain(`${stack.config.publicBaseUrl}/console`);
    expect(mail.parsed.text).toContain(f.clientEmail);
    expect(mail.parsed.text).not.toContain('/invite/');
    expect(await waitForEmailStatus(stack, emailId)).toMatchObject({ status: 'sent' });
    // A notification is not the invitation email: the invitation's delivery status is untouched.
    expect((await invitationRow(stack, f.invitationId)).delivery_status).toBe('queued');
  });

  it('sends a password reset with the reset link and its validity', async () => {
    const f = await inviteFixture(stack);
    const token = randomToken();
    await stack.deps.pool.query("insert into password_resets (token_hash, client_id, agency_id, expires_at) values ($1, $2, $3, now() + interval '1 hour')", [
      hashToken(stack.deps.appSecret, token, TokenPurpose.passwordReset),
      f.clientId,
      f.agencyId,
    ]);
    await queueEmail(stack, f, 'password_reset', { tokenCiphertext: encryptToken(stack.deps.appSecret, token) });
    const mail = await stack.smtp!.waitFor(to(f.clientEmail));
    const link = `${stack.config.publicBaseUrl}/reset/${token}`;
    expect(mail.parsed.subject).toMatch(/^Reset your password for /);
    expect(mail.parsed.text).toContain(link);
    expect(hrefs(mail.parsed.html as string)).toContain(link);
    expect(mail.parsed.text).toMatch(/valid until .* UTC/);
  });
});

describe('outbox sweep', () => {
  const age = (emailId: string) => ageEmail(stack.deps.pool, emailId, '5 minutes');

  it('re-enqueues an email whose job was never enqueued (crash between commit and enqueue)', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation', { enqueue: false });
    await age(emailId);
    const result = await requeueStuckEmails(stack.deps);
    expect(result.emailsRequeued).toBeGreaterThanOrEqual(1);
    await stack.smtp!.waitFor(to(f.clientEmail));
    expect(await waitForEmailStatus(stack, emailId)).toMatchObject({ status: 'sent' });
    // Nothing left to do on the next round.
    await requeueStuckEmails(stack.deps);
    expect(received(f.clientEmail)).toHaveLength(1);
  });

  it('re-enqueues even when BullMQ still holds a finished job under the same id', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation', { enqueue: false });
    // A job under the email's own id that finished without sending (a lost state, as after a Redis
    // failover): a plain add with that id would now be silently ignored for 24 hours.
    await setEmailStatus(stack.deps.pool, emailId, 'cancelled');
    await stack.deps.jobs.enqueue('send-email', { emailId }, { jobId: sendEmailJobId(emailId) });
    expect((await waitForJob(stack, sendEmailJobId(emailId))).state).toBe('completed');
    await setEmailStatus(stack.deps.pool, emailId, 'queued');
    await age(emailId);

    await requeueStuckEmails(stack.deps);
    await stack.smtp!.waitFor(to(f.clientEmail));
    expect(await waitForEmailStatus(stack, emailId)).toMatchObject({ status: 'sent' });
  });

  it('leaves alone an email whose job is still waiting to run', async () => {
    const f = await inviteFixture(stack);
    const emailId = await queueEmail(stack, f, 'invitation', { enqueue: false });
    await stack.deps.jobs.enqueue('send-email', { emailId }, { jobId: sendEmailJobId(emailId), delayMs: 60_000 });
    await age(emailId);
    await requeueStuckEmails(stack.deps);
    const job = await stack.deps.jobs.queue('email').getJob(sendEmailJobId(emailId));
    expect(await job!.getState()).toBe('delayed');
    expect(await emailRow(stack, emailId)).toMatchObject({ status: 'queued', attempts: 0 });
    await job!.remove();
  });
});

describe('end to end through the API', () => {
  it('mails the invite link the API shows, then a reminder with the new link after a resend', async () => {
    const agency = await createTestAgency(stack, 'Bright');
    const api = client(stack.url, agency.key);
    const agencyName = (await stack.deps.pool.query<{ name: string }>('select name from agencies where id = $1', [agency.agencyId])).rows[0]!.name;
    const project = await insertProject(stack.deps.pool, agency.agencyId, 'Onboarding');
    const address = `e2e-${Date.now()}@example.test`;
    const created = await api.post(`/v1/projects/${project.id}/invitations`, { email: address, first_name: 'Ada', last_name: 'Lovelace', message: 'Hi <Ada>' });
    expect(created.status).toBe(201);
    const first = await stack.smtp!.waitFor(to(address));
    const link1 = (await api.get(`/v1/invitations/${created.body.id}/link`)).body.url as string;
    expect(first.parsed.subject).toBe(`${agencyName} invited you to Onboarding`);
    expect(first.parsed.text).toContain(link1);
    expect(first.parsed.html).toContain('Hi &lt;Ada&gt;');
    await waitForDelivery(api, created.body.id, 'sent');

    await lastSentAgo(stack.deps.pool, created.body.id, '1 hour');
    expect((await api.post(`/v1/invitations/${created.body.id}/resend`)).status).toBe(200);
    const second = await stack.smtp!.waitFor((m) => to(address)(m) && m !== first);
    const link2 = (await api.get(`/v1/invitations/${created.body.id}/link`)).body.url as string;
    expect(link2).not.toBe(link1);
    expect(second.parsed.subject).toBe(`Reminder: ${agencyName} invited you to Onboarding`);
    expect(second.parsed.text).toContain(link2);
    expect(second.parsed.text).not.toContain(link1);
    await waitForDelivery(api, created.body.id, 'sent');
  });
});

async function waitForDelivery(api: ReturnType<typeof client>, id: string, status: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await api.get(`/v1/invitations/${id}`);
    if (res.body.delivery_status === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`invitation ${id} never reached delivery_status ${status}`);
}
