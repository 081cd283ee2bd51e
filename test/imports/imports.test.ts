import Papa from 'papaparse';
import { startStack, createTwoAgencies, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { call, client } from '../support/http.js';
import { activateClientByEmail } from '../support/state.js';
import { removeTempDir } from '../support/tempDir.js';
import { HEADER, agencyTableCounts, csv, importAndWait, uploadCsv, uploadMultipart, waitForImport } from './helpers.js';

let stack: TestStack;
let a: TestAgency;
let b: TestAgency;

beforeAll(async () => {
  stack = await startStack({ smtp: false, env: { IMPORT_MAX_BYTES: String(6 * 1024 * 1024), IMPORT_BATCH_SIZE: '10' } });
  ({ a, b } = await createTwoAgencies(stack));
});
afterAll(async () => {
  await stack.close();
});

const q = (sql: string, values: unknown[]) => stack.deps.pool.query(sql, values).then((r) => r.rows);

describe('GET /v1/imports/template.csv', () => {
  it('is the header and two example rows, and imports cleanly as a dry run', async () => {
    const res = await client(stack.url, a.key).get('/v1/imports/template.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/csv/);
    const rows = Papa.parse<string[]>(res.text.trim()).data;
    expect(rows[0]).toEqual(['project_name', 'project_external_id', 'template', 'first_name', 'last_name', 'email', 'tasks', 'message']);
    expect(rows).toHaveLength(3);
    const done = await importAndWait(stack.url, a.key, res.text, { dry_run: 'true' });
    expect(done).toMatchObject({ status: 'completed', dry_run: true, counts: { rows: 2, errors: 0, projects_created: 1, clients_invited: 2, assignments: 3 } });
  });
});

describe('a clean import', () => {
  const cleanFile = csv(
    HEADER,
    'Acme,crm-1,Client onboarding,Ada,Lovelace,ada@acme.test,Welcome call;share BRAND assets,"Hi Ada, welcome ""aboard"""',
    'Acme,crm-1,,Charles,Babbage,charles@acme.test,Welcome call,',
    'Globex,,client onboarding,Hank,Scorpio,hank@globex.test,,',
  );
  let agency: TestAgency;
  let result: any;
  beforeAll(async () => {
    agency = await createTestAgency(stack, 'Clean');
    result = await importAndWait(stack.url, agency.key, cleanFile);
  });

  it('completes with the counts of what it did', () => {
    expect(result).toMatchObject({
      status: 'completed',
      dry_run: false,
      send_emails: true,
      progress: { rows_done: 3, rows_total: 3, percent: 100 },
      counts: {
        rows: 3,
        projects_created: 2,
        projects_reused: 0,
        clients_invited: 3,
        clients_added: 0,
        already_invited: 0,
        assignments: 3,
        duplicates: 0,
        errors: 0,
      },
      error: null,
    });
    expect(result.started_at).not.toBeNull();
    expect(result.finished_at).not.toBeNull();
  });

  it('creates projects from the template with its tasks, created_by the importer, with events', async () => {
    const projects = await q(
      `select p.name, p.external_id, p.created_by, (select count(*)::int from tasks t where t.project_id = p.id) as tasks from projects p where agency_id = $1 order by name`,
      [agency.agencyId],
    );
    expect(projects).toEqual([
      { name: 'Acme', external_id: 'crm-1', created_by: agency.userId, tasks: 4 },
      { name: 'Globex', external_id: null, created_by: agency.userId, tasks: 4 },
    ]);
    const events = await q(`select type, count(*)::int as n from events where agency_id = $1 group by type order by type`, [agency.agencyId]);
    // One event per imported row: its invitation.created names the tasks the row assigned.
    expect(events).toEqual([
      { type: 'import.completed', n: 1 },
      { type: 'invitation.created', n: 3 },
      { type: 'project.created', n: 2 },
    ]);
    const created = await q(
      `select c.email, e.data->>'import_id' as import_id,
              (select coalesce(array_agg(t.title order by t.title), '{}') from tasks t where t.id::text in (select jsonb_array_elements_text(e.data->'task_ids'))) as tasks
         from events e join clients c on c.id = (e.data->>'client_id')::uuid
        where e.agency_id = $1 and e.type = 'invitation.created' order by c.email`,
      [agency.agencyId],
    );
    expect(created).toEqual([
      { email: 'ada@acme.test', import_id: result.id, tasks: ['Share brand assets', 'Welcome call'] },
      { email: 'charles@acme.test', import_id: result.id, tasks: ['Welcome call'] },
      { email: 'hank@globex.test', import_id: result.id, tasks: [] },
    ]);
    const [completed] = await q(`select subject_id, data from events where agency_id = $1 and type = 'import.completed'`, [agency.agencyId]);
    expect(completed.subject_id).toBe(result.id);
    expect(completed.data.counts).toEqual(result.counts);
  });

  it('invites each client: pending, queued email in the outbox, message kept, token stored hashed and encrypted', async () => {
    const inv = await q(
      `select i.email, i.status, i.delivery_status, i.send_count, i.message, i.created_by, length(i.token_hash) as hash_len, i.expires_at > now() + interval '6 days' as expiry_ok,
              c.status as client_status, (select count(*)::int from emails e where e.invitation_id = i.id and e.kind = 'invitation' and e.token_ciphertext is not null) as emails
         from invitations i join clients c on c.id = i.client_id where i.agency_id = $1 order by i.email`,
      [agency.agencyId],
    );
    expect(inv).toHaveLength(3);
    expect(inv[0]).toEqual({
      email: 'ada@acme.test',
      status: 'pending',
      // Queued by the import; the worker's sender may already have delivered it.
      delivery_status: expect.stringMatching(/^(queued|sent)$/),
      send_count: 1,
      message: 'Hi Ada, welcome "aboard"',
      created_by: agency.userId,
      hash_len: 32,
      expiry_ok: true,
      client_status: 'invited',
      emails: 1,
    });
    const ids = await q(`select id from emails where agency_id = $1`, [agency.agencyId]);
    const jobs = await Promise.all(ids.map((r: { id: string }) => stack.deps.jobs.queue('email').getJob(`send-email-${r.id}`)));
    expect(jobs.every((j) => j !== undefined)).toBe(true);
  });

  it('assigns tasks case-insensitively', async () => {
    const rows = await q(
      `select c.email, t.title from task_assignees a join tasks t on t.id = a.task_id join clients c on c.id = a.client_id where a.agency_id = $1 order by 1, 2`,
      [agency.agencyId],
    );
    expect(rows).toEqual([
      { email: 'ada@acme.test', title: 'Share brand assets' },
      { email: 'ada@acme.test', title: 'Welcome call' },
      { email: 'charles@acme.test', title: 'Welcome call' },
    ]);
  });

  it('uploading the same file again creates nothing and says so', async () => {
    const before = await agencyTableCounts(stack.deps.pool, agency.agencyId);
    const again = await importAndWait(stack.url, agency.key, cleanFile);
    expect(again.counts).toEqual({
      rows: 3,
      projects_created: 0,
      projects_reused: 2,
      clients_invited: 0,
      clients_added: 0,
      already_invited: 3,
      already_members: 0,
      assignments: 0,
      duplicates: 0,
      errors: 0,
    });
    expect(await agencyTableCounts(stack.deps.pool, agency.agencyId)).toEqual(before);
  });

  it('a row that only adds tasks for an already invited client records each new assignment as task.assigned', async () => {
    const res = await importAndWait(stack.url, agency.key, csv(HEADER, 'Acme,crm-1,,Charles,Babbage,charles@acme.test,Welcome call;Share brand assets,'));
    expect(res.counts).toMatchObject({ already_invited: 1, clients_invited: 0, assignments: 1 });
    const ev = await q(
      `select t.title, c.email from events e join tasks t on t.id = e.subject_id join clients c on c.id = (e.data->>'client_id')::uuid
        where e.agency_id = $1 and e.type = 'task.assigned'`,
      [agency.agencyId],
    );
    expect(ev).toEqual([{ title: 'Share brand assets', email: 'charles@acme.test' }]);
  });

  it('adds an active client to a new project without an email, and counts it', async () => {
    await activateClientByEmail(stack.deps.pool, agency.agencyId, 'hank@globex.test');
    const res = await importAndWait(stack.url, agency.key, csv(HEADER, 'Initech,,,Hank,Scorpio,HANK@globex.test,,'));
    expect(res.counts).toMatchObject({ clients_added: 1, clients_invited: 0, projects_created: 1 });
    const again = await importAndWait(stack.url, agency.key, csv(HEADER, 'Initech,,,Hank,Scorpio,hank@globex.test,,'));
    expect(again.counts).toMatchObject({ clients_added: 0, already_members: 1, projects_reused: 1 });
    const ev = await q(`select count(*)::int as n from events where agency_id = $1 and type = 'client.added_to_project'`, [agency.agencyId]);
    expect(ev[0].n).toBe(1);
    const emails = await q(`select count(*)::int as n from emails where agency_id = $1 and to_address ilike 'hank@%'`, [agency.agencyId]);
    expect(emails[0].n).toBe(1);
  });
});

describe('the corpus of awkward files', () => {
  it('reads UTF-8 with BOM, CRLF, semicolons, quoted delimiters, quotes and newlines, and header aliases', async () => {
    const ag = await createTestAgency(stack, 'Corpus');
    const body =
      '\uFEFFProject;External ID;Template;First Name;Last Name;E-mail;Tasks;Message\r\n' +
      'Zoë & Co;z-1;;Zoë;Ñúñez;zoe@zoe.test;;"line one\r\nline two; with ""quotes"", commas"\r\n' +
      '\r\n' +
      'Zoë & Co;z-1;;Ana;Lima;ana@zoe.test;;\r\n';
    const res = await importAndWait(stack.url, ag.key, body);
    expect(res.counts).toMatchObject({ rows: 2, errors: 0, projects_created: 1, clients_invited: 2 });
    const [inv] = await q(`select message from invitations where agency_id = $1 and email = 'zoe@zoe.test'`, [ag.agencyId]);
    expect(inv.message).toBe('line one\r\nline two; with "quotes", commas');
    const [client] = await q(`select first_name, last_name from clients where agency_id = $1 and email = 'zoe@zoe.test'`, [ag.agencyId]);
    expect(client).toEqual({ first_name: 'Zoë', last_name: 'Ñúñez' });
  });

  it('reads tab-delimited files with "Email address" and "Company" headers', async () => {
    const ag = await createTestAgency(stack, 'Tabs');
    const res = await importAndWait(stack.url, ag.key, 'Company\tfirst_name\tLAST NAME\tEmail address\nTabCo\tTed\tTab\tted@tab.test\n');
    expect(res.counts).toMatchObject({ rows: 1, errors: 0, projects_created: 1, clients_invited: 1 });
  });

  it('accepts multipart/form-data with options as form fields (dry run, no emails)', async () => {
    const ag = await createTestAgency(stack, 'Multipart');
    const res = await uploadMultipart(
      stack.url,
      ag.key,
      csv(HEADER, 'Multi,,,Mo,Part,mo@multi.test,,'),
      { dry_run: 'true', send_emails: 'false' },
      'multi.csv',
    );
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ dry_run: true, send_emails: false, filename: 'multi.csv' });
    // The answer is the Import as it is once the job is queued: this stack's worker may already have started
    // (or, for one row, finished) it by the time the API reads it back.
    expect(['queued', 'running', 'completed']).toContain(res.body.status);
    const done = await waitForImport(stack.url, ag.key, res.body.id);
    expect(done.counts).toMatchObject({ rows: 1, clients_invited: 1 });
    expect(await agencyTableCounts(stack.deps.pool, ag.agencyId)).toMatchObject({ projects: 0, clients: 0, invitations: 0, emails: 0 });
  });

  it('records every bad row with its reason and goes on; errors.csv neutralises formulas and can be re-uploaded', async () => {
    const ag = await createTestAgency(stack, 'Errors');
    await q(`insert into clients (agency_id, email, first_name, last_name, status) values ($1, 'gone@x.test', 'Gone', 'Client', 'deactivated')`, [ag.agencyId]);
    await q(`insert into templates (agency_id, name) values ($1, 'Empty template')`, [ag.agencyId]);
    const wide = Array.from({ length: 10_000 }, (_, i) => `c${i}`);
    const rows = [
      HEADER,
      'P1,,,Ann,One,not-an-email,,', // 2 invalid email
      'P1,,,,One,blank@x.test,,', // 3 missing first name
      'P1,,Client onboarding,Bob,Two,bob@x.test,Welcome call;Fly to Mars,', // 4 unknown task
      'P1,,No such template,Cat,Three,cat@x.test,,', // 5 unknown template
      `P1,,,Own,Er,${ag.email.toUpperCase()},,`, // 6 firm user
      'P1,,,Gone,Client,GONE@x.test,,', // 7 deactivated
      'P2,p-2,Client onboarding,Dan,Four,dan@x.test,Welcome call,', // 8 ok: creates P2 from Client onboarding
      'P2,p-2,Empty template,Eve,Five,eve@x.test,,', // 9 template differs from the one P2 was created from
      'P2,p-2,,Dup,Case,DAN@X.test,,', // 10 duplicate of row 8 (email case differs)
      'Same name,ext-a,,Fay,Six,fay@x.test,,', // 11 ok
      'Same name,ext-b,,Fay,Six,fay@x.test,,', // 12 ok: another project, same name
      '=HYPERLINK("http://evil"),,,@Gus,-Seven,+gus,,', // 13 invalid email; formula cells
      `P3,,,Huge,Field,huge@x.test,,"${'x'.repeat(1024 * 1024)}"`, // 14 message too long (1 MB field)
      `P3,,,Wide,Row,wide@x.test,,,${wide.join(',')}`, // 15 ok: 10,000 extra columns ignored
      'P1,,,Ctl,Char\u0007,ctl@x.test,,', // 16 control character
    ];
    const res = await importAndWait(stack.url, ag.key, csv(...rows));
    expect(res.status).toBe('completed');
    expect(res.counts).toMatchObject({ rows: 15, errors: 10, duplicates: 1, projects_created: 4, clients_invited: 4 });
    const errs = await q(`select row_number, error from import_errors where import_id = $1 order by row_number`, [res.id]);
    expect(errs.map((e: any) => e.row_number)).toEqual([2, 3, 4, 5, 6, 7, 9, 13, 14, 16]);
    const byRow = Object.fromEntries(errs.map((e: any) => [e.row_number, e.error]));
    expect(byRow[2]).toBe('email: must be a valid email address');
    expect(byRow[3]).toBe('first_name: is required');
    expect(byRow[4]).toMatch(/unknown task "Fly to Mars"/);
    expect(byRow[5]).toMatch(/unknown template "No such template"/);
    expect(byRow[6]).toMatch(/firm user/);
    expect(byRow[7]).toMatch(/client is deactivated/);
    expect(byRow[9]).toMatch(/created by an earlier row of this import from template "Client onboarding"; this row names "Empty template"/);
    expect(byRow[14]).toBe('message: must be at most 2,000 characters');
    expect(byRow[16]).toBe('last_name: must not contain control characters');
    // Nothing of a bad row was applied: Bob (unknown task) exists nowhere.
    expect(await q(`select 1 from clients where agency_id = $1 and email_normalized in ('bob@x.test', 'cat@x.test', 'eve@x.test')`, [ag.agencyId])).toEqual([]);
    const sameName = await q(`select external_id from projects where agency_id = $1 and name = 'Same name' order by 1`, [ag.agencyId]);
    expect(sameName).toEqual([{ external_id: 'ext-a' }, { external_id: 'ext-b' }]);

    const file = await client(stack.url, ag.key).get(`/v1/imports/${res.id}/errors.csv`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toMatch(/text\/csv/);
    const parsed = Papa.parse<string[]>(file.text.replace(/^\uFEFF/, ''), { skipEmptyLines: true }).data;
    expect(parsed[0]).toEqual(['row_number', 'error', ...HEADER.split(',')]);
    expect(parsed).toHaveLength(11);
    const formula = parsed.find((r) => r[0] === '13')!;
    expect(formula.slice(2, 8)).toEqual([`'=HYPERLINK("http://evil")`, '', '', `'@Gus`, `'-Seven`, `'+gus`]);
    for (const row of parsed) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);

    // Fix one row in the downloaded file and upload only that: the extra columns are ignored.
    const fixed = Papa.unparse([parsed[0]!, parsed.find((r) => r[0] === '2')!.map((v, i) => (i === 7 ? 'ann@x.test' : v))]);
    const redo = await importAndWait(stack.url, ag.key, fixed);
    // Every P1 row had failed, so P1 is created now.
    expect(redo.counts).toMatchObject({ rows: 1, errors: 0, clients_invited: 1, projects_created: 1 });
  });

  const rejects: Array<[string, string | Buffer, RegExp]> = [
    ['an empty file', '', /the file is empty/],
    ['a file of blank lines', '\r\n\r\n', /the file is empty/],
    ['a header-only file', `${HEADER}\r\n`, /header row but no data rows/],
    ['a missing column', 'project,first_name,email\nP,A,a@x.test\n', /missing required column: last_name; found columns: project, first_name, email/],
    [
      'a non-UTF-8 file',
      Buffer.concat([Buffer.from(`${HEADER}\nCaf`), Buffer.from([0xe9]), Buffer.from(',,,A,B,a@x.test,,\n')]),
      /not UTF-8: invalid byte 0xe9 at byte 86 \(line 2\)/,
    ],
    ['a binary file', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), /not text|not UTF-8/],
    [
      'a quote never closed, running the rest of the file into one row over 4 MB',
      `${HEADER}\r\nP,,,A,B,a@x.test,,hello\r\nP,,,C,D,c@x.test,,"oops\r\n${'P,,,E,F,e@x.test,,fine\r\n'.repeat(200_000)}`,
      /the row that starts on line 3 is longer than 4 MB, the most a row may be: a quote opened there is probably never closed/,
    ],
  ];
  it.each(rejects)('rejects %s with a clear 422 before any work', async (_name, body, message) => {
    const before = await q(`select count(*)::int as n from imports where agency_id = $1`, [b.agencyId]);
    const res = await uploadCsv(stack.url, b.key, body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.detail).toMatch(message);
    expect(await q(`select count(*)::int as n from imports where agency_id = $1`, [b.agencyId])).toEqual(before);
  });

  it('rejects a file over IMPORT_MAX_BYTES with 413, streamed or declared', async () => {
    const big = `${HEADER}\n${'P,,,A,B,a@x.test,,\n'.repeat(400_000)}`;
    const res = await uploadCsv(stack.url, b.key, big);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'payload_too_large' });
    // Chunked (no Content-Length): caught while streaming.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await fetch(`${stack.url}/v1/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.key}`, 'content-type': 'text/csv' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await q(`select count(*)::int as n from import_chunks c join imports i on i.id = c.import_id where i.agency_id = $1`, [b.agencyId])).toEqual([
      { n: 0 },
    ]);
  });

  it('rejects an unknown default_template and a non-CSV content type', async () => {
    const res = await uploadCsv(stack.url, b.key, csv(HEADER, 'P,,,A,B,a@x.test,,'), { default_template: 'Nope' });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'default_template', message: 'no template named "Nope"' }]);
    const json = await call(stack.url, 'POST', '/v1/imports', { key: b.key, body: { file: 'x' } });
    expect(json.status).toBe(415);
  });
});

describe('duplicates across batches', () => {
  // Batches of 10 rows per lane: a project's 25 rows (one lane) span three batches, so a duplicate of
  // row 2 at row 25 is decided against what earlier, committed batches applied.
  it('are counted once each, in a project the import created and in one it reused, and a re-upload is all "already"', async () => {
    const ag = await createTestAgency(stack, 'Dups');
    const made = await client(stack.url, ag.key).post('/v1/projects', {
      name: 'Reused',
      external_id: 'reused',
      clients: [{ email: 'old@dups.test', first_name: 'Old', last_name: 'Client' }],
    });
    expect(made.status).toBe(201);
    const rows = [HEADER];
    for (let i = 0; i < 24; i++) rows.push(`Created,created,,New,C${i},new${i}@dups.test,,`);
    rows.push('Created,created,,Again,C0,NEW0@dups.test,,');
    rows.push('Reused,reused,,Old,Client,old@dups.test,,');
    for (let i = 0; i < 22; i++) rows.push(`Reused,reused,,New,R${i},r${i}@dups.test,,`);
    rows.push('Reused,reused,,Old,Again,OLD@dups.test,,');
    rows.push('Reused,reused,,New,Again,r3@dups.test,,');
    const file = csv(...rows);
    const first = await importAndWait(stack.url, ag.key, file);
    expect(first.counts).toMatchObject({
      rows: 50,
      errors: 0,
      duplicates: 3,
      projects_created: 1,
      projects_reused: 1,
      clients_invited: 46,
      already_invited: 1,
    });
    const again = await importAndWait(stack.url, ag.key, file);
    expect(again.counts).toMatchObject({
      rows: 50,
      errors: 0,
      duplicates: 3,
      projects_created: 0,
      projects_reused: 2,
      clients_invited: 0,
      already_invited: 47,
    });
    expect(await agencyTableCounts(stack.deps.pool, ag.agencyId)).toMatchObject({ projects: 2, invitations: 47 });
  });
});

describe('dry run', () => {
  it('changes nothing and reports the counts a real run gives', async () => {
    const ag = await createTestAgency(stack, 'Dry');
    const file = csv(
      HEADER,
      ...Array.from({ length: 35 }, (_, i) => `Proj ${i % 4},,Client onboarding,F${i},L${i},p${i % 30}@dry.test,Welcome call,`),
      'Proj 0,,,Bad,Row,nope,,',
    );
    const before = await agencyTableCounts(stack.deps.pool, ag.agencyId);
    const dry = await importAndWait(stack.url, ag.key, file, { dry_run: 'true' });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true });
    expect(await agencyTableCounts(stack.deps.pool, ag.agencyId)).toEqual(before);
    const events = await q(`select count(*)::int as n from events where agency_id = $1`, [ag.agencyId]);
    expect(events[0].n).toBe(0);
    const real = await importAndWait(stack.url, ag.key, file);
    expect(real.counts).toEqual(dry.counts);
    expect(dry.counts).toMatchObject({ rows: 36, errors: 1, projects_created: 4, clients_invited: 35, assignments: 35 });
    // The dry run's bad rows are downloadable too.
    const errs = await client(stack.url, ag.key).get(`/v1/imports/${dry.id}/errors.csv`);
    expect(errs.text).toMatch(/email: must be a valid email address/);
  });
});

describe('send_emails=false', () => {
  it('invites without emails: not_sent, send_count 0, no outbox rows', async () => {
    const ag = await createTestAgency(stack, 'Quiet');
    const res = await importAndWait(stack.url, ag.key, csv(HEADER, 'Q,,,Q,Uiet,q@quiet.test,,'), { send_emails: 'false' });
    expect(res.counts.clients_invited).toBe(1);
    expect(await q(`select delivery_status, send_count, last_sent_at from invitations where agency_id = $1`, [ag.agencyId])).toEqual([
      { delivery_status: 'not_sent', send_count: 0, last_sent_at: null },
    ]);
    expect(await q(`select count(*)::int as n from emails where agency_id = $1`, [ag.agencyId])).toEqual([{ n: 0 }]);
  });
});

describe('list, cancel and tenant isolation', () => {
  let aImport: any;
  beforeAll(async () => {
    aImport = await importAndWait(stack.url, a.key, csv(HEADER, 'Iso,,,I,So,iso@a.test,,', 'Iso,,,Bad,Row,bad,,'));
  });

  it('lists an agency its own imports only, newest first, with a cursor', async () => {
    const mine = await client(stack.url, a.key).get('/v1/imports?limit=1');
    expect(mine.status).toBe(200);
    expect(mine.body.data).toHaveLength(1);
    expect(mine.body.next_cursor).not.toBeNull();
    const theirs = await client(stack.url, b.key).get('/v1/imports?limit=100');
    expect(theirs.body.data.map((i: any) => i.id)).not.toContain(aImport.id);
  });

  it("answers another agency's import id with 404 everywhere and changes nothing", async () => {
    const other = client(stack.url, b.key);
    for (const res of [
      await other.get(`/v1/imports/${aImport.id}`),
      await other.get(`/v1/imports/${aImport.id}/errors.csv`),
      await other.post(`/v1/imports/${aImport.id}/cancel`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    expect((await client(stack.url, a.key).get(`/v1/imports/${aImport.id}`)).body).toMatchObject({ status: 'completed', counts: { errors: 1 } });
  });

  it('cancels a queued import before it runs, and refuses to cancel a finished one', async () => {
    const finished = await client(stack.url, a.key).post(`/v1/imports/${aImport.id}/cancel`);
    expect(finished.status).toBe(409);
    // No worker on this agency's queue can start it between these two calls: pause the imports queue.
    await stack.deps.jobs.queue('imports').pause();
    try {
      const up = await uploadCsv(stack.url, a.key, csv(HEADER, 'Never,,,N,Ever,never@a.test,,'));
      const cancelled = await client(stack.url, a.key).post(`/v1/imports/${up.body.id}/cancel`);
      expect(cancelled.body.status).toBe('cancelled');
    } finally {
      await stack.deps.jobs.queue('imports').resume();
    }
    expect(await q(`select 1 from clients where agency_id = $1 and email_normalized = 'never@a.test'`, [a.agencyId])).toEqual([]);
  });
});

describe('npx onramp import', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) removeTempDir(dir);
  });
  const runCli = async (args: string[], env: Record<string, string> = {}) => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const main = fileURLToPath(new URL('../../cli/dist/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, 'import', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    return { code, out, err };
  };
  const writeTemp = async (content: string) => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'onramp-cli-'));
    dirs.push(dir);
    const file = join(dir, 'clients.csv');
    writeFileSync(file, content);
    return file;
  };

  it('uploads, follows progress and prints the counts; exit 0 with row errors reported', async () => {
    const ag = await createTestAgency(stack, 'Cli');
    const file = await writeTemp(csv(HEADER, 'CliCo,,,Cy,Li,cy@cli.test,,', 'CliCo,,,Bad,Row,nope,,'));
    const res = await runCli([file, '--no-emails', '--template', 'Client onboarding'], { ONRAMP_URL: stack.url, ONRAMP_API_KEY: ag.key });
    expect(res.err).toMatch(/accepted/);
    expect(res.out).toMatch(/completed/);
    expect(res.out).toMatch(/clients invited\s+1/);
    expect(res.out).toMatch(/rows with errors\s+1/);
    expect(res.out).toMatch(/errors\.csv/);
    expect(res.code).toBe(0);
    expect(await q(`select delivery_status from invitations where agency_id = $1`, [ag.agencyId])).toEqual([{ delivery_status: 'not_sent' }]);
    expect(await q(`select count(*)::int as n from tasks where agency_id = $1`, [ag.agencyId])).toEqual([{ n: 4 }]);
  });

  it('exits non-zero with the reason when the upload is refused', async () => {
    const file = await writeTemp(`${HEADER}\n`);
    const res = await runCli([file, '--url', stack.url, '--key', a.key, '--dry-run']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/header row but no data rows/);
  });
});
