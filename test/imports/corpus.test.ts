import Papa from 'papaparse';
import { importRecords, parseCsv, RecordCounter } from '@onramp/core';
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { HEADER, importAndWait, uploadCsv } from './helpers.js';
import { checkAccounting, type ExpectedRow } from './accounting.js';

/**
 * Every CSV row accounted for, on files as other tools write them: each data row is imported, a counted
 * duplicate (duplicates.csv) or an error row (errors.csv), exactly once (accounting.ts checks it against
 * the database), whatever the line ends, quoting, delimiter, BOM or `sep=` line.
 */
let stack: TestStack;
beforeAll(async () => {
  // Batches of 10 rows per lane (the least allowed): a file's repeats and their first rows land in different batches.
  stack = await startStack({ smtp: false, env: { IMPORT_BATCH_SIZE: '10' } });
});
afterAll(async () => {
  await stack.close();
});

const q = (sql: string, values: unknown[]) => stack.deps.pool.query(sql, values).then((r) => r.rows);

/** One data row of a corpus file: its cells in HEADER order. */
type Cells = [project: string, externalId: string, template: string, first: string, last: string, email: string, tasks: string, message: string];
const keyOf = (c: Cells) => (c[1].trim() ? `x:${c[1].trim()}` : `n:${c[0].trim()}`);

const rows: Cells[] = [
  ['Acme, Inc.', 'crm-1', 'Client onboarding', 'Ada', 'Lovelace', 'ada@acme.test', 'Welcome call', 'Hi Ada,\nsee you "soon"'],
  ['Acme, Inc.', 'crm-1', '', 'Charles', 'Babbage', 'charles@acme.test', '', ''],
  ['Globex', '', '', 'Hank', 'Scorpio', 'hank@globex.test', '', 'Line one\r\nline two'],
  ['Globex', '', '', 'Bad', 'Email', 'not-an-email', '', ''],
  ['Acme, Inc.', 'crm-1', '', 'Ada', 'Again', 'ADA@acme.test', 'Share brand assets', ''],
  ['Zoë & Søn', 'z-1', 'Client onboarding', 'Zoë', 'Ñúñez', 'zoe@zoe.test', 'Welcome call;Grant account access', 'Ça va?'],
];
/** Row 4 is an error (invalid email); row 5 repeats row 1 (same project, email case aside). */
const expectErrors = 1;
const expectDuplicates = 1;

function quoteAll(cells: string[], delimiter: string): string {
  return cells.map((c) => `"${c.replace(/"/g, '""')}"`).join(delimiter);
}
function quoteNeeded(cells: string[], delimiter: string): string {
  return cells.map((c) => (c.includes(delimiter) || /["\r\n]/.test(c) || c !== c.trim() ? `"${c.replace(/"/g, '""')}"` : c)).join(delimiter);
}

interface CorpusFile {
  body: string | Buffer;
  /** Record number of the first data row (the header is 1; a blank line before a row is a record too). */
  firstRow: number;
  /** Record numbers of the data rows, when not consecutive. */
  rowNumbers?: number[];
}

const header = HEADER.split(',');
const corpus: Record<string, CorpusFile> = {
  // Excel "CSV UTF-8 (Comma delimited)": BOM, CRLF, quotes only where needed, a line break typed in a cell
  // (Alt+Enter) is a bare LF inside quotes; trailing empty rows come out as delimiters only.
  'Excel CSV UTF-8 (BOM, CRLF, LF inside cells, empty rows of commas)': {
    body: `\uFEFF${[header.join(','), ...rows.map((r) => quoteNeeded(r, ','))].join('\r\n')}\r\n,,,,,,,\r\n,,,,,,,\r\n`,
    firstRow: 2,
  },
  // Excel in a locale whose list separator is ";", told so by a sep= line (which is not a row).
  'Excel with a sep=; line (no BOM, CRLF)': {
    body: `sep=;\r\n${[header.join(';'), ...rows.map((r) => quoteNeeded(r, ';'))].join('\r\n')}\r\n`,
    firstRow: 2,
  },
  // Google Sheets "Download as CSV": no BOM, CRLF, quotes where needed, no line end after the last row.
  'Google Sheets (CRLF, no final line end)': {
    body: [header.join(','), ...rows.map((r) => quoteNeeded(r, ','))].join('\r\n'),
    firstRow: 2,
  },
  // Numbers: every cell quoted, LF line ends, semicolons (a decimal-comma locale).
  'Numbers (every cell quoted, LF, semicolons)': {
    body: `${[quoteAll(header, ';'), ...rows.map((r) => quoteAll(r, ';'))].join('\n')}\n`,
    firstRow: 2,
  },
  // Excel for Mac's old "Macintosh Comma Separated": lone CR line ends.
  'classic Mac (lone CR line ends, tabs)': {
    body: `${[header.join('\t'), ...rows.map((r) => quoteNeeded(r, '\t'))].join('\r')}\r`,
    firstRow: 2,
  },
  // Two exports pasted together, then edited elsewhere: each line ends its own way.
  'mixed line ends (CRLF, LF, CR from line to line)': {
    body: [header.join(','), ...rows.map((r) => quoteNeeded(r, ','))].map((l, i) => l + ['\r\n', '\n', '\r'][i % 3]).join(''),
    firstRow: 2,
  },
  'mixed line ends with a sep= line ending in CR and blank lines between rows': {
    body: `sep=,\r${header.join(',')}\n${rows.map((r, i) => quoteNeeded(r, ',') + ['\r\n\r\n', '\n', '\r\n', '\r\r', '\n', '\r'][i]).join('')}`,
    firstRow: 2,
    rowNumbers: [2, 4, 5, 6, 8, 9],
  },
};

describe('files from other tools', () => {
  it.each(Object.entries(corpus))('%s: every row accounted for', async (_name, file) => {
    const ag = await createTestAgency(stack, 'Corpus');
    // The upload's count (progress) and the run's reading agree on the file.
    const counter = new RecordCounter();
    counter.push(Buffer.from(file.body));
    const numbers = file.rowNumbers ?? rows.map((_, i) => file.firstRow + i);
    const res = await importAndWait(stack.url, ag.key, file.body);
    expect(res.status).toBe('completed');
    expect(res.counts).toMatchObject({ rows: rows.length, errors: expectErrors, duplicates: expectDuplicates, projects_created: 3 });
    const expected: ExpectedRow[] = rows.map((r, i) => ({ rowNumber: numbers[i]!, key: keyOf(r), email: r[5] }));
    await checkAccounting(stack, ag.key, ag.agencyId, res, expected);
    // Cells come through exactly: quotes, commas, the line breaks inside a cell as written.
    const [ada] = await q(`select message from invitations where agency_id = $1 and email = 'ada@acme.test'`, [ag.agencyId]);
    expect(ada.message).toBe('Hi Ada,\nsee you "soon"');
    const [hank] = await q(`select message from invitations where agency_id = $1 and email = 'hank@globex.test'`, [ag.agencyId]);
    expect(hank.message).toBe('Line one\r\nline two');
    const [zoe] = await q(`select first_name, last_name from clients where agency_id = $1 and email = 'zoe@zoe.test'`, [ag.agencyId]);
    expect(zoe).toEqual({ first_name: 'Zoë', last_name: 'Ñúñez' });
    // The upload's count (progress while running) includes blank records; a finished import's total is its data rows.
    expect(counter.end()).toBeGreaterThanOrEqual(rows.length);
    expect(res.progress).toEqual({ rows_done: rows.length, rows_total: rows.length, percent: 100 });
  });

  it('reads every line end the same way in the tokenizer, the counter and the run, whatever the chunking', async () => {
    const text = `a,b\r\n1,2\n3,"x\ry"\r4,5\r\n\n6,7\r`;
    expect(parseCsv(text, ',', true).records).toEqual([['a', 'b'], ['1', '2'], ['3', 'x\ry'], ['4', '5'], [''], ['6', '7']]);
    const buf = Buffer.from(text);
    for (const size of [1, 2, 3, 5, buf.length]) {
      const chunks = async function* () {
        for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
      };
      const got: string[][] = [];
      for await (const r of importRecords(chunks())) got.push(r.values);
      expect({ size, got }).toEqual({ size, got: parseCsv(text, ',', true).records });
      const counter = new RecordCounter();
      for await (const c of chunks()) counter.push(c);
      expect({ size, total: counter.end() }).toEqual({ size, total: 5 });
    }
  });

  it('treats the sep= line as the delimiter, not a record, in the counter too (a CRLF split across chunks)', async () => {
    const buf = Buffer.from('sep=;\r\na;b\r\n1;2\r\n');
    for (const size of [1, 6, buf.length]) {
      const chunks = async function* () {
        for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
      };
      const got: Array<[number, string[]]> = [];
      for await (const r of importRecords(chunks())) got.push([r.rowNumber, r.values]);
      expect({ size, got }).toEqual({
        size,
        got: [
          [1, ['a', 'b']],
          [2, ['1', '2']],
        ],
      });
      const counter = new RecordCounter();
      for await (const c of chunks()) counter.push(c);
      expect({ size, total: counter.end() }).toEqual({ size, total: 1 });
    }
  });

  it('papaparse on a one-line-ending file and the tokenizer agree cell for cell', () => {
    const text = [header.join(','), ...rows.map((r) => quoteNeeded(r, ','))].join('\n');
    expect(parseCsv(text, ',', true).records).toEqual(Papa.parse<string[]>(text, { delimiter: ',', newline: '\n' }).data);
  });
});

describe('a header naming a column twice', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'the same name twice',
      'project_name,first_name,last_name,email,email\nP,A,B,a@x.test,b@x.test\n',
      /the columns "email" and "email" both name email; keep one column for each/,
    ],
    ['two aliases of one column', 'Project,First name,Last name,Email,E-mail\nP,A,B,a@x.test,b@x.test\n', /the columns "Email" and "E-mail" both name email/],
    [
      'three spellings of the project',
      'Company,Workspace,project_name,first,last,email\nP,Q,R,A,B,a@x.test\n',
      /the columns "Company" and "Workspace" and "project_name" all name project_name/,
    ],
  ];
  it.each(cases)('is refused before any work: %s', async (_name, body, message) => {
    const ag = await createTestAgency(stack, 'Twice');
    const res = await uploadCsv(stack.url, ag.key, body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.detail).toMatch(message);
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(res.body.errors[0].field).toMatch(/^file\.columns\./);
    expect(await q(`select count(*)::int as n from imports where agency_id = $1`, [ag.agencyId])).toEqual([{ n: 0 }]);
  });
});

describe('duplicates', () => {
  it('are listed in duplicates.csv with the row each repeats, in one batch and across batches, formulas neutralised', async () => {
    const ag = await createTestAgency(stack, 'Dup list');
    const lines = [
      HEADER,
      'Dups,d-1,,Ann,One,ann@d.test,,', // 2
      'Dups,d-1,,Ann,Again,ANN@d.test,,', // 3: repeats 2, same batch
      'Dups,d-1,,Bob,Two,bob@d.test,,', // 4
      ...Array.from({ length: 9 }, (_, i) => `Dups,d-1,,F${i},Filler,f${i}@d.test,,`), // 5-13; the next batch starts at 12
      'Dups,d-1,,=cmd(),Bob,bob@d.test,,', // 14: repeats 4, an earlier batch
      'Dups,d-1,,Ann,Third,ann@d.test,,', // 15: repeats 2, an earlier batch
      'Dups,d-1,,Fay,Bad,not-an-email,,', // 16: error
      'Dups,d-1,,Gus,Six,gus@d.test,,', // 17
    ];
    const res = await importAndWait(stack.url, ag.key, `${lines.join('\n')}\n`);
    expect(res.counts).toMatchObject({ rows: 16, duplicates: 3, errors: 1, clients_invited: 12 });
    expect(res.duplicates_url).toBe(`${stack.config.publicBaseUrl}/v1/imports/${res.id}/duplicates.csv`);
    const file = await client(stack.url, ag.key).get(`/v1/imports/${res.id}/duplicates.csv`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/text\/csv/);
    const parsed = Papa.parse<string[]>(file.text.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;
    expect(parsed).toEqual([
      ['row_number', 'duplicate_of_row', ...header],
      ['3', '2', 'Dups', 'd-1', '', 'Ann', 'Again', 'ANN@d.test', '', ''],
      ['14', '4', 'Dups', 'd-1', '', "'=cmd()", 'Bob', 'bob@d.test', '', ''],
      ['15', '2', 'Dups', 'd-1', '', 'Ann', 'Third', 'ann@d.test', '', ''],
    ]);
    await checkAccounting(
      stack,
      ag.key,
      ag.agencyId,
      res,
      lines.slice(1).map((l, i) => ({ rowNumber: i + 2, key: 'x:d-1', email: l.split(',')[5]! })),
    );
    // Another agency's import id: 404, as for errors.csv.
    const other = await createTestAgency(stack, 'Other');
    const theirs = await client(stack.url, other.key).get(`/v1/imports/${res.id}/duplicates.csv`);
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('not_found');
  });

  it('assign the tasks their first row did not have, as an assignment would (task.assigned), in one batch and across batches', async () => {
    const ag = await createTestAgency(stack, 'Dup tasks');
    const lines = [
      HEADER,
      'Tasks,t-1,Client onboarding,Ann,One,ann@t.test,Welcome call,', // 2: invited, Welcome call
      'Tasks,t-1,,Ann,One,ann@t.test,Welcome call;Share brand assets,', // 3: repeat, same batch: + Share brand assets
      'Tasks,t-1,,Bob,Two,bob@t.test,,', // 4
      ...Array.from({ length: 9 }, (_, i) => `Tasks,t-1,,F${i},Filler,f${i}@t.test,,`), // 5-13; the next batch starts at 12
      'Tasks,t-1,,Ann,One,ann@t.test,Grant account access;welcome call,', // 14: repeat, earlier batch: + Grant account access
      'Tasks,t-1,,Bob,Two,bob@t.test,,', // 15: repeat without tasks
    ];
    const res = await importAndWait(stack.url, ag.key, `${lines.join('\n')}\n`);
    expect(res.counts).toMatchObject({ rows: 14, duplicates: 3, errors: 0, clients_invited: 11, assignments: 3 });
    const assigned = await q(
      `select t.title from task_assignees a join tasks t on t.id = a.task_id join clients c on c.id = a.client_id
        where a.agency_id = $1 and c.email_normalized = 'ann@t.test' order by t.title`,
      [ag.agencyId],
    );
    expect(assigned.map((r: any) => r.title)).toEqual(['Grant account access', 'Share brand assets', 'Welcome call']);
    // Welcome call is recorded in Ann's invitation.created; the two brought by repeats as task.assigned.
    const events = await q(
      `select t.title from events e join tasks t on t.id = e.subject_id where e.agency_id = $1 and e.type = 'task.assigned' order by t.title`,
      [ag.agencyId],
    );
    expect(events.map((r: any) => r.title)).toEqual(['Grant account access', 'Share brand assets']);
    // Uploading the same file again assigns nothing more.
    const again = await importAndWait(stack.url, ag.key, `${lines.join('\n')}\n`);
    expect(again.counts).toMatchObject({ rows: 14, duplicates: 3, already_invited: 11, assignments: 0 });
  });

  it('a dry run lists the same duplicates and errors as the real run', async () => {
    const ag = await createTestAgency(stack, 'Dup dry');
    const lines = [HEADER, ...Array.from({ length: 12 }, (_, i) => `Dry,,,F${i},L${i},p${i % 5}@dry.test,,`)];
    const body = `${lines.join('\r\n')}\r\n`;
    const dry = await importAndWait(stack.url, ag.key, body, { dry_run: 'true' });
    const real = await importAndWait(stack.url, ag.key, body);
    expect(dry.counts).toEqual(real.counts);
    const listed = async (id: string) =>
      (await q('select row_number, duplicate_of from import_duplicates where import_id = $1 order by 1', [id])).map((r: any) => [r.row_number, r.duplicate_of]);
    expect(await listed(dry.id)).toEqual(await listed(real.id));
    // p0..p4 first appear on rows 2-6; every later row repeats the first one.
    expect(await listed(real.id)).toEqual([
      [7, 2],
      [8, 3],
      [9, 4],
      [10, 5],
      [11, 6],
      [12, 2],
      [13, 3],
    ]);
  });
});
