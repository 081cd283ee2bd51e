import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  raw: string;
  /** The JSON body, when there is one. */
  body: Record<string, unknown>;
}

/** A real HTTP server on 127.0.0.1 receiving webhooks: records every request, answers scripted statuses. */
export class Receiver {
  readonly received: Received[] = [];
  /** Status codes to answer per path, in order; 200 once the script runs out. */
  private readonly scripts = new Map<string, number[]>();
  private server!: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        let body: Record<string, unknown> = {};
        try {
          body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
        } catch {
          // Not JSON (a connection test probing the base URL): kept as raw.
        }
        this.received.push({ method: req.method ?? '', path, headers: req.headers as Record<string, string>, raw, body });
        const status = this.scripts.get(path)?.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A fresh path on this receiver, optionally answering the given statuses first. */
  target(script: number[] = [], path = `/r/${randomBytes(6).toString('hex')}`): { url: string; path: string } {
    this.scripts.set(path, [...script]);
    return { url: `${this.base}${path}`, path };
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Poll until the probe gives a value (background work: deliveries, jobs), or fail naming what never came. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
