import { editDistance, emailWarnings, setFirmUserPassword, suggestEmailCorrection } from '@onramp/core';
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { csrfOf, FormClient } from '../pages/fixtures.js';

describe('suggestEmailCorrection (pure, no network)', () => {
  it.each([
    ['ana@gmial.com', 'ana@gmail.com'],
    ['ana@gmai.com', 'ana@gmail.com'],
    ['ana@gmail.con', 'ana@gmail.com'],
    ['Ana.Silva@GMAIL.CMO', 'Ana.Silva@gmail.com'],
    ['bo@hotmial.com', 'bo@hotmail.com'],
    ['bo@outlok.com', 'bo@outlook.com'],
    ['cy@yaho.com', 'cy@yahoo.com'],
    ['cy@yahooo.com', 'cy@yahoo.com'],
    ['di@iclod.com', 'di@icloud.com'],
    ['ed@protonmial.con', 'ed@protonmail.com'],
    ['  fi@gmial.com  ', 'fi@gmail.com'],
  ])('%s -> %s', (typed, suggested) => {
    expect(suggestEmailCorrection(typed)).toBe(suggested);
  });

  it.each([
    'ana@gmail.com',
    'ana@outlook.com',
    'ana@acme.com',
    'ana@agency.test',
    'ana@love.com', // one letter from live.com, a real domain: short names are never suggested
    'ana@max.com',
    'ana@email.com',
    'ana@mail.com',
    'not-an-email',
    '@gmial.com',
    'ana@',
    '',
    `ana@${'g'.repeat(300)}.com`,
  ])('%s: no suggestion', (typed) => {
    expect(suggestEmailCorrection(typed)).toBeNull();
  });

  it('edit distance counts a swap as one edit and stops early', () => {
    expect(editDistance('gmial', 'gmail')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'abcdefgh', 2)).toBe(3);
  });

  it('a domain asked again, after a thousand others, keeps its answer and its own local part (the memo is per domain)', () => {
    expect(suggestEmailCorrection('ana@gmial.com')).toBe('ana@gmail.com');
    expect(suggestEmailCorrection('Bo@GMIAL.com')).toBe('Bo@gmail.com');
    expect(suggestEmailCorrection('cy@acme.com')).toBeNull();
    for (let i = 0; i < 1500; i++) expect(suggestEmailCorrection(`x@client${i}.example`)).toBeNull();
    expect(suggestEmailCorrection('di@gmial.com')).toBe('di@gmail.com');
    expect(suggestEmailCorrection('ed@acme.com')).toBeNull();
    expect(suggestEmailCorrection('fi@hotmial.com')).toBe('fi@hotmail.com');
  });

  it('warnings: one per field, empty otherwise, never for non-strings', () => {
    expect(emailWarnings('ana@gmial.com')).toEqual([{ field: 'email', suggestion: 'ana@gmail.com' }]);
    expect(emailWarnings('ana@gmail.com')).toEqual([]);
    expect(emailWarnings(42)).toEqual([]);
    expect(emailWarnings('ana@gmial.com', 'clients[0].email')).toEqual([{ field: 'clients[0].email', suggestion: 'ana@gmail.com' }]);
  });
});

describe('the invite answers with warnings and still invites', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ smtp: false, worker: false });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('POST /v1/projects/:id/invitations: warnings name the field and the suggestion; the invitation is created as typed', async () => {
    const agency = await createTestAgency(stack, 'Typos');
    const api = client(stack.url, agency.key);
    const project = (await api.post('/v1/projects', { name: 'Typos' })).body;
    const typo = await api.post(`/v1/projects/${project.id}/invitations`, { email: 'ana@gmial.com', first_name: 'Ana', last_name: 'Silva' });
    expect(typo.status).toBe(201);
    expect(typo.body).toMatchObject({ status: 'pending', email: 'ana@gmial.com', warnings: [{ field: 'email', suggestion: 'ana@gmail.com' }] });
    const again = await api.post(`/v1/projects/${project.id}/invitations`, { email: 'ana@gmial.com', first_name: 'Ana', last_name: 'Silva' });
    expect(again.status).toBe(200);
    expect(again.body.warnings).toEqual([{ field: 'email', suggestion: 'ana@gmail.com' }]);
    const fine = await api.post(`/v1/projects/${project.id}/invitations`, { email: 'bo@gmail.com', first_name: 'Bo', last_name: 'Li' });
    expect(fine.status).toBe(201);
    expect(fine.body).not.toHaveProperty('warnings');
    // Bad input is still refused for what it is; a typo is never a reason.
    const bad = await api.post(`/v1/projects/${project.id}/invitations`, { email: 'not-an-email', first_name: 'X', last_name: 'Y' });
    expect(bad.status).toBe(422);

    // The OpenAPI document describes the field.
    const doc = (await client(stack.url).get('/v1/openapi.json')).body;
    expect(JSON.stringify(doc)).toContain('Likely mistakes that did not stop the invite');
    expect(JSON.stringify(doc)).toContain('reminders_sent');
  });

  it('the console invite form points the typo out after inviting', async () => {
    const agency = await createTestAgency(stack, 'Console typos');
    await setFirmUserPassword(stack.deps.pool, agency.email, 'console password 42');
    const api = client(stack.url, agency.key);
    const project = (await api.post('/v1/projects', { name: 'Console typos' })).body;
    const browser = new FormClient(stack.url);
    const login = await browser.get('/console/login');
    expect((await browser.post('/console/login', { csrf: csrfOf(login.text), email: agency.email, password: 'console password 42' })).status).toBe(303);
    const page = await browser.get(`/console/projects/${project.id}`);
    const form = /<form method="post" action="\/console\/projects\/[^"]+\/invite"[\s\S]*?name="csrf" value="([^"]+)"/.exec(page.text)!;
    const done = await browser.post(`/console/projects/${project.id}/invite`, {
      csrf: form[1]!,
      email: 'cleo@hotmial.com',
      first_name: 'Cleo',
      last_name: 'Ng',
      message: '',
      send_email: 'on',
    });
    expect(done.status).toBe(303);
    const shown = await browser.get(done.headers.get('location')!);
    expect(shown.text).toContain(
      'Invited Cleo Ng (cleo@hotmial.com). The invitation is pending until they accept. Check the address: did you mean cleo@hotmail.com?',
    );
  });
});
