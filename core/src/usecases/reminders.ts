import type { Deps } from '../context.js';
import { withTransaction } from '../db/pool.js';
import { AppError } from '../errors/AppError.js';
import * as sql from '../sql/clientAccess.js';
import { appendEvent } from '../sql/events.js';
import { enqueueEmails, queueEmailTx } from './emails.js';
import { takeRecipientQuota, type Reservation } from './rateLimits.js';

/** Thrown inside the claim transaction to roll it back: the invitation changed between the scan and the claim. */
class InvitationChanged extends Error {}

/**
 * The reminder step of the sweep. For each pending invitation inside one of its agency's reminder windows
 * (default: 24 hours before expiry), one `invitation_reminder` email with the same link (no rotation: the
 * email carries the invitation's current seed, as "copy link" does), the invitation's `reminders_sent` and
 * `last_reminded_at`, and an `invitation.reminded` event, all in one transaction.
 *
 * At most once per invitation per step, whatever runs concurrently: each step is claimed by inserting
 * (invitation, step) under its primary key; a second sweep blocks on the first's insert and then claims
 * nothing. A worker that dies before commit leaves no claim, so the next sweep sends it. Several steps due at
 * once (the sweep did not run for days, or a short expiry) are claimed together and send one email. The
 * recipient's daily email quota counts reminders; a recipient over it is reminded by a later sweep.
 */
export async function sendDueReminders(deps: Deps, batch = 500): Promise<{ remindersSent: number; remindersDeferred: number }> {
  const due = await sql.findDueReminders(deps.pool, batch);
  let sent = 0;
  let deferred = 0;
  for (const inv of due) {
    let quota: Reservation;
    try {
      quota = await takeRecipientQuota(deps, inv.agency_id, inv.email);
    } catch (err) {
      if (err instanceof AppError && err.code === 'rate_limited') {
        deferred++;
        continue;
      }
      throw err;
    }
    const step = inv.steps[0]!;
    let emailId: string | null = null;
    try {
      emailId = await withTransaction(deps.pool, async (tx) => {
        const claimed = await sql.claimReminderSteps(tx, inv.agency_id, inv.id, inv.steps);
        if (!claimed.includes(step)) return null;
        const counted = await sql.markReminded(tx, inv.agency_id, inv.id, inv.token_ciphertext);
        if (!counted) throw new InvitationChanged();
        const id = await queueEmailTx(tx, {
          agencyId: inv.agency_id,
          kind: 'invitation_reminder',
          to: inv.email,
          invitationId: inv.id,
          clientId: inv.client_id,
          tokenCiphertext: inv.token_ciphertext,
        });
        await sql.setReminderEmail(tx, inv.id, step, id);
        await appendEvent(tx, {
          agencyId: inv.agency_id,
          type: 'invitation.reminded',
          subjectId: inv.id,
          data: { project_id: inv.project_id, client_id: inv.client_id, hours_before: step, reminders_sent: counted.reminders_sent },
        });
        return id;
      });
    } catch (err) {
      await quota.give().catch(() => undefined);
      if (err instanceof InvitationChanged) continue;
      throw err;
    }
    if (!emailId) {
      await quota.give().catch(() => undefined);
      continue;
    }
    await enqueueEmails(deps, [emailId]);
    sent++;
  }
  return { remindersSent: sent, remindersDeferred: deferred };
}
