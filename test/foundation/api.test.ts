import { revokeApiKey, issueApiKey } from '@onramp/core';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { call, client } from '../support/http.js';
import { until } from '../support/receiver.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

describe('GET /v1/me', () => {
  it('names the agency and firm user the key belongs to', async () => {
    const res = await client(stack.url, a.key).get('/v1/me');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      agency: { id: a.agencyId, name: expect.stringMatching(/^Agency A /) },
      user: { id: a.userId, email: a.email, name: expect.any(String), role: 'owner' },
    });
  });

  it("answers each agency's key with that agency only", async () => {
    const res = await client(stack.url, b.key).get('/v1/me');
    expect(res.body.agency.id).toBe(b.agencyId);
    expect(res.body.agency.id).not.toBe(a.agencyId);
  });
});

describe('API key authentication', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no Authorization header', {}, /Bearer/],
    ['a Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, /Bearer <key>/],
    ['a malformed key', { authorization: 'Bearer not-a-key' }, /malformed/],
    ['an unknown key', { authorization: `Bearer onr_abcdefghij_${'A'.repeat(43)}` }, /not valid/],
  ];
  it.each(cases)('rejects %s with 401 problem+json', async (_name, headers, detail) => {
    const res = await call(stack.url, 'GET', '/v1/me', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'unauthorized', title: 'Unauthorized' });
    expect(res.body.detail).toMatch(detail);
  });

  it('rejects a key whose secret part is wrong even with a real prefix', async () => {
    const prefix = a.key.split('_')[1]!;
    const res = await call(stack.url, 'GET', '/v1/me', { headers: { authorization: `Bearer onr_${prefix}_${'B'.repeat(43)}` } });
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/not valid/);
  });

  it('rejects a revoked key, and only that key', async () => {
    const extra = await issueApiKey(stack.deps.pool, { agencyId: a.agencyId, userId: a.userId, name: 'to revoke' });
    expect((await client(stack.url, extra.key).get('/v1/me')).status).toBe(200);
    // Revoked as the CLI does, outside the API's process: the API forgets the key it cached on the database's
    // notice (or after API_KEY_CACHE_SECONDS), not before this call returns (test/admin/apiKeyCache.test.ts).
    await revokeApiKey(stack.deps.pool, extra.prefix);
    const res = await until(
      'the API to refuse the revoked key',
      async () => {
        const r = await client(stack.url, extra.key).get('/v1/me');
        return r.status !== 200 && r;
      },
      10_000,
    );
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/revoked/);
    expect((await client(stack.url, a.key).get('/v1/me')).status).toBe(200);
  });

  it('records last_used_at off the request path (touch-api-key job)', async () => {
    const fresh = await issueApiKey(stack.deps.pool, { agencyId: b.agencyId, userId: b.userId });
    await client(stack.url, fresh.key).get('/v1/me');
    let lastUsed: Date | null = null;
    for (let i = 0; i < 50 && !lastUsed; i++) {
      const { rows } = await stack.deps.pool.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where id = $1', [fresh.id]);
      lastUsed = rows[0]!.last_used_at;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(lastUsed).toBeInstanceOf(Date);
    expect(Math.abs(lastUsed!.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('never writes the key into the logs', async () => {
    const { createLogger } = await import('@onramp/core');
    const lines: string[] = [];
    const { Writable } = await import('node:stream');
    const pino = (await import('pino')).pino;
    const logger = pino(
      { redact: { paths: (await import('@onramp/core')).redactPaths, censor: '[redacted]' } },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    logger.info({ req: { headers: { authorization: `Bearer ${a.key}` } }, apiKey: a.key }, 'request');
    expect(createLogger).toBeDefined();
    expect(lines.join('')).not.toContain(a.key);
    expect(lines.join('')).toContain('[redacted]');
  });
});

describe('problem+json for every error class', () => {
  it('404 for an unknown route', async () => {
    const res = await client(stack.url, a.key).get('/v1/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body).toMatchObject({ code: 'not_found', status: 404 });
  });

  it('400 for malformed JSON', async () => {
    const res = await call(stack.url, 'POST', '/v1/me', { key: a.key, rawBody: '{"a":', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'malformed_json' });
  });

  it('413 for a body over the limit', async () => {
    const big = JSON.stringify({ x: 'a'.repeat(stack.config.bodyLimitBytes + 10) });
    const res = await call(stack.url, 'POST', '/v1/me', { key: a.key, rawBody: big, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large' });
  });

  it('carries a request id in the response header, and honours a safe incoming one', async () => {
    const res = await client(stack.url, a.key).get('/v1/me', { 'x-request-id': 'trace-123' });
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    const generated = await client(stack.url, a.key).get('/v1/me', { 'x-request-id': 'bad id with spaces' });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('health, readiness, metrics, OpenAPI', () => {
  it('/healthz and /readyz answer 200 when the database and Redis are up', async () => {
    expect((await call(stack.url, 'GET', '/healthz')).status).toBe(200);
    const ready = await call(stack.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });

  it('/metrics exposes request latency by route and status, and queue depths', async () => {
    await client(stack.url, a.key).get('/v1/me');
    const res = await call(stack.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/onramp_http_request_duration_seconds_bucket\{[^}]*route="\/v1\/me"[^}]*status="200"/);
    expect(res.text).toMatch(/onramp_queue_jobs\{queue="email",state="waiting"\} \d+/);
  });

  it('/metrics needs the bearer METRICS_TOKEN when one is set', async () => {
    const token = 'metrics-token-of-at-least-16';
    const guarded = await startStack({ worker: false, smtp: false, env: { METRICS_TOKEN: token } });
    try {
      for (const authorization of [undefined, 'Bearer wrong-token-of-some-length', `Basic ${token}`, `Bearer ${token}x`, a.key]) {
        const res = await call(guarded.url, 'GET', '/metrics', authorization ? { headers: { authorization } } : {});
        expect(res.status).toBe(401);
        expect(res.headers.get('content-type')).toMatch(/problem\+json/);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        expect(res.body.code).toBe('unauthorized');
        expect(res.text).not.toContain('onramp_http_request_duration_seconds');
      }
      const ok = await call(guarded.url, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.text).toMatch(/onramp_queue_jobs\{queue="email",state="waiting"\} \d+/);
      // Health checks stay open: load balancers call them without credentials.
      expect((await call(guarded.url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('serves an OpenAPI 3.1 document that describes /v1/me', async () => {
    const res = await call(stack.url, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.paths['/v1/me'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('agency');
  });
});
