import { RELAY_BATCH, relayQueuedEmails, type Deps } from '@onramp/core';

/** How long the relay sleeps when it found less than a full batch; the most an invite's email waits for it. */
const IDLE_MS = 100;
/** After a failure (database or Redis away), wait this long before the next try. */
const FAILED_MS = 1_000;

export interface EmailRelay {
  /** Stop polling; resolves once the step in progress (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * The outbox relay: hands the emails the invite API wrote (email_relay rows) to the email queue in batches.
 * A short poll rather than LISTEN/NOTIFY: a transaction that notifies takes a database-wide lock at commit,
 * which would serialise every invite's commit; polling an empty indexed table ten times a second costs
 * nothing. A full batch is followed by the next one at once, so a burst drains at the speed of Redis.
 */
export function startEmailRelay(deps: Deps): EmailRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let failing = false;
  const step = async (): Promise<void> => {
    let next = IDLE_MS;
    try {
      const handed = await relayQueuedEmails(deps);
      if (handed === RELAY_BATCH) next = 0;
      if (failing) deps.logger.info('email relay recovered');
      failing = false;
    } catch (err) {
      // Logged once per outage, not ten times a second; the rows wait in email_relay meanwhile.
      if (!failing) deps.logger.warn({ err }, 'email relay failed; retrying every second');
      failing = true;
      next = FAILED_MS;
    }
    if (!stopped) timer = setTimeout(run, next);
  };
  const run = () => {
    running = step().finally(() => (running = null));
  };
  timer = setTimeout(run, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
