import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { freePort } from '@onramp/cli';
import { revokeApiKey } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { unique } from '../support/unique.js';
import { Receiver, until } from './receiver.js';
import { keyPaths, loadZapierApp, shapeOf, op, rejection, type LoadedApp, type ZBundle } from './zapierApp.js';

/**
 * The Zapier app's authentication and its instant trigger, driven through zapier-platform-core's appTester
 * against a real Onramp (API + worker, real PostgreSQL and Redis), with a real local HTTP receiver standing in
 * for hooks.zapier.com. No nock: every request the app makes reaches the real API.
 */

let stack: TestStack;
let zapier: LoadedApp;
let agency: TestAgency;
const receiver = new Receiver();

const auth = (key = agency.key, base = stack.url): ZBundle['authData'] => ({ base_url: base, api_key: key });
const api = () => client(stack.url, agency.key);

interface Hook {
  id: string;
  event: string;
  target_url: string;
  secret: string;
  status: string;
}
type Payload = Record<string, unknown> & { id: string };

/** A client invited through the real API, then accepting through the real accept endpoint (JSON, as scripts do). */
async function inviteAndAccept(projectId: string): Promise<{ invitationId: string; email: string }> {
  const email = `client-${unique()}@example.test`;
  const invited = await api().post(`/v1/projects/${projectId}/invitations`, { email, first_name: 'Casey', last_name: 'Client', message: 'Welcome aboard' });
  expect(invited.status).toBe(201);
  const link = await api().get(`/v1/invitations/${invited.body.id}/link`);
  expect(link.status).toBe(200);
  const token = new URL(link.body.url).pathname.split('/').pop();
  const accepted = await fetch(`${stack.url}/invite/${token}/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ new_password: 'a long enough password' }),
  });
  expect(accepted.status).toBe(200);
  expect(await accepted.json()).toMatchObject({ status: 'accepted', project_id: projectId });
  return { invitationId: invited.body.id, email };
}

function verifySignature(secret: string, headers: Record<string, string>, raw: string): boolean {
  const expected = `v1=${createHmac('sha256', secret).update(`${headers['onramp-timestamp']}.${raw}`).digest('hex')}`;
  return headers['onramp-signature'] === expected;
}

beforeAll(async () => {
  zapier = await loadZapierApp();
  await receiver.start();
  stack = await startStack({ smtp: false, env: { WEBHOOK_BACKOFF_MS: '200' } });
  agency = await createTestAgency(stack, 'Zapier Hooks');
}, 180_000);
afterAll(async () => {
  await stack?.close();
  await receiver.close();
});

describe('authentication.test', () => {
  it('answers who the key belongs to (the fields the connection label names)', async () => {
    const { app, appTester } = zapier;
    const me = await appTester<{ agency: { id: string; name: string }; user: { id: string; email: string; role: string } }>(app.authentication.test, {
      authData: auth(),
    });
    expect(me.agency.id).toBe(agency.agencyId);
    expect(me.user).toMatchObject({ id: agency.userId, email: agency.email, role: 'owner' });
    // The label is a template Zapier renders with the test's result (`invoke auth label` in cli.test.ts renders it).
    expect(app.authentication.connectionLabel).toBe('{{bundle.inputData.agency.name}} ({{bundle.inputData.user.email}})');
  });

  it('accepts the URL with a trailing /v1/ as users paste it', async () => {
    const me = await zapier.appTester<{ user: { id: string } }>(zapier.app.authentication.test, { authData: auth(agency.key, `${stack.url}/v1/`) });
    expect(me.user.id).toBe(agency.userId);
  });

  it('fails with ExpiredAuthError and a reconnect message for a revoked key', async () => {
    const other = await createTestAgency(stack, 'Revoked');
    await revokeApiKey(stack.deps.pool, other.key);
    const error = await rejection(zapier.appTester(zapier.app.authentication.test, { authData: auth(other.key) }));
    expect(error.name).toBe('ExpiredAuthError');
    expect(error.message).toContain('invalid or has been revoked');
    expect(error.message).toContain('Reconnect Onramp');
    // Onramp's own reason is passed on.
    expect(error.message).toContain('The API key has been revoked.');
  });

  it('fails with ExpiredAuthError for a key Onramp never issued', async () => {
    const error = await rejection(zapier.appTester(zapier.app.authentication.test, { authData: auth(`onr_${randomBytes(6).toString('hex')}_nope`) }));
    expect(error.name).toBe('ExpiredAuthError');
    expect(error.message).toContain('invalid or has been revoked');
  });

  it('fails clearly when the base URL is a server that is not Onramp', async () => {
    // The receiver answers 200 text/plain to everything, like a proxy's login page or a static site would.
    const error = await rejection(zapier.appTester(zapier.app.authentication.test, { authData: auth(agency.key, receiver.base) }));
    expect(error.message).toContain('something that is not JSON');
    expect(error.message).toContain('Check that the Onramp URL');
  });

  it('fails clearly when nothing answers at the base URL', async () => {
    const nothing = `http://127.0.0.1:${await freePort()}`;
    const error = await rejection(zapier.appTester(zapier.app.authentication.test, { authData: auth(agency.key, nothing) }));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain(`Zapier could not connect to Onramp at ${nothing}`);
    expect(error.message).toContain('nothing accepted the connection');
  });

  it('fails clearly when the base URL is the Onramp host with a wrong path', async () => {
    const wrong = `${stack.url}/console`;
    const error = await rejection(zapier.appTester(zapier.app.authentication.test, { authData: auth(agency.key, wrong) }));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain(`${wrong} is not the address of an Onramp server`);
  });
});

describe('invitation_accepted (REST hook)', () => {
  const trigger = () => zapier.app.triggers.invitation_accepted!;
  const subscribe = (targetUrl: string) => zapier.appTester<Hook>(op(trigger(), 'performSubscribe'), { authData: auth(), targetUrl });
  const hookIds = async () => ((await api().get('/v1/hooks')).body.data as Hook[]).map((h) => h.id);

  it('subscribe -> accept through the accept page -> one signed delivery per subscription, shaped like performList and the sample', async () => {
    const t1 = receiver.target();
    const t2 = receiver.target();
    const h1 = await subscribe(t1.url);
    const h2 = await subscribe(t2.url);
    // What performSubscribe returns becomes bundle.subscribeData: the hook's id and its signing secret.
    for (const [h, t] of [
      [h1, t1],
      [h2, t2],
    ] as const) {
      expect(h).toMatchObject({ event: 'invitation.accepted', target_url: t.url, status: 'active' });
      expect(h.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(await hookIds()).toEqual(expect.arrayContaining([h1.id, h2.id]));

    const project = await zapier.appTester<{ id: string; name: string }>(op(zapier.app.creates.create_project), {
      authData: auth(),
      inputData: { name: `Hooked ${unique()}` },
    });
    const { invitationId, email } = await inviteAndAccept(project.id);

    const delivered: Payload[] = [];
    for (const [h, t] of [
      [h1, t1],
      [h2, t2],
    ] as const) {
      const [req] = await until('the delivery', () => (receiver.at(t.path).length ? receiver.at(t.path) : null));
      expect(verifySignature(h.secret, req!.headers, req!.raw)).toBe(true);
      expect(verifySignature(h === h1 ? h2.secret : h1.secret, req!.headers, req!.raw)).toBe(false);
      expect(req!.headers['onramp-event']).toBe('invitation.accepted');
      // Exactly one delivery for this hook (the hook's delivery log agrees with what the receiver saw).
      const deliveries = await until('the delivery to be recorded as succeeded', async () => {
        const list = (await api().get(`/v1/hooks/${h.id}/deliveries`)).body.data as Array<{ status: string }>;
        return list.every((d) => d.status === 'succeeded') && list.length > 0 ? list : null;
      });
      expect(deliveries).toHaveLength(1);
      expect(receiver.at(t.path)).toHaveLength(1);
      delivered.push(JSON.parse(req!.raw) as Payload);
    }
    expect(delivered[0]).toEqual(delivered[1]);

    // Zapier hands the parsed delivery to the trigger's perform as bundle.cleanedRequest.
    const items = await zapier.appTester<Payload[]>(op(trigger()), { authData: auth(), cleanedRequest: delivered[0], subscribeData: h1 as never });
    expect(items).toHaveLength(1);
    const item = items[0]!;
    expect(item).toMatchObject({
      id: invitationId,
      event: 'invitation.accepted',
      status: 'accepted',
      email,
      project: { id: project.id, name: project.name },
      client: { email, first_name: 'Casey', last_name: 'Client', status: 'active' },
      created_by: { id: agency.userId, email: agency.email },
    });
    expect(typeof item.event_id).toBe('string');
    expect(Date.parse(String(item.accepted_at))).not.toBeNaN();

    // performList (Zapier's "test trigger" and sample data) reads the polling feed: same item, same keys.
    const listed = await zapier.appTester<Payload[]>(op(trigger(), 'performList'), { authData: auth() });
    const same = listed.find((p) => p.id === invitationId);
    expect(same).toBeDefined();
    expect(keyPaths(same)).toEqual(keyPaths(item));
    expect(same).toEqual(item);
    // The sample the Zap editor shows before any real data has the same fields too.
    expect(shapeOf(item)).toEqual(shapeOf(trigger().operation.sample));

    // Unsubscribe removes the hook; a later acceptance reaches only the remaining subscription.
    const gone = await zapier.appTester(op(trigger(), 'performUnsubscribe'), { authData: auth(), subscribeData: h1 as never });
    expect(gone).toEqual({ id: h1.id, deleted: true });
    expect(await hookIds()).not.toContain(h1.id);
    expect(await hookIds()).toContain(h2.id);
    // Zapier may unsubscribe twice (or after Onramp deleted the hook on a 410): still fine.
    expect(await zapier.appTester(op(trigger(), 'performUnsubscribe'), { authData: auth(), subscribeData: h1 as never })).toEqual({
      id: h1.id,
      deleted: false,
    });

    const later = await inviteAndAccept(project.id);
    const second = await until('the second delivery', () => (receiver.at(t2.path).length === 2 ? receiver.at(t2.path) : null));
    expect((JSON.parse(second[1]!.raw) as Payload).id).toBe(later.invitationId);
    expect(receiver.at(t1.path)).toHaveLength(1);

    await zapier.appTester(op(trigger(), 'performUnsubscribe'), { authData: auth(), subscribeData: h2 as never });
    expect(await hookIds()).not.toContain(h2.id);
  });

  it('a subscription with a revoked key fails as an expired connection', async () => {
    const other = await createTestAgency(stack, 'Revoked Hooks');
    await revokeApiKey(stack.deps.pool, other.key);
    const error = await rejection(zapier.appTester(op(trigger(), 'performSubscribe'), { authData: auth(other.key), targetUrl: receiver.target().url }));
    expect(error.name).toBe('ExpiredAuthError');
  });
});

it("leaves node:http and node:https unpatched, for this process's worker and for later suites in this jest worker", () => {
  // See zapierApp.ts (skipHttpPatch): zapier-platform-core's logging wrapper would break got's request(url, options, cb).
  expect((http as unknown as Record<string, unknown>).patchedByZapier).toBeUndefined();
  expect((https as unknown as Record<string, unknown>).patchedByZapier).toBeUndefined();
});
