import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { z } from 'zod';
import { v1Routes } from '../../connector-api/src/routes/index.js';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { call } from '../support/http.js';

/**
 * The API fuzzed from its own OpenAPI document: for every operation, requests generated from the
 * documented schemas (fast-check arbitraries built from the JSON Schema), and mutated ones (wrong types,
 * missing and extra fields, huge and control-character strings, malformed JSON and encodings, wrong content
 * types, foreign and malformed ids, bad cursors and limits), with a valid key, a bad key and none.
 *
 * Properties of every answer:
 *  - never a 5xx;
 *  - a 4xx is problem+json with a `code` and `status` equal to the HTTP status, and is documented;
 *  - no 2xx without a valid key;
 *  - nothing of another agency (its unique names and emails never appear in an answer to this agency);
 *  - a 2xx body parses with the route's response schema (the one the document is generated from).
 *
 * Bounded: RUNS_PER_OPERATION requests per operation (about 40 operations), a time limit per operation,
 * and no shrinking (a failure reports its generated request and the seed to replay it with FUZZ_SEED).
 */
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 14);
const TIME_PER_OPERATION_MS = 2_000;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  default?: unknown;
};
type Parameter = { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema };
type Operation = {
  method: string;
  path: string;
  parameters: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
  secured: boolean;
};

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;
let operations: Operation[];
const ids: Record<'A' | 'B', Record<string, string[]>> = { A: {}, B: {} };
/** Strings only agency B's data contains: none may appear in an answer to agency A. */
const secretsOfB: string[] = [];

/** Valid-looking values from a JSON Schema (the document's own), as fast-check arbitraries. */
function fromSchema(s: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 4) return fc.jsonValue({ maxDepth: 1 });
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.const !== undefined) return fc.constant(s.const);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((x) => fromSchema(x, depth + 1)));
  if (Array.isArray(s.type)) return fc.oneof(...s.type.map((t) => fromSchema({ ...s, type: t }, depth + 1)));
  switch (s.type) {
    case 'string': {
      const maxLength = Math.min(s.maxLength ?? 40, 40);
      if (s.format === 'uuid') return fc.uuid();
      if (s.format === 'email') return fc.emailAddress().filter((e) => e.length <= (s.maxLength ?? 320));
      if (s.format === 'uri') return fc.constantFrom('https://example.com/hook', 'https://hooks.zapier.com/x/1');
      if (s.format === 'date-time')
        return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      return fc.string({ minLength: Math.min(s.minLength ?? 0, maxLength), maxLength });
    }
    case 'integer':
      return fc.integer({ min: s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -5), max: s.maximum ?? 1000 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1000, max: s.maximum ?? 1000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(s.items, depth + 1), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 3, 3) });
    case 'object': {
      const props = Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, fromSchema(v, depth + 1)]));
      return fc.record(props, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * encodeURIComponent that does not throw on a lone surrogate (which `unit: 'binary'` strings contain): it goes
 * as its three WTF-8 bytes (`\ud800` as %ED%A0%80), malformed UTF-8 that a client can send and the API must
 * answer without a 5xx.
 */
const encode = (v: string): string =>
  v
    .split(/([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/)
    .map((part, i) => {
      if (i % 2 === 0) return encodeURIComponent(part);
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    })
    .join('');

/** Strings that have broken servers: huge, control characters, NUL, lone surrogates, injection-looking. */
const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\u202e', "'; drop table clients; --", '%00', '../../etc/passwd', ' ', ''),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => 'x'.repeat(n)),
);
const wrongType = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), fc.double());

/** A valid body, or one mutated in one way. */
function bodyArbitrary(schema: JsonSchema): fc.Arbitrary<unknown> {
  const valid = fromSchema(schema);
  const props = Object.keys(schema.properties ?? {});
  const mutated: Array<fc.Arbitrary<unknown>> = [fc.jsonValue({ maxDepth: 3 }), wrongType];
  if (props.length) {
    const field = fc.constantFrom(...props);
    mutated.push(
      fc.tuple(valid, field, wrongType).map(([v, f, w]) => ({ ...(v as object), [f]: w })),
      fc.tuple(valid, field, nastyString).map(([v, f, w]) => ({ ...(v as object), [f]: w })),
      fc.tuple(valid, field).map(([v, f]) => {
        const copy = { ...(v as Record<string, unknown>) };
        delete copy[f];
        return copy;
      }),
      fc.tuple(valid, fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })).map(([v, k, x]) => ({ ...(v as object), [`x_${k}`]: x })),
    );
  }
  return fc.oneof({ arbitrary: valid, weight: 3 }, ...mutated.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

/** Raw bodies no JSON schema describes: malformed JSON, wrong encodings, wrong content types. */
const rawBody = fc.oneof(
  fc.constantFrom('{', '{"a":', '[1,]', 'nul', '{"a":1}}', '"just a string"', '123', '[]', '{}', '\u0000'),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc
    .uint8Array({ maxLength: 40 })
    .map((bytes) => Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), Buffer.from(bytes), Buffer.from('"}')])),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin-9',
  'text/plain',
  'application/xml',
  'multipart/form-data',
  'application/x-www-form-urlencoded',
  'application/merge-patch+json',
);

const KIND_BY_SEGMENT: Record<string, string> = {
  projects: 'project',
  clients: 'client',
  members: 'client',
  invitations: 'invitation',
  templates: 'template',
  tasks: 'task',
  hooks: 'hook',
  imports: 'import',
};

function paramArbitrary(op: Operation, p: Parameter): fc.Arbitrary<string> {
  const segments = op.path.split('/');
  const at = segments.indexOf(`{${p.name}}`);
  const kind = KIND_BY_SEGMENT[segments[at - 1] ?? ''] ?? 'project';
  const own = ids.A[kind] ?? [];
  const foreign = ids.B[kind] ?? [];
  const options: Array<fc.Arbitrary<string>> = [
    fc.uuid(),
    fc.constantFrom(
      'not-an-id',
      '0',
      '-1',
      '00000000-0000-0000-0000-000000000000',
      'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
      '%zz',
      '%',
      '%FF%FE',
      '%C0%AF',
      '%00',
      '...',
      'x'.repeat(5000),
    ),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).map(encode),
  ];
  if (p.schema.enum) options.push(fc.constantFrom(...(p.schema.enum as string[])));
  if (foreign.length) options.push(fc.constantFrom(...foreign));
  const weighted = options.map((arbitrary) => ({ arbitrary, weight: 1 }));
  if (own.length) weighted.push({ arbitrary: fc.constantFrom(...own), weight: 4 });
  return fc.oneof(...weighted);
}

function queryArbitrary(params: Parameter[]): fc.Arbitrary<Array<[string, string]>> {
  const query = params.filter((p) => p.in === 'query');
  const valid = fc
    .tuple(
      ...query.map((p) =>
        fc.option(
          fromSchema(p.schema).map((v) => [p.name, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]),
          { nil: undefined },
        ),
      ),
    )
    .map((pairs) => pairs.filter((x): x is [string, string] => x !== undefined));
  const names = query.map((p) => p.name);
  const bad: Array<fc.Arbitrary<Array<[string, string]>>> = [
    fc.tuple(fc.constantFrom('bogus', 'status', 'Limit', 'cursor[]', '__proto__', 'constructor'), fc.string({ maxLength: 10 })).map(([k, v]) => [[k, v]]),
  ];
  if (names.length) {
    bad.push(
      fc
        .tuple(fc.constantFrom(...names), fc.oneof(nastyString, fc.constantFrom('-1', '0', '101', '1e9', 'NaN', 'abc', 'eyJzZXEiOiJ4In0', '!!!')))
        .map(([k, v]) => [[k, v]]),
      fc.tuple(fc.constantFrom(...names), fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })).map(([k, v, w]) => [
        [k, v],
        [k, w],
      ]),
    );
  }
  return fc.oneof({ arbitrary: valid, weight: 3 }, ...bad.map((arbitrary) => ({ arbitrary, weight: 1 })));
}

type Generated = {
  auth: 'valid' | 'bad' | 'none' | 'garbage';
  path: string;
  query: Array<[string, string]>;
  body?: { kind: 'json'; value: unknown; type: string } | { kind: 'raw'; value: string | Buffer; type: string };
  idempotencyKey?: string;
};

function requestArbitrary(op: Operation): fc.Arbitrary<Generated> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const path = fc.tuple(...pathParams.map((p) => paramArbitrary(op, p))).map((values) => {
    let out = op.path;
    pathParams.forEach((p, i) => {
      const v = values[i]!;
      // Already-encoded malformed sequences go in as they are; anything else is encoded. A dot segment
      // (`.`, `..`, even as %2E) is resolved by fetch's URL parser before sending, so it is sent as `...`.
      const encoded = /%/.test(v) ? v : encode(v);
      out = out.replace(`{${p.name}}`, /^(\.|%2e){1,2}$/i.test(encoded) ? '...' : encoded);
    });
    return out;
  });
  const auth = fc.oneof(
    { arbitrary: fc.constant('valid' as const), weight: 5 },
    { arbitrary: fc.constantFrom('bad' as const, 'none' as const, 'garbage' as const), weight: 2 },
  );
  const content = op.requestBody?.content ?? {};
  const jsonSchema = content['application/json']?.schema;
  let body: fc.Arbitrary<Generated['body']> = fc.constant(undefined);
  if (jsonSchema) {
    body = fc.oneof(
      { arbitrary: bodyArbitrary(jsonSchema).map((value) => ({ kind: 'json' as const, value, type: 'application/json' })), weight: 6 },
      { arbitrary: fc.tuple(rawBody, contentType).map(([value, type]) => ({ kind: 'raw' as const, value, type })), weight: 2 },
      { arbitrary: fc.constant(undefined), weight: 1 },
    );
  } else if (content['text/csv'] || content['multipart/form-data']) {
    const csv = fc
      .array(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.emailAddress()), { minLength: 1, maxLength: 8 }), { maxLength: 5 })
      .map((rows) => ['project_name,first_name,last_name,email', ...rows.map((r) => r.join(','))].join('\r\n'));
    body = fc.oneof(
      csv.map((value) => ({ kind: 'raw' as const, value, type: 'text/csv' })),
      csv.map((value) => ({
        kind: 'raw' as const,
        value: `--B0\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n${value}\r\n--B0--\r\n`,
        type: 'multipart/form-data; boundary=B0',
      })),
      fc.tuple(rawBody, contentType).map(([value, type]) => ({ kind: 'raw' as const, value, type })),
      fc
        .constantFrom('', '--B0--\r\n', '--B0\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc')
        .map((value) => ({ kind: 'raw' as const, value, type: 'multipart/form-data; boundary=B0' })),
    );
  }
  const idempotencyKey =
    op.method === 'GET'
      ? fc.constant(undefined)
      : fc.option(fc.oneof(fc.uuid(), fc.constantFrom('k', 'x'.repeat(256), 'fixed-key')), { nil: undefined, freq: 2 });
  return fc.record(
    { auth, path, query: queryArbitrary(op.parameters), body, idempotencyKey },
    { requiredKeys: ['auth', 'path', 'query'] },
  ) as fc.Arbitrary<Generated>;
}

async function send(op: Operation, g: Generated) {
  const headers: Record<string, string> = {};
  if (g.auth === 'valid') headers.authorization = `Bearer ${a.key}`;
  if (g.auth === 'bad') headers.authorization = `Bearer onr_${randomBytes(5).toString('hex')}_${randomBytes(24).toString('base64url')}`;
  if (g.auth === 'garbage') headers.authorization = 'Basic Zm9vOmJhcg==';
  if (g.idempotencyKey !== undefined) headers['idempotency-key'] = g.idempotencyKey;
  let body: string | Buffer | undefined;
  if (g.body) {
    headers['content-type'] = g.body.type;
    body = g.body.kind === 'json' ? JSON.stringify(g.body.value) : g.body.value;
  }
  const qs = g.query.length ? `?${g.query.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}` : '';
  return call(stack.url, op.method, `${g.path}${qs}`, { headers, ...(body !== undefined ? { rawBody: body } : {}) });
}

const responseSchemas = new Map<string, Record<number, { schema?: z.ZodType; contentType?: string }>>();

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  a = await createTestAgency(stack, 'Fuzz A');
  b = await createTestAgency(stack, 'Fuzz B');
  for (const [name, agency] of [
    ['A', a],
    ['B', b],
  ] as const) {
    const tag = randomBytes(4).toString('hex');
    const secret = `secret-${name}-${tag}`;
    if (name === 'B') secretsOfB.push(secret, `${secret}@client.test`, `task-${secret}`, `tpl-${secret}`);
    const key = agency.key;
    const project = await call(stack.url, 'POST', '/v1/projects', {
      key,
      body: {
        name: `P ${secret}`,
        external_id: `ext-${secret}`,
        template_name: 'Client onboarding',
        clients: [{ email: `${secret}@client.test`, first_name: 'Se', last_name: 'Cret' }],
      },
    });
    expect(project.status).toBe(201);
    const template = await call(stack.url, 'POST', '/v1/templates', { key, body: { name: `tpl-${secret}`, tasks: [`task-${secret}`] } });
    const hook = await call(stack.url, 'POST', '/v1/hooks', { key, body: { target_url: 'https://example.com/hook', event: 'invitation.accepted' } });
    const upload = await call(stack.url, 'POST', '/v1/imports', {
      key,
      rawBody: `project_name,first_name,last_name,email\r\nImp ${secret},A,B,imp-${secret}@client.test\r\n`,
      headers: { 'content-type': 'text/csv' },
    });
    const invitations = await call(stack.url, 'GET', '/v1/invitations', { key });
    const clients = await call(stack.url, 'GET', '/v1/clients', { key });
    ids[name] = {
      project: [project.body.id],
      task: (project.body.tasks ?? []).map((t: { id: string }) => t.id),
      template: template.status === 201 ? [template.body.id] : [],
      hook: hook.status === 201 ? [hook.body.id] : [],
      import: upload.status === 202 ? [upload.body.id] : [],
      invitation: invitations.body.data.map((i: { id: string }) => i.id),
      client: clients.body.data.map((c: { id: string }) => c.id),
    };
  }
  expect(secretsOfB.length).toBeGreaterThan(0);
  expect(ids.B.invitation!.length).toBeGreaterThan(0);

  const doc = (await call(stack.url, 'GET', '/v1/openapi.json')).body as {
    security: unknown[];
    paths: Record<
      string,
      Record<string, { parameters?: Parameter[]; requestBody?: Operation['requestBody']; responses: Record<string, unknown>; security?: unknown[] }>
    >;
  };
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      parameters: op.parameters ?? [],
      ...(op.requestBody ? { requestBody: op.requestBody } : {}),
      responses: op.responses,
      secured: !(Array.isArray(op.security) && op.security.length === 0),
    })),
  );
  for (const def of v1Routes) {
    responseSchemas.set(`${def.method.toUpperCase()} /v1${def.path.replace(/:(\w+)/g, '{$1}')}`, def.responses);
  }
}, 60_000);

afterAll(async () => {
  await stack.close();
});

it('the document lists every operation, each with its error responses', () => {
  expect(operations.length).toBeGreaterThanOrEqual(40);
  for (const op of operations) {
    expect({ op: `${op.method} ${op.path}`, default: op.responses.default }).toEqual({ op: `${op.method} ${op.path}`, default: undefined });
    for (const status of ['401', '422', '503'])
      expect({ op: `${op.method} ${op.path}`, status, documented: status in op.responses }).toMatchObject({ documented: true });
  }
});

describe('every operation, fuzzed', () => {
  it('no 5xx; problem+json 4xx as documented; no 2xx without a key; nothing of another agency; 2xx as documented', async () => {
    const failures: string[] = [];
    let requests = 0;
    for (const op of operations) {
      const name = `${op.method} ${op.path}`;
      const documented = responseSchemas.get(name) ?? {};
      const result = await fc.check(
        fc.asyncProperty(requestArbitrary(op), async (g) => {
          requests++;
          const res = await send(op, g);
          const where = `${name} -> ${res.status}`;
          if (res.status >= 500) throw new Error(`${where}: a server error: ${res.text.slice(0, 300)}`);
          if (!(String(res.status) in op.responses)) throw new Error(`${where}: status not documented`);
          if (res.status >= 400) {
            if (!/^application\/problem\+json/.test(res.headers.get('content-type') ?? '')) throw new Error(`${where}: not problem+json`);
            if (typeof res.body?.code !== 'string' || res.body.status !== res.status)
              throw new Error(`${where}: problem without code/status: ${res.text.slice(0, 200)}`);
          }
          if (res.status < 300 && g.auth !== 'valid' && op.secured) throw new Error(`${where}: a 2xx with a ${g.auth} key`);
          const leaked = secretsOfB.find((s) => res.text.includes(s));
          if (leaked) throw new Error(`${where}: answered agency B's data (${leaked}) to agency A`);
          const spec = documented[res.status];
          if (res.status < 300 && spec?.schema && !(spec.contentType ?? 'application/json').includes('csv') && res.text) {
            const parsed = spec.schema.safeParse(res.body);
            if (!parsed.success) throw new Error(`${where}: body does not match the documented schema: ${parsed.error.message.slice(0, 300)}`);
          }
        }),
        { numRuns: RUNS_PER_OPERATION, seed: SEED, endOnFailure: true, interruptAfterTimeLimit: TIME_PER_OPERATION_MS },
      );
      if (result.failed)
        failures.push(
          `${name} (seed ${SEED}): ${String((result.errorInstance as Error | undefined)?.message ?? 'property failed')}\n  request: ${fc
            .stringify(result.counterexample)
            .replace(/(.)\1{60,}/g, (m, c: string) => `${c}x${m.length}`)
            .slice(0, 1500)}`,
        );
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThanOrEqual(operations.length * 3);
  }, 120_000);
});
