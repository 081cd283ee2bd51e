import { expireInvitations, idempotencyKeys, type Deps } from '@onramp/core';
import type { Processor } from './types.js';
import { requeueStuckEmails } from './emailSweep.js';
import { purgeSignInLinksStep, sendRemindersStep } from './reminderSweep.js';
import { requeueStrandedDeliveries } from './webhookSweep.js';

export type SweepStep = (deps: Deps) => Promise<Record<string, number>>;

/** Idempotency keys answer replays for 24 hours, then go. */
const purgeIdempotencyKeys: SweepStep = async (deps) => ({ idempotencyKeysPurged: await idempotencyKeys.purge(deps) });

/** Pending invitations past expires_at become expired, with an invitation.expired event each. */
const expireInvitationsStep: SweepStep = async (deps) => ({ invitationsExpired: await expireInvitations(deps.pool) });

/**
 * The periodic sweep runs every step; features register theirs in sweepSteps. Reminders run after expiry,
 * so an invitation that just expired is never reminded.
 */
const sweepSteps: SweepStep[] = [
  purgeIdempotencyKeys,
  expireInvitationsStep,
  sendRemindersStep,
  purgeSignInLinksStep,
  requeueStuckEmails,
  requeueStrandedDeliveries,
];

export const sweep: Processor<'sweep'> = async (_payload, deps) => {
  const results: Record<string, number> = {};
  for (const step of sweepSteps) Object.assign(results, await step(deps));
  return results;
};
