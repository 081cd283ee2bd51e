import { applyClientAccessSettings, createLogger, jobCatalog, sendEmailJobId, takeRecipientQuota, type Deps } from '@onramp/core';
import { processors } from '@onramp/worker';
import { buildDeps, type OwnedDeps } from '@onramp/cli';
import type { Job } from 'bullmq';
import { startStack, createTestAgency, type TestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';
import { settledJob } from '../support/jobs.js';

/**
 * Reminders before expiry, sent by the sweep over real SMTP. The "second worker" is a second set of
 * connections (its own pool and Redis client) running the same sweep at the same moment as the first.
 */
let stack: TestStack;
let second: OwnedDeps;
beforeAll(async () => {
  stack = await startStack();
  second = buildDeps(stack.config, { databaseUrl: stack.config.databaseUrl!, redisUrl: stack.config.redisUrl! }, createLogger('error'));
});
afterAll(async () => {
  await second?.close();
  await stack.close();
});

const linkIn = (text: string) => /https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/.exec(text)?.[0];
const sweepWith = (deps: Deps) => processors.sweep({}, deps, {} as Job) as Promise<Record<string, number>>;
/** Two workers sweep at the same moment. */
const sweepTwice = () => Promise.all([sweepWith(stack.deps), sweepWith(second)]);

/** "Days later": the invitation was sent `hoursAgo` earlier than it was, and everything about it moves with it. */
async function moveBack(invitationId: string, hours: number): Promise<void> {
  await stack.deps.pool.query(
    `update invitations set created_at = created_at - make_interval(hours => $2), last_sent_at = last_sent_at - make_interval(hours => $2),
            expires_at = expires_at - make_interval(hours => $2) where id = $1`,
    [invitationId, hours],
  );
}

async function invite(agency: TestAgency, opts: { send_email?: boolean } = {}) {
  const api = client(stack.url, agency.key);
  const project = (await api.post('/v1/projects', { name: `Reminders ${Date.now()}` })).body;
  const email = `remind-${Math.random().toString(36).slice(2, 10)}@client.test`;
  const res = await api.post(`/v1/projects/${project.id}/invitations`, { email, first_name: 'Rita', last_name: 'Levi', ...opts });
  expect(res.status).toBe(201);
  return { api, email, invitation: res.body, project };
}

const reminderRows = (invitationId: string) =>
  countRows(stack.deps.pool, "select 1 from emails where invitation_id = $1 and kind = 'invitation_reminder'", [invitationId]);

describe('reminders before expiry', () => {
  it('24 hours before expiry: exactly one reminder with the same link, with two workers sweeping at once', async () => {
    const agency = await createTestAgency(stack, 'Remind');
    const { api, email, invitation } = await invite(agency);
    const first = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const link = linkIn(first.parsed.text ?? '')!;
    expect(link).toBeDefined();

    // Not due yet: seven days ahead, nothing happens however often the sweep runs.
    await sweepTwice();
    expect(await reminderRows(invitation.id)).toBe(0);

    // Six days and an hour later: 23 hours left, inside the default 24-hour window.
    await moveBack(invitation.id, 6 * 24 + 1);
    const rounds = await Promise.all([sweepTwice(), sweepTwice(), sweepTwice()]);
    const sent = rounds.flat().reduce((n, r) => n + (r.remindersSent ?? 0), 0);
    expect(sent).toBe(1);
    expect(await reminderRows(invitation.id)).toBe(1);

    const { rows } = await stack.deps.pool.query<{ id: string }>("select id from emails where invitation_id = $1 and kind = 'invitation_reminder'", [
      invitation.id,
    ]);
    const settled = await settledJob(stack.deps.jobs.queue(jobCatalog['send-email'].queue), sendEmailJobId(rows[0]!.id));
    expect(settled.state).toBe('completed');
    const reminder = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email) && /^Reminder:/.test(m.parsed.subject ?? ''));
    expect(reminder.parsed.subject).toMatch(/^Reminder: Remind [0-9a-f]+ invited you to Reminders/);
    // The same link as the invitation (no rotation), in the text and the HTML part, and it still works.
    expect(linkIn(reminder.parsed.text ?? '')).toBe(link);
    expect(linkIn(String(reminder.parsed.html ?? ''))).toBe(link);
    expect(reminder.parsed.text).toMatch(/Your invitation expires on /);
    expect(reminder.parsed.text).toContain(`${stack.config.publicBaseUrl}/a/remind-`);
    expect((await fetch(link)).status).toBe(200);
    expect(stack.smtp!.messages.filter((m) => m.envelopeTo.includes(email))).toHaveLength(2);

    // Visible on the invitation and in the event feed (one event).
    const after = (await api.get(`/v1/invitations/${invitation.id}`)).body;
    expect(after.reminders_sent).toBe(1);
    expect(new Date(after.last_reminded_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(after.status).toBe('pending');
    const events = (await api.get('/v1/events?type=invitation.reminded')).body.data;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'invitation.reminded', subject_id: invitation.id });

    // A restarted worker sweeping again sends nothing more.
    await sweepTwice();
    expect(await reminderRows(invitation.id)).toBe(0 + 1);
  });

  it('a schedule of several steps sends one reminder per step; an empty schedule sends none', async () => {
    const agency = await createTestAgency(stack, 'Steps');
    await applyClientAccessSettings(stack.deps.pool, agency.agencyId, { reminder_hours_before: [24, 72] });
    const { api, invitation } = await invite(agency);
    await moveBack(invitation.id, 4 * 24 + 1); // 71 hours left
    await sweepTwice();
    expect(await reminderRows(invitation.id)).toBe(1);
    await sweepTwice();
    expect(await reminderRows(invitation.id)).toBe(1);
    await moveBack(invitation.id, 48); // 23 hours left
    await sweepTwice();
    expect(await reminderRows(invitation.id)).toBe(2);
    expect((await api.get(`/v1/invitations/${invitation.id}`)).body.reminders_sent).toBe(2);

    const off = await createTestAgency(stack, 'Quiet');
    await applyClientAccessSettings(stack.deps.pool, off.agencyId, { reminder_hours_before: [] });
    const quiet = await invite(off);
    await moveBack(quiet.invitation.id, 6 * 24 + 1);
    await sweepTwice();
    expect(await reminderRows(quiet.invitation.id)).toBe(0);
  });

  it('never reminds revoked, accepted, expired, unsent, deactivated or just-sent invitations', async () => {
    const agency = await createTestAgency(stack, 'Never');
    const revoked = await invite(agency);
    expect((await revoked.api.post(`/v1/invitations/${revoked.invitation.id}/revoke`)).status).toBe(200);
    const accepted = await invite(agency);
    const acceptedMail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(accepted.email));
    const accept = await fetch(`${linkIn(acceptedMail.parsed.text ?? '')}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ new_password: 'a long enough password' }),
    });
    expect(accept.status).toBe(200);
    const expired = await invite(agency);
    const unsent = await invite(agency, { send_email: false });
    const deactivated = await invite(agency);
    expect((await deactivated.api.post(`/v1/clients/${deactivated.invitation.client.id}/deactivate`)).status).toBe(200);
    for (const x of [revoked, accepted, unsent, deactivated]) await moveBack(x.invitation.id, 6 * 24 + 1);
    await moveBack(expired.invitation.id, 7 * 24 + 1);
    // An agency with a one-day expiry: the invitation email itself went out inside the reminder window.
    const short = await createTestAgency(stack, 'Short');
    await stack.deps.pool.query('update agencies set invite_expiry_days = 1 where id = $1', [short.agencyId]);
    const justSent = await invite(short);

    await sweepTwice();
    for (const x of [revoked, accepted, expired, unsent, deactivated, justSent]) expect(await reminderRows(x.invitation.id)).toBe(0);
    expect(
      await countRows(stack.deps.pool, "select 1 from events where type = 'invitation.reminded' and agency_id = any($1::uuid[])", [
        [agency.agencyId, short.agencyId],
      ]),
    ).toBe(0);
  });

  it('counts in the recipient quota: a recipient over it is reminded by a later sweep', async () => {
    const limited = await startStack({ env: { EMAILS_PER_RECIPIENT_PER_DAY: '2' }, smtp: false, worker: false });
    try {
      const agency = await createTestAgency(limited, 'Quota');
      const api = client(limited.url, agency.key);
      const project = (await api.post('/v1/projects', { name: 'Quota' })).body;
      const email = 'quota@client.test';
      const invitation = (await api.post(`/v1/projects/${project.id}/invitations`, { email, first_name: 'Q', last_name: 'R' })).body;
      // Two of today's two emails used: the invitation and one more.
      await takeRecipientQuota(limited.deps, agency.agencyId, email);
      await limited.deps.pool.query(
        `update invitations set created_at = created_at - interval '145 hours', last_sent_at = last_sent_at - interval '145 hours',
                expires_at = expires_at - interval '145 hours' where id = $1`,
        [invitation.id],
      );
      const over = (await processors.sweep({}, limited.deps, {} as Job)) as Record<string, number>;
      expect(over).toMatchObject({ remindersSent: 0, remindersDeferred: 1 });
      expect(await countRows(limited.deps.pool, "select 1 from emails where invitation_id = $1 and kind = 'invitation_reminder'", [invitation.id])).toBe(0);
      expect(await countRows(limited.deps.pool, 'select 1 from invitation_reminders where invitation_id = $1', [invitation.id])).toBe(0);
      // The next day's quota (a fresh window: the counters are cleared here) lets it through.
      const keys = await limited.deps.redis.keys(`${limited.config.redisPrefix}:rl:recipient:*`);
      await limited.deps.redis.del(...keys);
      const later = (await processors.sweep({}, limited.deps, {} as Job)) as Record<string, number>;
      expect(later).toMatchObject({ remindersSent: 1, remindersDeferred: 0 });
    } finally {
      await limited.close();
    }
  });
});
