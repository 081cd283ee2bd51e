import fc from 'fast-check';
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { HEADER, importAndWait } from './helpers.js';
import { checkAccounting, type ExpectedRow } from './accounting.js';

/**
 * Property: whatever rows a file holds and however it is written (delimiter, quoting, line end of each
 * line, BOM, `sep=` line, blank lines, a final line end or not), every data row is imported, a duplicate
 * or an error row, exactly once, checked against the database (accounting.ts). Bounded: at most 25 files,
 * and no new one after 50 s.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ smtp: false, env: { IMPORT_BATCH_SIZE: '10' } });
});
afterAll(async () => {
  await stack.close();
});

// Awkward characters in free text: delimiters, quotes, line ends, a tab, a formula start, non-ASCII.
const awkward = fc.constantFrom('a', 'b', 'Z', 'é', '日', ' ', ',', ';', '"', '\n', '\r', '\t', '=', '-');
const text = (maxLength: number) => fc.string({ unit: awkward, maxLength });

const rowArb = fc.record({
  project: fc.constantFrom('Alpha', 'Beta, Inc.', 'Gamma "G"', 'Δelta; Co'),
  externalId: fc.constantFrom('', '', 'ext-1', 'ext-2'),
  template: fc.constantFrom('', '', '', 'Client onboarding', 'client ONBOARDING', 'No such template'),
  first: fc.oneof(fc.constantFrom('Ann', 'Bob', 'Zoë', ''), text(6)),
  last: fc.constantFrom('Lee', 'O"Neil', 'Smith, Jr.', 'Nguyễn'),
  // A small pool, so the same project and email come up again; a few invalid.
  email: fc.constantFrom('a@p.test', 'A@P.test', ' b@p.test ', 'c@p.test', 'd@p.test', 'e@p.test', 'not-an-email', ''),
  tasks: fc.subarray(['Welcome call', 'share brand assets', 'Grant account access', 'No such task'], { maxLength: 3 }).map((t) => t.join(';')),
  message: text(12),
  eol: fc.constantFrom('\r\n', '\n', '\r'),
  // One line in ten is followed by a blank line (a record, not a data row).
  blankLineAfter: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  quoteAll: fc.boolean(),
});

const fileArb = fc.record({
  rows: fc.array(rowArb, { minLength: 1, maxLength: 40 }),
  delimiter: fc.constantFrom(',', ';', '\t'),
  bom: fc.boolean(),
  sepLine: fc.boolean(),
  headerEol: fc.constantFrom('\r\n', '\n', '\r'),
  finalEol: fc.boolean(),
});

type GeneratedFile = typeof fileArb extends fc.Arbitrary<infer T> ? T : never;

function write(file: GeneratedFile): { body: string; expected: ExpectedRow[] } {
  const d = file.delimiter;
  const cell = (v: string, all: boolean) => (all || v.includes(d) || /["\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  let body = file.bom ? '\uFEFF' : '';
  if (file.sepLine) body += `sep=${d}${file.headerEol}`;
  body += HEADER.split(',').join(d) + file.headerEol;
  let record = 1;
  const expected: ExpectedRow[] = [];
  file.rows.forEach((r, i) => {
    const cells = [r.project, r.externalId, r.template, r.first, r.last, r.email, r.tasks, r.message];
    body += cells.map((c) => cell(c, r.quoteAll)).join(d);
    expected.push({ rowNumber: ++record, key: r.externalId ? `x:${r.externalId}` : `n:${r.project}`, email: r.email });
    const last = i === file.rows.length - 1;
    if (!last || file.finalEol) body += r.eol;
    if (!last && r.blankLineAfter) {
      body += r.eol;
      record++;
    }
  });
  return { body, expected };
}

describe('every CSV row accounted for (property)', () => {
  it('imported + duplicates + errors = the data rows of any generated file, row by row, in the database', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fileArb, async (file) => {
        runs++;
        const { body, expected } = write(file);
        const ag = await createTestAgency(stack, 'Property');
        const res = await importAndWait(stack.url, ag.key, body);
        await checkAccounting(stack, ag.key, ag.agencyId, res, expected);
      }),
      { numRuns: 25, interruptAfterTimeLimit: 50_000, markInterruptAsFailure: false },
    );
    // Not vacuous: files went through (fast-check stops starting new ones after 50 s on a slow machine).
    expect(runs).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
