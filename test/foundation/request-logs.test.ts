// Request logs never carry the link tokens of invitation and password-reset pages.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { redactPaths } from '@onramp/core';
import { startApi, type RunningApi } from '@onramp/connector-api';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { createProjectViaApi, inviteWithLink } from '../support/fixtures.js';
import { until } from '../support/receiver.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let owner: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false });
  owner = await createTestAgency(stack, 'Logs');
});
afterAll(async () => {
  await stack.close();
});

const newProject = () => createProjectViaApi(stack.url, owner.key);
const invite = (projectId: string, email: string) => inviteWithLink(stack.url, owner.key, projectId, email);

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
