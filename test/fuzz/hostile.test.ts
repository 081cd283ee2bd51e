import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { call } from '../support/http.js';

/**
 * The inputs that answered 500 once (issue 12), each over every operation it applies to. The fuzz suite
 * (api.fuzz.test.ts) explores around them; these are the named cases, kept exact.
 */
let stack: TestStack;
let a: TestAgency;
type Op = { method: string; path: string; op: { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown; security?: unknown[] } };
let ops: Op[];

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  a = await createTestAgency(stack, 'Hostile');
  const doc = (await call(stack.url, 'GET', '/v1/openapi.json')).body as { paths: Record<string, Record<string, Op['op']>> };
  ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
});
afterAll(async () => {
  await stack.close();
});

function expectProblem(res: { status: number; headers: Headers; body: unknown }, status: number | number[], what: string) {
  const allowed = Array.isArray(status) ? status : [status];
  expect({ what, status: allowed.includes(res.status) ? 'ok' : res.status }).toEqual({ what, status: 'ok' });
  expect({ what, type: res.headers.get('content-type') }).toEqual({ what, type: expect.stringMatching(/^application\/problem\+json/) });
  expect(res.body).toMatchObject({ status: res.status, code: expect.any(String), title: expect.any(String) });
}

describe('malformed percent-encoding in a path parameter', () => {
  it.each(['%zz', '%', '%FF%FE', '%C0%AF', '%E0%80', 'a%2', '%00'])(
    '%s on every operation with a path parameter, with and without a key: 404, never 500',
    async (bad) => {
      const withParams = ops.filter((o) => /\{\w+\}/.test(o.path));
      expect(withParams.length).toBeGreaterThan(15);
      for (const o of withParams) {
        const path = o.path.replace(/\{\w+\}/g, bad);
        for (const key of [a.key, undefined]) {
          const res = await call(stack.url, o.method, path, key ? { key } : {});
          // Without a key, a path that decodes fine is refused for the key (401); one that does not names nothing (404).
          expectProblem(res, key ? [404] : [401, 404], `${o.method} ${path} ${key ? 'key' : 'no key'}`);
        }
      }
    },
  );
});

describe('NUL characters', () => {
  it('in a query parameter: 422 naming it', async () => {
    const res = await call(stack.url, 'GET', '/v1/clients?email=a%00b@x.test', { key: a.key });
    expectProblem(res, 422, 'query');
    expect(res.body.errors).toEqual([{ field: 'email', message: expect.stringMatching(/NUL/) }]);
  });

  it('in a JSON body field, nested or not, and in a key: 422 naming the field', async () => {
    const project = await call(stack.url, 'POST', '/v1/projects', { key: a.key, body: { name: 'Nul\u0000Project' } });
    expectProblem(project, 422, 'body');
    expect(project.body.errors).toEqual([{ field: 'name', message: expect.stringMatching(/NUL/) }]);

    const nested = await call(stack.url, 'POST', '/v1/projects', {
      key: a.key,
      body: {
        name: 'Ok',
        clients: [
          { email: 'ok@x.test', first_name: 'A', last_name: 'B' },
          { email: 'b\u0000@x.test', first_name: 'A', last_name: 'B' },
        ],
      },
    });
    expectProblem(nested, 422, 'nested');
    expect(nested.body.errors).toEqual([{ field: 'clients[1].email', message: expect.stringMatching(/NUL/) }]);

    const key = await call(stack.url, 'POST', '/v1/projects', { key: a.key, body: { name: 'Ok', 'x\u0000': 1 } });
    expectProblem(key, 422, 'key');
    expect(key.body.errors[0].field).toBe('x\\u0000');
  });

  it('in a webhook target URL: 422 naming target_url, and no hook stored', async () => {
    const res = await call(stack.url, 'POST', '/v1/hooks', {
      key: a.key,
      body: { target_url: 'https://example.com/\u0000hook', event: 'invitation.accepted' },
    });
    expectProblem(res, 422, 'hook');
    expect(res.body.errors).toEqual([{ field: 'target_url', message: expect.stringMatching(/NUL/) }]);
    expect((await call(stack.url, 'GET', '/v1/hooks', { key: a.key })).body.data).toEqual([]);
  });

  it('in a path parameter: 404', async () => {
    const res = await call(stack.url, 'GET', '/v1/clients/%00', { key: a.key });
    expectProblem(res, 404, 'param');
  });
});

describe('a JSON body nested 100,000 levels deep', () => {
  it('with an Idempotency-Key: 400 problem+json naming the nesting, on every JSON write', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const writes = ops.filter((o) => o.method !== 'GET' && o.op.requestBody && !o.path.startsWith('/v1/imports'));
    expect(writes.length).toBeGreaterThan(5);
    for (const o of writes) {
      for (const body of [deep, deepObject]) {
        const res = await call(stack.url, o.method, o.path.replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000'), {
          key: a.key,
          rawBody: body,
          headers: { 'content-type': 'application/json', 'idempotency-key': `deep-${o.method}-${o.path}-${body.length}-${body[0]}` },
        });
        expectProblem(res, [400, 404], `${o.method} ${o.path}`);
        if (res.status === 400) expect(res.body.code).toBe('bad_request');
      }
    }
    // The canonical case from the issue.
    const res = await call(stack.url, 'POST', '/v1/projects', {
      key: a.key,
      rawBody: deepObject,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-canonical' },
    });
    expectProblem(res, 400, 'projects');
    expect(res.body.errors).toEqual([{ field: '(body)', message: expect.stringMatching(/nested deeper than/) }]);
  });
});

describe('POST /v1/imports with a broken multipart/form-data body', () => {
  it.each([
    ['no parts at all', 'multipart/form-data; boundary=XyZ', ''],
    ['only the closing boundary', 'multipart/form-data; boundary=XyZ', '--XyZ--\r\n'],
    ['no boundary parameter', 'multipart/form-data', 'whatever'],
    [
      'a part cut short',
      'multipart/form-data; boundary=XyZ',
      '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nproject_name,email\r\n',
    ],
    ['a malformed part header', 'multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition\r\n\r\nx\r\n--XyZ--\r\n'],
  ])('%s: 4xx problem+json, never 500', async (_what, contentType, body) => {
    const res = await call(stack.url, 'POST', '/v1/imports', { key: a.key, rawBody: body, headers: { 'content-type': contentType } });
    expectProblem(res, [400, 422], _what);
  });
});

describe('Idempotency-Key replay of an error', () => {
  it('answers the very bytes of the first answer: content type, instance and request_id included', async () => {
    const path = '/v1/projects/00000000-0000-4000-8000-000000000000/invitations';
    const send = () =>
      fetch(`${stack.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json', 'idempotency-key': 'replay-error-1' },
        body: JSON.stringify({ email: 'r@x.test', first_name: 'R', last_name: 'E' }),
      });
    const first = await send();
    const firstText = await first.text();
    expect(first.status).toBe(404);
    expect(JSON.parse(firstText)).toMatchObject({ code: 'not_found', instance: path, request_id: first.headers.get('x-request-id') });
    const again = await send();
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
  });

  it('a replayed success is byte-for-byte the first answer too', async () => {
    const send = () =>
      fetch(`${stack.url}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json', 'idempotency-key': 'replay-ok-1' },
        body: JSON.stringify({ name: 'Replayed', external_id: 'replay-ok' }),
      });
    const first = await send();
    const firstText = await first.text();
    expect(first.status).toBe(201);
    const again = await send();
    expect(again.status).toBe(201);
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await again.text()).toBe(firstText);
  });
});

describe('query parameters', () => {
  it('an unknown parameter answers 422 naming it, on every operation', async () => {
    for (const o of ops) {
      const path = o.path.replace('{event}', 'invitation.accepted').replace(/\{\w+\}/g, '00000000-0000-4000-8000-000000000000');
      const res = await call(stack.url, o.method, `${path}?bogus_param=1`, { key: a.key, ...(o.method === 'GET' ? {} : { body: {} }) });
      if (o.path === '/v1/openapi.json') continue;
      expectProblem(res, 422, `${o.method} ${o.path}`);
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'bogus_param' })]));
    }
  });

  it('a filter with a bad value answers 422 naming it (clients and invitations alike)', async () => {
    for (const path of [
      '/v1/clients?status=bogus',
      '/v1/invitations?status=bogus',
      '/v1/clients?limit=0',
      '/v1/projects?limit=abc',
      '/v1/events?after=zz',
      '/v1/imports?cursor=%ff%fe',
    ]) {
      const res = await call(stack.url, 'GET', path, { key: a.key });
      expectProblem(res, 422, path);
      const name = path.split('?')[1]!.split('=')[0];
      expect({ path, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({ path, fields: expect.arrayContaining([name]) });
    }
  });

  it('an upload refused for its query (before its body is read) still gets its answer, not a reset', async () => {
    const big = `project_name,first_name,last_name,email\r\n${'P,A,B,a@x.test\r\n'.repeat(200_000)}`;
    const res = await call(stack.url, 'POST', '/v1/imports?bogus=1', { key: a.key, rawBody: big, headers: { 'content-type': 'text/csv' } });
    expectProblem(res, 422, 'upload');
    expect(res.body.errors).toEqual([expect.objectContaining({ field: 'bogus' })]);
  });

  it('a repeated parameter (an array) is refused, not crashed on', async () => {
    const res = await call(stack.url, 'GET', '/v1/clients?limit=1&limit=2', { key: a.key });
    expectProblem(res, 422, 'repeated');
    expect(res.body.errors[0].field).toBe('limit');
  });
});
