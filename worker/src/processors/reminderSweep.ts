import { purgeSignInLinks, sendDueReminders } from '@onramp/core';
import type { SweepStep } from './sweep.js';

/**
 * Reminders before an invitation expires (each agency's reminder_hours_before, default 24 hours), at most
 * once per invitation per step even with several workers sweeping at once: see sendDueReminders.
 */
export const sendRemindersStep: SweepStep = async (deps) => sendDueReminders(deps);

/** Sign-in links are useless a day after they expired. */
export const purgeSignInLinksStep: SweepStep = async (deps) => ({ signInLinksPurged: await purgeSignInLinks(deps) });
