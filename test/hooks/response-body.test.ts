// Webhook deliveries never read the response body.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { createProjectViaApi, inviteWithLink } from '../support/fixtures.js';
import { until as waitUntil } from '../support/receiver.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let owner: TestAgency;

beforeAll(async () => {
  stack = await startStack({
    smtp: false,
    // One attempt per delivery within this file: a retry would be ten minutes away.
    env: { WEBHOOK_TIMEOUT_MS: '3000', WEBHOOK_BACKOFF_MS: '600000' },
  });
  owner = await createTestAgency(stack, 'Hooks');
});
afterAll(async () => {
  await stack.close();
});

// Deliveries here are quick: give up sooner than the shared default.
const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000) => waitUntil(what, probe, timeoutMs);

const newProject = () => createProjectViaApi(stack.url, owner.key);
const invite = (projectId: string, email: string) => inviteWithLink(stack.url, owner.key, projectId, email);

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
