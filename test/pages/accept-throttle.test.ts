// The accept page is not a way around the sign-in rate limit.
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { createProjectViaApi, inviteWithLink } from '../support/fixtures.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let owner: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false });
  owner = await createTestAgency(stack, 'Throttle');
});
afterAll(async () => {
  await stack.close();
});

const newProject = () => createProjectViaApi(stack.url, owner.key);
const invite = (projectId: string, email: string) => inviteWithLink(stack.url, owner.key, projectId, email);

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
