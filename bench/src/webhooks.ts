import http from 'node:http';
import autocannon from 'autocannon';
import { createPool } from '@onramp/core';
import { freePort } from '@onramp/cli';
import { embeddedUrlFor } from './embedded.js';
import { fmt, runCli, startOnramp } from './harness.js';
import type { Bench } from './run.js';

const HOOKS = 20;

/** A local receiver that answers 200 at once and counts what it got: the far end of every delivery. */
async function startReceiver(): Promise<{ url: string; count: () => number; signed: () => number; stop(): Promise<void> }> {
  let count = 0;
  let signed = 0;
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      count++;
      if (typeof req.headers['onramp-signature'] === 'string' && bytes > 0) signed++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => count,
    signed: () => signed,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * Webhook fan-out: `invitation.accepted` events to 20 subscriptions on one local receiver, every delivery
 * signed, logged (a delivery row and an attempt row each) and retried on failure as in production, measured
 * from the events' commit to the last delivery marked succeeded; beside the receiver's own bare rate
 * (autocannon POSTing a payload-sized body to it) in the same run.
 */
export const benchWebhooks: Bench = async (args) => {
  const copies = Number(args[0] ?? 50);
  const onramp = await startOnramp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
  const receiver = await startReceiver();
  const pool = createPool(embeddedUrlFor(onramp.dataDir), 2);
  try {
    const created = JSON.parse(await runCli(onramp.env, ['agency', 'create', '--name', 'Bench', '--owner-email', 'bench@agency.test', '--json']));
    const key = created.api_key as string;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${onramp.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, any>>;
    };
    for (let h = 0; h < HOOKS; h++) await api('POST', '/v1/hooks', { event: 'invitation.accepted', target_url: `${receiver.url}/hook/${h}` });
    const project = await api('POST', '/v1/projects', { name: 'Fan-out' });

    // Twenty real acceptances: real invitations, accepted through the accept endpoint (the events a Zap gets).
    const seeds = 20;
    for (let i = 0; i < seeds; i++) {
      const inv = await api('POST', `/v1/projects/${project.id}/invitations`, {
        email: `fan${i}@client.test`,
        first_name: 'Fan',
        last_name: `${i}`,
        send_email: false,
      });
      const { url } = await api('GET', `/v1/invitations/${inv.id}/link`);
      const accepted = await fetch(`${url}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ new_password: 'a long bench password' }),
      });
      if (!accepted.ok) throw new Error(`accept: ${accepted.status} ${await accepted.text()}`);
    }
    const warm = seeds * HOOKS;
    await waitFor(async () => (await succeeded(pool)) >= warm, 60_000, 'warm-up deliveries');

    // The measured burst: each accepted event repeated `copies` times (new event ids, so new deliveries).
    const before = receiver.count();
    const { rowCount } = await pool.query(
      `insert into events (agency_id, type, subject_id, actor_id, data)
       select e.agency_id, e.type, e.subject_id, e.actor_id, e.data
         from events e cross join generate_series(1, $2::int)
        where e.agency_id = $1 and e.type = 'invitation.accepted'`,
      [created.agency_id, copies],
    );
    const expected = warm + (rowCount ?? 0) * HOOKS;
    const started = performance.now();
    await waitFor(async () => (await succeeded(pool)) >= expected, 600_000, 'deliveries');
    const seconds = (performance.now() - started) / 1000;
    const delivered = (rowCount ?? 0) * HOOKS;
    const rate = delivered / seconds;
    const received = receiver.count() - before;
    const failed = Number((await pool.query(`select count(*) from webhook_deliveries where status <> 'succeeded'`)).rows[0].count);

    const sample = (await pool.query(`select pg_column_size(e.data) as size from events e where e.type = 'invitation.accepted' limit 1`)).rows[0];
    const body = JSON.stringify({ event: 'invitation.accepted', padding: 'x'.repeat(Math.max(0, 900 - Number(sample?.size ?? 0))) });
    const bare = await autocannon({
      url: receiver.url,
      connections: 50,
      duration: 5,
      requests: [{ method: 'POST', path: '/bare', body, headers: { 'content-type': 'application/json' } }],
    });

    return {
      name: 'webhooks',
      lines: [
        `Webhook fan-out: ${fmt(rowCount ?? 0)} \`invitation.accepted\` events × ${HOOKS} subscriptions = ${fmt(delivered)} signed deliveries to one local receiver, from the events' commit to the last delivery marked succeeded (DESIGN budget: ≥ 1,000 deliveries/s).`,
        '',
        "| what | deliveries/s | ratio to the receiver's bare rate | total | seconds | not succeeded |",
        '|---|---|---|---|---|---|',
        `| Onramp fan-out (dispatcher + deliver-webhooks batches, each delivery signed and logged) | ${fmt(rate)} | ${fmt((100 * rate) / bare.requests.average, 1)}% | ${fmt(received)} received | ${fmt(seconds, 1)} | ${failed} |`,
        `| the receiver's bare rate (autocannon, 50 connections, 5 s) | ${fmt(bare.requests.average)} | 100% | ${fmt(bare.requests.total)} | 5 | ${bare.non2xx} |`,
        '',
        `Every received delivery carried an Onramp-Signature: ${receiver.signed() >= received ? 'yes' : `no (${receiver.signed()} of ${received})`}.`,
      ],
      goals: [
        {
          goal: `Webhook fan-out: ≥ 1,000 signed deliveries/s to a local receiver with ${HOOKS} subscriptions`,
          measured: `${fmt(rate)} deliveries/s = ${fmt((100 * rate) / bare.requests.average, 1)}% of the receiver's bare rate (${fmt(bare.requests.average)}/s); ${failed} not succeeded`,
          met: rate >= 1000 && failed === 0 && receiver.signed() >= received,
          why: `${fmt(delivered)} deliveries in ${fmt(seconds, 1)} s, ${failed} not succeeded, ${receiver.signed()} of ${received} signed.`,
        },
      ],
    };
  } finally {
    await pool.end();
    await receiver.stop();
    await onramp.stop();
  }
};

async function succeeded(pool: ReturnType<typeof createPool>): Promise<number> {
  return Number((await pool.query(`select count(*) from webhook_deliveries where status = 'succeeded'`)).rows[0].count);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
