import { startStack, type TestStack } from '../support/stack.js';
import { call } from '../support/http.js';

/**
 * Every HTML response gets its security headers from one place (connector-api/src/http/securityHeaders.ts):
 * walk every kind of page, signed out, and check the whole set on each.
 */
const PAGES = [
  '/',
  '/dev/mailbox',
  '/login',
  '/forgot',
  '/console/login',
  `/invite/${'x'.repeat(43)}`,
  `/reset/${'x'.repeat(43)}`,
  `/signin/${'x'.repeat(43)}`,
  '/a/no-such-agency/login',
  '/a/no-such-agency/forgot',
];

function expectBaseHeaders(res: { headers: Headers }, path: string): void {
  const h = res.headers;
  const csp = h.get('content-security-policy') ?? '';
  expect({ path, csp }).toEqual({ path, csp: expect.stringMatching(/^default-src 'none'; /) });
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('x-frame-options')).toBe('DENY');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('cross-origin-opener-policy')).toBe('same-origin');
  expect(h.get('cross-origin-resource-policy')).toBe('same-origin');
  expect(h.get('x-powered-by')).toBeNull();
}

describe('security headers, development', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, smtp: false });
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(PAGES)('%s carries every header, and no HSTS on http', async (path) => {
    const res = await call(stack.url, 'GET', path);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expectBaseHeaders(res, path);
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('gives JSON and problem responses a policy that loads nothing', async () => {
    for (const path of ['/healthz', '/v1/me', '/no/such/route']) {
      const res = await call(stack.url, 'GET', path);
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves the stylesheets with a content hash in their URL, as CSS, cacheable', async () => {
    const page = await call(stack.url, 'GET', '/login');
    // The html tag escapes `=` in attribute values; the browser decodes it.
    const href = /<link rel="stylesheet" href="([^"]+)">/.exec(page.text)![1]!.replace(/&#61;/g, '=');
    expect(href).toMatch(/^\/static\/pages\.css\?v=[0-9a-f]{12}$/);
    const css = await call(stack.url, 'GET', href);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(css.text).toContain('--brand');
    expect((await call(stack.url, 'GET', '/static/../package.json')).status).toBe(404);
    expect((await call(stack.url, 'GET', '/static/nope.css')).status).toBe(404);
  });
});

describe('security headers, production over https', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ worker: false, smtp: false, env: { NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://portal.example.test' } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it.each(PAGES.filter((p) => p !== '/dev/mailbox'))('%s adds Strict-Transport-Security', async (path) => {
    const res = await call(stack.url, 'GET', path);
    expectBaseHeaders(res, path);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});
