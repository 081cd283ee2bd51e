import nock from 'nock';

import authentication from '../src/authentication';
import { normalizeBaseUrl } from '../src/lib/api';
import { INVALID_KEY_MESSAGE } from '../src/middleware';
import { BASE, KEY, api, appTester, bundle, problem, rejection, setupNock } from './helpers';

const me = {
  agency: { id: 'agy_1', name: 'Acme Agency' },
  user: { id: 'usr_1', email: 'owner@acme.test', name: 'Olivia Owner', role: 'owner' },
};

describe('authentication', () => {
  setupNock();

  it('tests the key with GET /v1/me, sending the Bearer key and Accept header', async () => {
    api().get('/v1/me').reply(200, me);
    const result = (await appTester(authentication.test, bundle())) as typeof me;
    expect(result.agency.name).toBe('Acme Agency');
    expect(result.user.email).toBe('owner@acme.test');
  });

  it('strips trailing slashes and a trailing /v1 from the base URL', async () => {
    api().get('/v1/me').reply(200, me);
    const result = (await appTester(authentication.test, bundle({ authData: { base_url: ` ${BASE}/v1/ `, api_key: KEY } }))) as typeof me;
    expect(result.user.id).toBe('usr_1');
    expect(normalizeBaseUrl('https://x.example.com///')).toBe('https://x.example.com');
    expect(normalizeBaseUrl('onramp.example.com/sub/')).toBe('https://onramp.example.com/sub');
    expect(normalizeBaseUrl('ftp://nope.example.com')).toBeNull();
    expect(normalizeBaseUrl('')).toBeNull();
  });

  it('labels the connection with the agency name and user email (a template Zapier and `invoke auth label` render)', () => {
    // Zapier renders {{bundle.inputData.x.y}} with the test's result as bundle.inputData.
    const render = (template: string, inputData: unknown) =>
      template.replace(/{{\s*bundle\.inputData\.([\w.]+)\s*}}/g, (_all, path: string) =>
        String(path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], inputData)),
      );
    expect(authentication.connectionLabel).toBe('{{bundle.inputData.agency.name}} ({{bundle.inputData.user.email}})');
    expect(render(authentication.connectionLabel, me)).toBe('Acme Agency (owner@acme.test)');
  });

  it('the API key help text names both places a key is made: the console page and the CLI', () => {
    const help = authentication.fields.find((f) => f.key === 'api_key')!.helpText;
    expect(help).toContain('/console/api-keys');
    expect(help).toContain('npx onramp key create --user-email');
  });

  it('maps 401 to ExpiredAuthError telling the user the key is invalid or revoked', async () => {
    nock(BASE)
      .get('/v1/me')
      .reply(...problem(401, { title: 'Unauthorized', code: 'unauthorized', detail: 'API key revoked' }));
    const error = await rejection(appTester(authentication.test, bundle()));
    expect(error.name).toBe('ExpiredAuthError');
    expect(error.message).toContain(INVALID_KEY_MESSAGE);
    expect(error.message).toContain('invalid or has been revoked');
    expect(error.message).toContain('API key revoked');
  });

  it('rejects a missing or invalid base URL with a clear message and makes no request', async () => {
    const error = await rejection(appTester(authentication.test, bundle({ authData: { base_url: 'not a url at all', api_key: KEY } })));
    expect(error.message).toContain('Onramp URL of this connection is missing or invalid');
  });

  it('does not accept a 200 HTML page (wrong base URL) as a successful test', async () => {
    nock(BASE).get('/v1/me').reply(200, '<html>login</html>', { 'Content-Type': 'text/html' });
    const error = await rejection(appTester(authentication.test, bundle()));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('not JSON');
  });

  it('names a URL that answers 404 for /v1/me as not an Onramp server', async () => {
    nock(BASE).get('/v1/me').reply(404, '<html>Not found</html>', { 'Content-Type': 'text/html' });
    const error = await rejection(appTester(authentication.test, bundle()));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain(`${BASE} is not the address of an Onramp server`);
    expect(error.message).toContain('HTTP 404');
  });

  it('explains a connection that cannot be made, naming the URL and the reason', async () => {
    nock(BASE).get('/v1/me').replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });
    const error = await rejection(appTester(authentication.test, bundle()));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain(`Zapier could not connect to Onramp at ${BASE}`);
    expect(error.message).toContain('nothing accepted the connection');
    expect(error.message).toContain('(ECONNREFUSED)');
  });

  it('passes an unexpected network error on in its own words', async () => {
    nock(BASE).get('/v1/me').replyWithError({ code: 'EWEIRD', message: 'something odd happened' });
    const error = await rejection(appTester(authentication.test, bundle()));
    expect(error.message).toContain(`Zapier could not connect to Onramp at ${BASE}`);
    expect(error.message).toContain('something odd happened');
  });

  it('declares base_url and a password api_key field with the key-creation help text', () => {
    const fields: Array<{ key: string; type?: string; helpText?: string }> = authentication.fields;
    expect(fields.map((f) => f.key)).toEqual(['base_url', 'api_key']);
    const apiKey = fields.find((f) => f.key === 'api_key');
    expect(apiKey?.type).toBe('password');
    expect(apiKey?.helpText).toContain('npx onramp key create --user-email you@youragency.com');
  });
});
