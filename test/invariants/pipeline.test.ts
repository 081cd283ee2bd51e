// Invariants that need the whole pipeline (API -> queue -> worker -> SMTP / webhook receiver): links built
// from PUBLIC_BASE_URL whatever the Host header, CSV exports neutralised, job payloads that carry ids only,
// every job safe to run twice, permanent failures visible through the API, and what the database alone
// cannot do with an invitation token.
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Papa from 'papaparse';
import { z } from 'zod';
import { decryptToken, eventCatalog, eventTypes, jobCatalog, openToken, safeEqual, TokenPurpose, type EventType, type JobName } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { agencyFingerprint, expectProblem, send } from './helpers.js';
import { unique } from '../support/unique.js';
import { settledJob } from '../support/jobs.js';
import { until } from '../support/receiver.js';
import { lastSentAgo } from '../support/state.js';

let stack: TestStack;
/** The newest event id before this suite ran: every later row was written by it (or a suite running beside it). */
let eventsBefore = '0';
let receiver: Server;
let receiverUrl = '';
const received: Array<{ path: string; body: string }> = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      // /fail/... answers 400: a permanent failure of the delivery.
      res.writeHead(req.url?.startsWith('/fail/') ? 400 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  stack = await startStack({ env: { WEBHOOK_BACKOFF_MS: '100', WEBHOOK_DISABLE_AFTER_FAILURES: '1', IMPORT_BATCH_SIZE: '10' } });
  eventsBefore = (await stack.deps.pool.query<{ n: string }>('select coalesce(max(id), 0) as n from events')).rows[0]!.n;
});
afterAll(async () => {
  await stack.close();
  await new Promise<void>((r) => receiver.close(() => r()));
});

const HEADER = 'project_name,project_external_id,template,first_name,last_name,email,tasks,message';

/** node:http, so Host and X-Forwarded-* can be anything a client or a proxy sends. */
function hostile(method: string, path: string, key: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const u = new URL(`${stack.url}${path}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method,
        headers: {
          authorization: `Bearer ${key}`,
          host: 'evil.example',
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
          forwarded: 'host=evil.example;proto=https',
          ...(body === undefined ? {} : { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) }),
        },
      },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const urlsIn = (text: string) => [...text.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);

describe('links come from PUBLIC_BASE_URL, never from Host or X-Forwarded-Host', () => {
  it('the emailed invite link, the resent link, the copied link and errors_url', async () => {
    const agency = await createTestAgency(stack, 'Hosts');
    const project = JSON.parse((await hostile('POST', '/v1/projects', agency.key, JSON.stringify({ name: 'Host test' }))).text);
    const email = `host-${unique()}@client.test`;
    const invited = await hostile(
      'POST',
      `/v1/projects/${project.id}/invitations`,
      agency.key,
      JSON.stringify({ email, first_name: 'Hal', last_name: 'Host' }),
    );
    expect(invited.status).toBe(201);
    const inv = JSON.parse(invited.text);
    const mail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const base = stack.config.publicBaseUrl;
    const links = [...urlsIn(mail.parsed.text ?? ''), ...urlsIn(String(mail.parsed.html ?? ''))].filter((u) => u.includes('/invite/'));
    expect(links.length).toBeGreaterThanOrEqual(2);
    for (const link of links) expect(link.startsWith(`${base}/invite/`)).toBe(true);
    expect(mail.raw).not.toContain('evil.example');

    // The resend rotates the link: the new email is built the same way.
    await lastSentAgo(stack.deps.pool, inv.id, '1 hour');
    expect((await hostile('POST', `/v1/invitations/${inv.id}/resend`, agency.key)).status).toBe(200);
    const second = await until('the resent email', async () => stack.smtp!.messages.filter((m) => m.envelopeTo.includes(email))[1]);
    for (const link of urlsIn(second.parsed.text ?? '').filter((u) => u.includes('/invite/'))) expect(link.startsWith(`${base}/invite/`)).toBe(true);
    expect(second.raw).not.toContain('evil.example');

    const copied = JSON.parse((await hostile('GET', `/v1/invitations/${inv.id}/link`, agency.key)).text);
    expect(copied.url.startsWith(`${base}/invite/`)).toBe(true);

    const up = await hostile('POST', '/v1/imports', agency.key, `${HEADER}\nHost test,,,Bad,Row,nope,,\n`, 'text/csv');
    expect(up.status).toBe(202);
    const imp = JSON.parse(up.text);
    expect(imp.errors_url).toBe(`${base}/v1/imports/${imp.id}/errors.csv`);
    const got = await hostile('GET', `/v1/imports/${imp.id}`, agency.key);
    expect(got.text).not.toContain('evil.example');
  });
});

describe('exported CSV is neutralised against formula injection', () => {
  it('errors.csv: every cell that starts with =, +, -, @, tab or CR (values, errors and headers) is prefixed', async () => {
    const agency = await createTestAgency(stack, 'Formulas');
    const rows = [`${HEADER},=HDR()`, '"=1+1",,,"+Ann","-Bee",not-an-email,,"@SUM(A1)",x', '"\t=cmd|\' /C calc\'!A0",,,"\rCR","Plain",also-bad,,"-2+3",y'];
    const res = await send(stack.url, 'POST', '/v1/imports', { key: agency.key, rawBody: `${rows.join('\n')}\n`, headers: { 'content-type': 'text/csv' } });
    expect(res.status).toBe(202);
    await until('the import', async () => {
      const r = await send(stack.url, 'GET', `/v1/imports/${res.body.id}`, { key: agency.key });
      return r.body.status === 'completed' ? r.body : null;
    });
    const file = await send(stack.url, 'GET', `/v1/imports/${res.body.id}/errors.csv`, { key: agency.key });
    expect(file.status).toBe(200);
    const parsed = Papa.parse<string[]>(file.text.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;
    expect(parsed).toHaveLength(3);
    expect(parsed[0]).toContain("'=HDR()");
    const cells = parsed.flat();
    for (const cell of cells) expect({ cell, dangerous: /^[=+\-@\t\r]/.test(cell) }).toEqual({ cell, dangerous: false });
    for (const original of ['=1+1', '+Ann', '-Bee', '@SUM(A1)', "\t=cmd|' /C calc'!A0", '\rCR', '-2+3']) expect(cells).toContain(`'${original}`);
  });
});

describe('job payloads carry ids, not data', () => {
  // A timestamp is not a copy of a row: it is when the key was used, which no row holds yet.
  const allowedNonIds: Partial<Record<JobName, string[]>> = { 'touch-api-key': ['usedAt'] };

  it('every payload schema of the catalog has only id fields (and the documented exceptions)', () => {
    for (const [name, def] of Object.entries(jobCatalog) as Array<[JobName, (typeof jobCatalog)[JobName]]>) {
      const shape = (def.payload as z.ZodObject).shape as Record<string, z.ZodType>;
      for (const [field, schema] of Object.entries(shape)) {
        if (allowedNonIds[name]?.includes(field)) continue;
        expect({ name, field, idName: /Ids?$/.test(field) }).toEqual({ name, field, idName: true });
        // An id is a UUID or a positive integer, nothing that could hold a name, an email or a body; a list of ids (queue-emails) is checked per element.
        const unwrapped = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
        const inner = unwrapped instanceof z.ZodArray && /Ids$/.test(field) ? (unwrapped.element as z.ZodType) : unwrapped;
        expect({ name, field, idType: inner instanceof z.ZodUUID || inner instanceof z.ZodNumber }).toEqual({ name, field, idType: true });
      }
    }
  });
});

describe('every job is safe to run twice; a permanent failure says why through the API', () => {
  let agency: TestAgency;
  let importId: string;
  let hookId: string;
  let invitationId: string;

  beforeAll(async () => {
    agency = await createTestAgency(stack, 'Twice');
    const hook = await send(stack.url, 'POST', '/v1/hooks', {
      key: agency.key,
      body: { target_url: `${receiverUrl}/ok/${unique()}`, event: 'project.created' },
    });
    hookId = hook.body.id;
    const email = `twice-${unique()}@client.test`;
    const created = await send(stack.url, 'POST', '/v1/projects', {
      key: agency.key,
      body: { name: 'Twice', template_name: 'Client onboarding', clients: [{ email, first_name: 'Tw', last_name: 'Ice' }] },
    });
    expect(created.status).toBe(201);
    invitationId = created.body.clients[0].invitation_id;
    const up = await send(stack.url, 'POST', '/v1/imports', {
      key: agency.key,
      rawBody: `${HEADER}\nImported,,Client onboarding,Im,Port,imp-${unique()}@client.test,Welcome call,\nImported,,,Bad,Row,nope,,\n`,
      headers: { 'content-type': 'text/csv' },
    });
    importId = up.body.id;
    // Everything the first runs do: both emails sent, the webhook delivered, the import completed.
    await until('the first runs', async () => {
      const { rows } = await stack.deps.pool.query(
        `select (select count(*) from emails where agency_id = $1 and status = 'sent')::int as sent,
                (select count(*) from emails where agency_id = $1)::int as emails,
                (select count(*) from webhook_deliveries where agency_id = $1 and status = 'succeeded')::int as delivered,
                (select count(*) from events where agency_id = $1 and type = 'project.created')::int as projects,
                (select status from imports where id = $2) as import`,
        [agency.agencyId, importId],
      );
      const r = rows[0];
      // One project from the API, one from the import: each project.created is delivered to the hook.
      return r.emails === 2 && r.sent === 2 && r.projects === 2 && r.delivered === 2 && r.import === 'completed';
    });
  });

  const runAgain = async <N extends JobName>(name: N, payload: z.input<(typeof jobCatalog)[N]['payload']>) => {
    const jobId = `${name}-again-${unique()}`;
    await stack.deps.jobs.enqueue(name, payload as never, { jobId });
    const queue = stack.deps.jobs.queue(jobCatalog[name].queue);
    const job = await settledJob(queue, jobId);
    return { state: job.state, reason: job.failedReason };
  };

  it('send-email, deliver-webhook, deliver-webhooks, fan-out-event, csv-import and touch-api-key run again change nothing and send nothing', async () => {
    // api_keys.last_used_at moves with every API call (touch-api-key); it is checked on its own below.
    const fingerprint = async () => {
      const all = await agencyFingerprint(stack.deps.pool, agency.agencyId);
      delete all.api_keys;
      return all;
    };
    const before = await fingerprint();
    const mails = stack.smtp!.messages.length;
    const posts = received.length;

    const { rows: emails } = await stack.deps.pool.query<{ id: string }>('select id from emails where agency_id = $1', [agency.agencyId]);
    for (const e of emails) expect(await runAgain('send-email', { emailId: e.id })).toEqual({ state: 'completed', reason: undefined });
    const { rows: deliveries } = await stack.deps.pool.query<{ id: string }>('select id from webhook_deliveries where agency_id = $1', [agency.agencyId]);
    for (const d of deliveries) expect((await runAgain('deliver-webhook', { deliveryId: d.id })).state).toBe('completed');
    expect((await runAgain('deliver-webhooks', { batchId: randomUUID(), deliveryIds: deliveries.map((d) => d.id) })).state).toBe('completed');
    expect((await runAgain('fan-out-event', {})).state).toBe('completed');
    expect((await runAgain('csv-import', { importId })).state).toBe('completed');

    expect(await fingerprint()).toEqual(before);
    expect(stack.smtp!.messages.length).toBe(mails);
    expect(received.length).toBe(posts);
    const imp = await send(stack.url, 'GET', `/v1/imports/${importId}`, { key: agency.key });
    expect(imp.body.counts).toMatchObject({ rows: 2, errors: 1, projects_created: 1, clients_invited: 1 });

    const { rows: keys } = await stack.deps.pool.query<{ id: string }>('select id from api_keys where agency_id = $1', [agency.agencyId]);
    const usedAt = new Date(Date.now() + 60_000).toISOString();
    for (let i = 0; i < 2; i++) expect((await runAgain('touch-api-key', { apiKeyId: keys[0]!.id, usedAt })).state).toBe('completed');
    const { rows: touched } = await stack.deps.pool.query<{ last_used_at: Date }>('select last_used_at from api_keys where id = $1', [keys[0]!.id]);
    expect(touched[0]!.last_used_at.toISOString()).toBe(usedAt);
  });

  it('an email the SMTP server refuses for good: delivery_status failed and the reason on GET /v1/invitations/:id', async () => {
    const project = await send(stack.url, 'POST', '/v1/projects', { key: agency.key, body: { name: `Bounce ${unique()}` } });
    const email = `bounce-${unique()}@client.test`;
    stack.smtp!.rejectNext(1, '5.1.1 mailbox does not exist');
    const inv = await send(stack.url, 'POST', `/v1/projects/${project.body.id}/invitations`, {
      key: agency.key,
      body: { email, first_name: 'Bo', last_name: 'Unce' },
    });
    expect(inv.status).toBe(201);
    const shown = await until('the failure', async () => {
      const r = await send(stack.url, 'GET', `/v1/invitations/${inv.body.id}`, { key: agency.key });
      return r.body.delivery_status === 'failed' ? r.body : null;
    });
    expect(shown.delivery_error).toMatch(/550 5\.1\.1 mailbox does not exist/);
    expect(invitationId).not.toBe(inv.body.id);
  });

  it('an import that cannot run: status failed and the reason on GET /v1/imports/:id', async () => {
    // An upload that never finished (no sha256): the job refuses it for good rather than guessing.
    const { rows } = await stack.deps.pool.query<{ id: string }>(
      `insert into imports (agency_id, created_by, filename) values ($1, $2, 'half.csv') returning id`,
      [agency.agencyId, agency.userId],
    );
    const id = rows[0]!.id;
    const job = await runAgain('csv-import', { importId: id });
    expect(job.state).toBe('failed');
    const shown = await send(stack.url, 'GET', `/v1/imports/${id}`, { key: agency.key });
    expect(shown.body).toMatchObject({ status: 'failed', error: expect.stringMatching(/upload did not finish; upload the file again/) });
  });

  it('a webhook the receiver refuses for good: the delivery says why, and the hook is disabled with a reason', async () => {
    const failing = await send(stack.url, 'POST', '/v1/hooks', {
      key: agency.key,
      body: { target_url: `${receiverUrl}/fail/${unique()}`, event: 'project.created' },
    });
    await send(stack.url, 'POST', '/v1/projects', { key: agency.key, body: { name: `Hooked ${unique()}` } });
    const hook = await until('the hook to be disabled', async () => {
      const list = await send(stack.url, 'GET', '/v1/hooks?limit=100', { key: agency.key });
      const h = list.body.data.find((x: { id: string }) => x.id === failing.body.id);
      return h?.status === 'disabled' ? h : null;
    });
    expect(hook.disabled_reason).toMatch(/the receiver answered 400/);
    const log = await send(stack.url, 'GET', `/v1/hooks/${failing.body.id}/deliveries`, { key: agency.key });
    expect(log.body.data[0]).toMatchObject({ status: 'failed', last_status_code: 400, last_error: 'the receiver answered 400' });
    expect(hookId).not.toBe(failing.body.id);
  });
});

describe('invitation tokens: what the database alone cannot do', () => {
  it('a stored hash or seed used as the link is refused, and the stored seed gives the link only with APP_SECRET', async () => {
    const agency = await createTestAgency(stack, 'Tokens');
    const project = await send(stack.url, 'POST', '/v1/projects', { key: agency.key, body: { name: 'Tokens' } });
    const inv = await send(stack.url, 'POST', `/v1/projects/${project.body.id}/invitations`, {
      key: agency.key,
      body: { email: `tok-${unique()}@client.test`, first_name: 'To', last_name: 'Ken', send_email: false },
    });
    const { rows } = await stack.deps.pool.query<{ token_hash: Buffer; token_ciphertext: Buffer }>(
      'select token_hash, token_ciphertext from invitations where id = $1',
      [inv.body.id],
    );
    const stolen = rows[0]!.token_hash.toString('base64url');
    expect(stolen).toHaveLength(43);
    expect((await send(stack.url, 'GET', `/invite/${stolen}`)).status).toBe(410);
    const accept = await send(stack.url, 'POST', `/invite/${stolen}/accept`, { body: { new_password: 'correct horse battery' } });
    expectProblem(accept, 410, 'gone');
    // What is stored to copy the link is a seed: the link is HMAC(seed) under a key only APP_SECRET gives.
    const seed = rows[0]!.token_ciphertext.subarray(1).toString('base64url');
    expect((await send(stack.url, 'GET', `/invite/${seed}`)).status).toBe(410);
    // Where a link is rebuilt (the email, "copy link") it is checked against the stored hash first.
    expect(() => openToken('not the app secret at all, just a guess', rows[0]!.token_ciphertext, rows[0]!.token_hash, TokenPurpose.invitation)).toThrow();
    const guessed = decryptToken('not the app secret at all, just a guess', rows[0]!.token_ciphertext);
    expect((await send(stack.url, 'GET', `/invite/${guessed}`)).status).toBe(410);
    expect((await send(stack.url, 'GET', `/invite/${decryptToken(stack.deps.appSecret, rows[0]!.token_ciphertext)}`)).status).toBe(200);
    expect((await send(stack.url, 'GET', `/v1/invitations/${inv.body.id}`, { key: agency.key })).body.status).toBe('pending');
  });

  it('safeEqual compares secrets whole (length and every byte); the linter makes it the only way (test/invariants/lint.test.ts)', () => {
    // Constant time cannot be measured without timing assertions. The construction is kept by ESLint
    // (eslint.config.js, run by npm test): timingSafeEqual is imported only by safeEqual, and ===, !==,
    // .equals() and Buffer.compare on a token, hash, secret, signature or CSRF value fail the lint step.
    const a = Buffer.from('a'.repeat(32));
    expect(safeEqual(a, Buffer.from('a'.repeat(32)))).toBe(true);
    expect(safeEqual(a, Buffer.from('a'.repeat(31) + 'b'))).toBe(false);
    expect(safeEqual(a, Buffer.from('a'.repeat(31)))).toBe(false);
  });
});

// Last in the file: the suite above drove the API, CSV imports and webhooks, so its rows
// are what each writer really writes. Each must be of a catalog type and parse against its strict schema.
describe('every event row the pipeline wrote matches the event catalog', () => {
  it('each row parses against the data schema of its type', async () => {
    const { rows } = await stack.deps.pool.query<{ id: string; type: string; data: unknown }>('select id, type, data from events where id > $1 order by id', [
      eventsBefore,
    ]);
    const seen = new Set<string>();
    const mismatches: string[] = [];
    for (const row of rows) {
      seen.add(row.type);
      if (!(eventTypes as readonly string[]).includes(row.type)) {
        mismatches.push(`${row.id} ${row.type}: not in the catalog`);
        continue;
      }
      const parsed = eventCatalog[row.type as EventType].data.safeParse(row.data);
      if (!parsed.success) mismatches.push(`${row.id} ${row.type}: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    }
    expect(mismatches).toEqual([]);
    // The suite wrote events through the API and through an import, so both paths were checked.
    expect([...seen]).toEqual(expect.arrayContaining(['invitation.created', 'project.created', 'import.completed']));
  });
});
