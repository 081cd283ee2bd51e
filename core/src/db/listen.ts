import pg from 'pg';
import type { Logger } from '../logger.js';

export interface Listening {
  close(): Promise<void>;
}

const RECONNECT_MS = 1_000;

/**
 * LISTEN on one channel over a dedicated connection (not a pooled one: it is held for the life of the
 * process), reconnecting after a failure. `onUp` runs once the LISTEN is in place, `onDown` as soon as the
 * connection is lost: notifications sent meanwhile are gone, so a listener must treat down as "anything
 * may have changed".
 */
export function listenForever(
  connectionString: string,
  channel: string,
  handlers: { onNotify(payload: string): void; onUp(): void; onDown(): void },
  logger: Logger,
): Listening {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`listenForever: "${channel}" is not a plain channel name`);
  let closed = false;
  let client: pg.Client | null = null;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  const down = () => {
    handlers.onDown();
    client?.removeAllListeners();
    client?.on('error', () => undefined);
    client?.end().catch(() => undefined);
    client = null;
    if (!closed) timer = setTimeout(connect, RECONNECT_MS);
  };
  const connect = () => {
    const c = new pg.Client({ connectionString });
    client = c;
    c.on('notification', (msg) => {
      if (msg.channel === channel) handlers.onNotify(msg.payload ?? '');
    });
    c.on('error', (err) => {
      if (!warned) logger.warn({ err: err.message, channel }, 'lost the LISTEN connection; reconnecting');
      warned = true;
      if (client === c) down();
    });
    c.on('end', () => {
      if (client === c) down();
    });
    c.connect()
      .then(() => c.query(`listen ${channel}`))
      .then(() => {
        if (client !== c || closed) return;
        if (warned) logger.info({ channel }, 'LISTEN connection restored');
        warned = false;
        handlers.onUp();
      })
      .catch((err: Error) => {
        if (!warned) logger.warn({ err: err.message, channel }, 'could not LISTEN; retrying every second');
        warned = true;
        if (client === c) down();
      });
  };
  connect();
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      handlers.onDown();
      if (c) {
        c.removeAllListeners();
        c.on('error', () => undefined);
        await c.end().catch(() => undefined);
      }
    },
  };
}
