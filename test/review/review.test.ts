import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { firmUsersSql, issueApiKey, redactPaths } from '@onramp/core';
import { startApi, type RunningApi } from '@onramp/connector-api';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { until as waitUntil } from '../support/receiver.js';

/** Defects found in the pre-release review; each test failed before its fix. */

let stack: TestStack;
let owner: TestAgency;
let memberKey: string;

beforeAll(async () => {
  stack = await startStack({
    smtp: false,
    // One attempt per delivery within this file: a retry would be ten minutes away.
    env: { WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_BACKOFF_MS: '600000' },
  });
  owner = await createTestAgency(stack, 'Review');
  const member = await firmUsersSql.insertFirmUser(stack.deps.pool, {
    agencyId: owner.agencyId,
    email: `member-${randomBytes(4).toString('hex')}@agency.test`,
    name: 'Mo Member',
    role: 'member',
  });
  memberKey = (await issueApiKey(stack.deps.pool, { agencyId: owner.agencyId, userId: member.id })).key;
});
afterAll(async () => {
  await stack.close();
});

// Deliveries here are quick: give up sooner than the shared default.
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000) => waitUntil(what, probe, timeoutMs);

const unique = () => randomBytes(5).toString('hex');

async function newProject(name = `P ${unique()}`): Promise<string> {
  const res = await client(stack.url, owner.key).post('/v1/projects', { name });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** A pending invitation (no email) and its live link token. */
async function invite(projectId: string, email: string): Promise<{ id: string; token: string }> {
  const asOwner = client(stack.url, owner.key);
  const created = await asOwner.post(`/v1/projects/${projectId}/invitations`, { email, first_name: 'Ada', last_name: 'Lovelace', send_email: false });
  expect(created.status).toBe(201);
  const link = await asOwner.get(`/v1/invitations/${created.body.id}/link`);
  expect(link.status).toBe(200);
  return { id: created.body.id, token: new URL(link.body.url).pathname.split('/').pop()! };
}

describe('request logs never carry link tokens', () => {
  let logged: string[];
  let api: RunningApi;

  beforeAll(async () => {
    logged = [];
    const logger = pino({ level: 'info', redact: { paths: redactPaths, censor: '[redacted]' } }, { write: (line: string) => logged.push(line) });
    api = await startApi({ ...stack.deps, logger }, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await api.stop();
  });

  it('masks /invite/<token> and /reset/<token> in the request log lines', async () => {
    const { token } = await invite(await newProject(), `log-${unique()}@client.test`);
    const resetToken = randomBytes(32).toString('base64url');
    expect((await fetch(`${api.url}/invite/${token}`)).status).toBe(200);
    const accept = await fetch(`${api.url}/invite/${token}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=wrong',
      redirect: 'manual',
    });
    expect(accept.status).toBe(403);
    expect((await fetch(`${api.url}/reset/${resetToken}`)).status).toBe(410);

    const requests = await until('three request log lines', async () => {
      const lines = logged.filter((l) => l.includes('"req"'));
      return lines.length >= 3 ? lines : null;
    });
    const all = logged.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(resetToken);
    expect(requests.some((l) => l.includes('/invite/[redacted]/accept'))).toBe(true);
    expect(requests.some((l) => l.includes('/reset/[redacted]'))).toBe(true);
  });
});

describe('the accept page is not a way around the sign-in rate limit', () => {
  it('counts wrong passwords entered on an invitation link like sign-in attempts', async () => {
    const email = `guess-${unique()}@client.test`;
    const first = await invite(await newProject(), email);
    const second = await invite(await newProject(), email);
    const accept = (token: string, body: Record<string, string>) =>
      fetch(`${stack.url}/invite/${token}/accept`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // The first link sets the password; the second, still pending, now asks for it.
    expect((await accept(first.token, { new_password: 'the right passphrase' })).status).toBe(200);

    const statuses: number[] = [];
    // 10 tries per 15-minute window; 25 allows for the window turning over once during the loop.
    for (let i = 0; i < 25 && !statuses.includes(429); i++) {
      statuses.push((await accept(second.token, { password: `wrong guess ${i}` })).status);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 422 && s !== 429)).toEqual([]);
    // Throttled means throttled: the right password is not checked either, and the invitation stays pending.
    expect((await accept(second.token, { password: 'the right passphrase' })).status).toBe(429);
    const inv = await client(stack.url, owner.key).get(`/v1/invitations/${second.id}`);
    expect(inv.body.status).toBe('pending');
  });
});

describe('members read; writes need an owner or admin', () => {
  it('refuses a member key on imports and hooks, and still lets it read', async () => {
    const asMember = client(stack.url, memberKey);
    const asOwner = client(stack.url, owner.key);
    const csv = `project_name,first_name,last_name,email\nMember import,Eve,Member,eve-${unique()}@client.test\n`;
    const upload = await fetch(`${stack.url}/v1/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${memberKey}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(upload.status).toBe(403);
    expect(((await upload.json()) as { code: string }).code).toBe('forbidden');
    const { rows } = await stack.deps.pool.query('select count(*)::int as n from imports where agency_id = $1', [owner.agencyId]);
    expect(rows[0].n).toBe(0);

    const ownerImport = await fetch(`${stack.url}/v1/imports?dry_run=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(ownerImport.status).toBe(202);
    const importId = ((await ownerImport.json()) as { id: string }).id;
    const cancel = await asMember.post(`/v1/imports/${importId}/cancel`);
    expect(cancel.status).toBe(403);
    expect((await asMember.get(`/v1/imports/${importId}`)).status).toBe(200);

    const hook = await asMember.post('/v1/hooks', { target_url: 'http://127.0.0.1:9/hook', event: 'invitation.accepted' });
    expect(hook.status).toBe(403);
    const ownersHook = await asOwner.post('/v1/hooks', { target_url: 'http://127.0.0.1:9/hook', event: 'invitation.accepted' });
    expect(ownersHook.status).toBe(201);
    expect((await asMember.delete(`/v1/hooks/${ownersHook.body.id}`)).status).toBe(403);
    const hooks = await asOwner.get('/v1/hooks');
    expect(hooks.body.data.map((h: { id: string }) => h.id)).toContain(ownersHook.body.id);
    expect((await asMember.get('/v1/hooks')).status).toBe(200);
    expect((await asMember.get('/v1/feeds/invitation.accepted')).status).toBe(200);
    expect((await asOwner.delete(`/v1/hooks/${ownersHook.body.id}`)).status).toBe(204);
  });
});

describe('webhook deliveries never read the response body', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // Answers 200 at once, then streams a body that never ends.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const timer = setInterval(() => res.write(chunk), 5);
        res.on('close', () => clearInterval(timer));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('counts a 2xx with an endless body as delivered, instead of buffering it until the timeout', async () => {
    const asOwner = client(stack.url, owner.key);
    const hook = await asOwner.post('/v1/hooks', { target_url: `${base}/endless`, event: 'invitation.created' });
    expect(hook.status).toBe(201);
    await invite(await newProject(), `hook-${unique()}@client.test`);
    const delivery = await until('the delivery to settle', async () => {
      const res = await asOwner.get(`/v1/hooks/${hook.body.id}/deliveries`);
      const d = res.body.data?.[0];
      return d && d.attempts.length > 0 ? d : null;
    });
    expect(delivery.attempts[0]).toMatchObject({ status_code: 200, error: null });
    expect(delivery.status).toBe('succeeded');
    await asOwner.delete(`/v1/hooks/${hook.body.id}`);
  });
});
