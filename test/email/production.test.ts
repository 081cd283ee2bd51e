import { startStack, type TestStack } from '../support/stack.js';
import { call } from '../support/http.js';

let stack: TestStack;

beforeAll(async () => {
  // startStack already sets APP_SECRET and PUBLIC_BASE_URL, which production requires.
  stack = await startStack({ worker: false, smtp: false, env: { NODE_ENV: 'production' } });
});
afterAll(async () => {
  await stack.close();
});

describe('dev mailbox in production', () => {
  it.each([
    ['/dev/mailbox'],
    ['/dev/mailbox/20260101T000000000Z-00000000-0000-0000-0000-000000000000'],
    ['/dev/mailbox/20260101T000000000Z-00000000-0000-0000-0000-000000000000/html'],
  ])('answers %s with a 404 problem', async (path) => {
    expect(stack.config.isProduction).toBe(true);
    const res = await call(stack.url, 'GET', path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('not_found');
  });

  it('is not linked from the home page', async () => {
    const res = await call(stack.url, 'GET', '/');
    expect(res.text).not.toContain('/dev/mailbox');
  });
});
