import Papa from 'papaparse';
import { startStack, createTwoAgencies, type TestStack, type TestAgency } from '../support/stack.js';
import { call } from '../support/http.js';
import { csv, HEADER, importAndWait } from './helpers.js';

/**
 * Email typo warnings of a CSV import: rows whose address looks like a typo of a common mail domain are
 * imported as written and listed in warnings.csv with the likely address.
 */
let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false, worker: true });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const parse = (text: string) => Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;

describe('warnings.csv', () => {
  it('lists each likely typo with its row number and suggestion, and imports the row as written', async () => {
    const file = csv(
      HEADER,
      'Typos,,,Ana,Lima,ana@gmial.com,,',
      'Typos,,,Bo,Ek,bo@example.test,,',
      '',
      'Typos,,,Cy,Ng,cy@hotmial.com,,',
      'Typos,,,Di,Oz,not-an-email,,',
    );
    const done = await importAndWait(stack.url, a.key, file);
    expect(done.status).toBe('completed');
    expect(done.counts).toMatchObject({ rows: 4, clients_invited: 3, errors: 1 });

    const res = await call(stack.url, 'GET', `/v1/imports/${done.id}/warnings.csv`, { key: a.key });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(parse(res.text)).toEqual([
      ['row_number', 'field', 'value', 'suggestion'],
      ['2', 'email', 'ana@gmial.com', 'ana@gmail.com'],
      ['5', 'email', 'cy@hotmial.com', 'cy@hotmail.com'],
    ]);
    // Imported as written: a warning never changes the row.
    const { rows } = await stack.deps.pool.query('select email from clients where agency_id = $1 order by email', [a.agencyId]);
    expect(rows.map((r) => r.email)).toEqual(expect.arrayContaining(['ana@gmial.com', 'cy@hotmial.com']));
  });

  it('is only a header for a file without typos, and 404 for another agency or an unknown id', async () => {
    const done = await importAndWait(stack.url, a.key, csv(HEADER, 'Clean,,,Ed,Fu,ed@example.test,,'));
    const res = await call(stack.url, 'GET', `/v1/imports/${done.id}/warnings.csv`, { key: a.key });
    expect(parse(res.text)).toEqual([['row_number', 'field', 'value', 'suggestion']]);
    const foreign = await call(stack.url, 'GET', `/v1/imports/${done.id}/warnings.csv`, { key: b.key });
    expect(foreign.status).toBe(404);
    expect(foreign.headers.get('content-type')).toMatch(/problem\+json/);
    expect((await call(stack.url, 'GET', '/v1/imports/00000000-0000-4000-8000-000000000000/warnings.csv', { key: a.key })).status).toBe(404);
  });
});
