import nock from 'nock';

import { buildProjectBody } from '../src/creates/createProject';
import { pickFilename } from '../src/creates/importCsv';
import { createProjectSample, importSample, inviteClientSample, assignClientSample, clientSample, projectSample } from '../src/samples';
import { App, BASE, api, appTester, bundle, method, problem, rejection, setupNock } from './helpers';

const c = App.creates;
const s = App.searches;

describe('create_project', () => {
  setupNock();

  it('POSTs /v1/projects with clients, assignments, message and send_emails converted', async () => {
    const expected = {
      name: 'Acme Website',
      external_id: 'deal-42',
      template_id: '5e06e22d-fff3-44ec-b1dc-ec40db7aca58',
      send_emails: false,
      clients: [
        { email: 'jane@acme.test', first_name: 'Jane', last_name: 'Doe', message: 'Welcome!' },
        { email: 'joe@acme.test', first_name: 'Joe', message: 'Welcome!' },
      ],
      assignments: [
        { task: 'Share brand assets', emails: ['jane@acme.test', 'joe@acme.test'] },
        { task: 'tsk_9', emails: ['joe@acme.test'] },
      ],
    };
    api().post('/v1/projects', expected).reply(201, createProjectSample);
    const result = (await appTester(
      method(c.create_project),
      bundle({
        inputData: {
          name: ' Acme Website ',
          external_id: 'deal-42',
          template_id: '5e06e22d-fff3-44ec-b1dc-ec40db7aca58',
          message: 'Welcome!',
          send_emails: 'no',
          clients: [{ email: 'jane@acme.test', first_name: 'Jane', last_name: 'Doe' }, { email: 'joe@acme.test', first_name: 'Joe', last_name: '' }, {}],
          assignments: [
            { task: 'Share brand assets', emails: 'jane@acme.test, joe@acme.test' },
            { task: 'tsk_9', emails: 'joe@acme.test' },
          ],
        },
      }),
    )) as typeof createProjectSample;
    expect(result.id).toBe(createProjectSample.id);
    expect(result.created).toBe(true);
    expect(result.clients[0]?.result).toBe('invited');
  });

  it('a template picked from the dropdown (an id) is sent as template_id; a typed or mapped name as template_name', () => {
    const id = '5E06E22D-FFF3-44EC-B1DC-EC40DB7ACA58';
    expect(buildProjectBody({ name: 'P', template_id: id })).toEqual({ name: 'P', template_id: id, send_emails: true });
    expect(buildProjectBody({ name: 'P', template_id: ' Client onboarding ' })).toEqual({
      name: 'P',
      template_name: 'Client onboarding',
      send_emails: true,
    });
    expect(buildProjectBody({ name: 'P', template_id: '' })).toEqual({ name: 'P', send_emails: true });
  });

  it("an unknown template name halts with the agency's template names, under the Template field", async () => {
    api()
      .post('/v1/projects', { name: 'P', template_name: 'Onboarding', send_emails: true })
      .reply(
        ...problem(422, {
          title: 'Validation failed',
          code: 'validation_failed',
          detail: 'template_name: no template named "Onboarding" in this agency; its templates are "Client onboarding", "Website"',
          errors: [{ field: 'template_name', message: 'no template named "Onboarding" in this agency; its templates are "Client onboarding", "Website"' }],
        }),
      );
    const error = await rejection(appTester(method(c.create_project), bundle({ inputData: { name: 'P', template_id: 'Onboarding' } })));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('Template (template_name): no template named "Onboarding" in this agency');
    expect(error.message).toContain('its templates are "Client onboarding", "Website"');
  });

  it('sends only the name (and send_emails default true) when nothing else is given', () => {
    expect(buildProjectBody({ name: 'Solo' })).toEqual({ name: 'Solo', send_emails: true });
  });

  it('zips top-level comma-separated client fields when line items were not mapped', () => {
    const body = buildProjectBody({
      name: 'P',
      email: 'a@x.test, b@x.test',
      first_name: 'Ann,Bob',
      last_name: 'A,B',
      task: 'Welcome call',
      emails: 'a@x.test',
    });
    expect(body.clients).toEqual([
      { email: 'a@x.test', first_name: 'Ann', last_name: 'A' },
      { email: 'b@x.test', first_name: 'Bob', last_name: 'B' },
    ]);
    expect(body.assignments).toEqual([{ task: 'Welcome call', emails: ['a@x.test'] }]);
  });

  it('returns the existing project (200) for a known external_id', async () => {
    api()
      .post('/v1/projects', (b: Record<string, unknown>) => b.external_id === 'deal-42')
      .reply(200, { ...createProjectSample, created: false });
    const result = (await appTester(method(c.create_project), bundle({ inputData: { name: 'Acme Website', external_id: 'deal-42' } }))) as { created: boolean };
    expect(result.created).toBe(false);
  });
});

describe('invite_client', () => {
  setupNock();

  it('POSTs /v1/projects/{project_id}/invitations', async () => {
    api()
      .post('/v1/projects/prj_1/invitations', {
        email: 'jane@acme.test',
        first_name: 'Jane',
        last_name: 'Doe',
        message: 'Hi Jane',
        send_email: true,
      })
      .reply(201, inviteClientSample);
    const result = (await appTester(
      method(c.invite_client),
      bundle({
        inputData: {
          project_id: 'prj_1',
          email: 'jane@acme.test',
          first_name: 'Jane',
          last_name: 'Doe',
          message: 'Hi Jane',
          send_email: true,
        },
      }),
    )) as typeof inviteClientSample;
    expect(result.id).toBe(inviteClientSample.id);
    expect(result.result).toBe('invited');
    expect(result.status).toBe('pending');
  });

  it('honours send_email = false and encodes the project id in the path', async () => {
    api()
      .post('/v1/projects/prj%2F1/invitations', { email: 'jane@acme.test', send_email: false })
      .reply(200, { ...inviteClientSample, result: 'already_invited' });
    const result = (await appTester(method(c.invite_client), bundle({ inputData: { project_id: 'prj/1', email: 'jane@acme.test', send_email: 'false' } }))) as {
      result: string;
    };
    expect(result.result).toBe('already_invited');
  });
});

describe('assign_client_to_task', () => {
  setupNock();

  it('POSTs /v1/projects/{project_id}/tasks/{task_id}/assignees', async () => {
    api().post('/v1/projects/prj_1/tasks/tsk_1/assignees', { email: 'jane@acme.test', first_name: 'Jane', last_name: 'Doe' }).reply(201, assignClientSample);
    const result = (await appTester(
      method(c.assign_client_to_task),
      bundle({
        inputData: { project_id: 'prj_1', task_id: 'tsk_1', email: 'jane@acme.test', first_name: 'Jane', last_name: 'Doe' },
      }),
    )) as typeof assignClientSample;
    expect(result.result).toBe('assigned');
    expect(result.invite_result).toBe('invited');
    expect(result.client.email).toBe(clientSample.email);
  });

  it('task_id follows project_id (dynamic task_list, altersDynamicFields)', () => {
    const fields = (c.assign_client_to_task.operation.inputFields ?? []) as Array<Record<string, unknown>>;
    const project = fields.find((f) => f.key === 'project_id');
    const task = fields.find((f) => f.key === 'task_id');
    expect(project?.altersDynamicFields).toBe(true);
    expect(project?.dynamic).toBe('project_list.id.name');
    expect(task?.dynamic).toBe('task_list.id.title');
    expect(task?.dependsOn).toEqual(['project_id']);
  });
});

describe('import_csv', () => {
  setupNock();
  const csv = 'project_name,email,first_name,last_name\nAcme,jane@acme.test,Jane,Doe\n';

  it('downloads the file (without the API key) and uploads it as multipart field "file"', async () => {
    const files = nock('https://files.zapier.test', { badheaders: ['authorization'] })
      .get('/stash/abc')
      .reply(200, csv, { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="clients.csv"' });
    let seenBody = '';
    let seenType = '';
    api()
      .post('/v1/imports', (body: unknown) => {
        seenBody = typeof body === 'string' ? body : JSON.stringify(body);
        return true;
      })
      .query({ dry_run: 'true', send_emails: 'false' })
      .reply(function reply() {
        seenType = String(this.req.headers['content-type']);
        return [202, { ...importSample, dry_run: true, send_emails: false }];
      });
    const result = (await appTester(
      method(c.import_csv),
      bundle({ inputData: { file: 'https://files.zapier.test/stash/abc', dry_run: true, send_emails: false } }),
    )) as typeof importSample;
    expect(files.isDone()).toBe(true);
    expect(result.id).toBe(importSample.id);
    expect(result.status).toBe('queued');
    expect(result.dry_run).toBe(true);
    expect(seenType).toMatch(/^multipart\/form-data; boundary=/);
    expect(seenBody).toContain('Content-Disposition: form-data; name="file"; filename="clients.csv"');
    expect(seenBody).toContain('jane@acme.test,Jane,Doe');
    expect(seenBody).toContain('name="dry_run"\r\n\r\ntrue');
    expect(seenBody).toContain('name="send_emails"\r\n\r\nfalse');
  });

  it('uses text that is not a URL as the CSV content, with default options', async () => {
    let seenBody = '';
    api()
      .post('/v1/imports', (body: unknown) => {
        seenBody = String(body);
        return true;
      })
      .query({ dry_run: 'false', send_emails: 'true' })
      .reply(202, importSample);
    const result = (await appTester(method(c.import_csv), bundle({ inputData: { file: csv } }))) as { id: string };
    expect(result.id).toBe(importSample.id);
    expect(seenBody).toContain('filename="import.csv"');
    expect(seenBody).toContain('Acme,jane@acme.test,Jane,Doe');
  });

  it('a failed file download is reported, and nothing is uploaded', async () => {
    nock('https://files.zapier.test').get('/stash/gone').reply(404, 'nope');
    const error = await rejection(appTester(method(c.import_csv), bundle({ inputData: { file: 'https://files.zapier.test/stash/gone' } })));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('Downloading from files.zapier.test failed with HTTP 404');
  });

  it('picks a filename from Content-Disposition or the URL', () => {
    expect(pickFilename("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.csv", 'https://x.test/a')).toBe('résumé.csv');
    expect(pickFilename(undefined, 'https://x.test/path/batch-1.csv?sig=1')).toBe('batch-1.csv');
    expect(pickFilename(null, 'https://x.test/stash/abc')).toBe('import.csv');
  });
});

describe('searches', () => {
  setupNock();

  it('find_client: GET /v1/clients?email= returns the match', async () => {
    api()
      .get('/v1/clients')
      .query({ email: 'jane.doe@acme.example' })
      .reply(200, { data: [clientSample], next_cursor: null });
    const results = (await appTester(method(s.find_client), bundle({ inputData: { email: 'jane.doe@acme.example' } }))) as Array<typeof clientSample>;
    expect(results).toHaveLength(1);
    expect(results[0]?.id).toBe(clientSample.id);
    expect(results[0]?.status).toBe('invited');
  });

  it('find_client: a miss returns []', async () => {
    api().get('/v1/clients').query({ email: 'nobody@acme.test' }).reply(200, { data: [], next_cursor: null });
    const results = await appTester(method(s.find_client), bundle({ inputData: { email: 'nobody@acme.test' } }));
    expect(results).toEqual([]);
  });

  it('find_project: GET /v1/projects with external_id and name', async () => {
    api()
      .get('/v1/projects')
      .query({ external_id: 'crm-deal-4821', name: 'Acme Corp Website Redesign' })
      .reply(200, { data: [projectSample], next_cursor: null });
    const results = (await appTester(
      method(s.find_project),
      bundle({ inputData: { external_id: 'crm-deal-4821', name: 'Acme Corp Website Redesign' } }),
    )) as Array<typeof projectSample>;
    expect(results.map((p) => p.id)).toEqual([projectSample.id]);
  });

  it('find_project: only the filled filter is sent; a miss returns []', async () => {
    api().get('/v1/projects').query({ name: 'Nope' }).reply(200, { data: [], next_cursor: null });
    const results = await appTester(method(s.find_project), bundle({ inputData: { name: 'Nope', external_id: '' } }));
    expect(results).toEqual([]);
  });

  it('find_project: with no filter at all, says what to fill in', async () => {
    const error = await rejection(appTester(method(s.find_project), bundle({ inputData: {} })));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('External ID or a project name');
    expect(BASE).toBe('https://onramp.test');
  });
});
