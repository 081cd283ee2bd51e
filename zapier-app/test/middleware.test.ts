import nock from 'nock';

import { describeProblem, fieldLabel, parseRetryAfter } from '../src/middleware';
import { App, BASE, api, appTester, bundle, decoded, problem, rejection, setupNock } from './helpers';

const invite = App.creates.invite_client.operation.perform as never;
const inviteBundle = () => bundle({ inputData: { project_id: 'prj_1', email: 'jane@acme.test', first_name: 'Jane', last_name: 'Doe' } });

describe('error mapping (afterResponse)', () => {
  setupNock();

  it('401 -> ExpiredAuthError so Zapier asks the user to reconnect', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(401, { title: 'Unauthorized', code: 'unauthorized' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('ExpiredAuthError');
    expect(error.message).toContain('Your Onramp API key is invalid or has been revoked');
  });

  it('422 with field errors -> HaltedError whose message carries every field message', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(
        ...problem(422, {
          type: 'https://onramp.dev/problems/validation',
          title: 'Validation failed',
          code: 'validation_failed',
          detail: '2 fields are invalid',
          errors: [
            { field: 'email', message: 'Invalid email address' },
            { field: 'first_name', message: 'Must be at most 100 characters' },
          ],
        }),
      );
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(error.message).toContain('Validation failed: 2 fields are invalid');
    expect(error.message).toContain('Email (email): Invalid email address');
    expect(error.message).toContain('First Name (first_name): Must be at most 100 characters');
    expect(error.message).toContain('HTTP 422, validation_failed');
  });

  const firstLine = (error: Error) => error.message.split('\n')[0]!;

  it('409 client_deactivated -> HaltedError saying to reactivate the client (with its id) or map another email', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(
        ...problem(409, {
          title: 'Client is deactivated',
          code: 'client_deactivated',
          detail: 'jane@acme.test is deactivated. Reactivate them with POST /v1/clients/cl_7/reactivate, then invite again.',
          client_id: 'cl_7',
        }),
      );
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(firstLine(error)).toBe(
      'Client is deactivated: jane@acme.test is deactivated. Reactivate them with POST /v1/clients/cl_7/reactivate, then invite again. ' +
        '(HTTP 409, client_deactivated). What to do: reactivate the client in Onramp (an owner or admin: ' +
        'POST /v1/clients/cl_7/reactivate), then replay this Zap run; or map a different email.',
    );
  });

  it('409 email_belongs_to_firm_user -> says to map a different email, naming the Email field', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(
        ...problem(409, {
          title: 'Email belongs to a team member',
          code: 'email_belongs_to_firm_user',
          detail: 'jane@acme.test is a firm user of this agency. A client needs a different email address.',
          errors: [{ field: 'email', message: 'belongs to a firm user of this agency; a client needs a different address' }],
        }),
      );
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(firstLine(error)).toContain('Email (email): belongs to a firm user of this agency');
    expect(firstLine(error)).toContain('What to do: this email is a member of your team; clients need their own address. Map a different email.');
  });

  it('409 archived project -> says to unarchive it or choose another Project', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(409, { title: 'Project is archived', code: 'conflict', detail: 'Unarchive the project before inviting.' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(firstLine(error)).toContain('What to do: unarchive the project in Onramp');
    expect(firstLine(error)).toContain('or choose another Project');
  });

  it('403 (a member key) -> says to reconnect with an owner or admin key, and where to make one', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(403, { title: 'Forbidden', code: 'forbidden', detail: 'Only agency owners and admins can invite clients.' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(firstLine(error)).toContain('Only agency owners and admins can invite clients.');
    expect(firstLine(error)).toContain('reconnect Onramp in Zapier with an API key of an owner or admin');
    expect(firstLine(error)).toContain('/console/api-keys');
  });

  it('404 -> HaltedError naming what was not found and saying to choose it again', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(404, { title: 'Not found', code: 'not_found', detail: 'Project not found' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(firstLine(error)).toContain('Not found: Project not found (HTTP 404, not_found)');
    expect(firstLine(error)).toContain('Choose it again from the dropdown');
  });

  it('413 -> says to split the file', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(413, { title: 'Payload too large', code: 'payload_too_large' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('HaltedError');
    expect(firstLine(error)).toContain('split the CSV file');
  });

  it('names line-item fields as the Zap editor shows them', () => {
    const said = describeProblem(
      422,
      {
        title: 'Validation failed',
        code: 'validation_failed',
        errors: [
          { field: 'clients[1].email', message: 'must be a valid email address' },
          { field: 'assignments[0].task', message: 'the project has no task "Kickoff"' },
          { field: 'mystery', message: 'is odd' },
        ],
      },
      'x',
    );
    expect(said).toBe(
      'Validation failed. Clients line 2, Client Email (clients[1].email): must be a valid email address; ' +
        'Task Assignments line 1, Task (assignments[0].task): the project has no task "Kickoff"; mystery: is odd (HTTP 422, validation_failed)',
    );
    expect(fieldLabel('clients[0]')).toBe('Clients line 1');
    expect(fieldLabel('name')).toBe('Project Name');
  });

  it('429 with Retry-After -> ThrottledError with that delay', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(429, { title: 'Too many requests', code: 'rate_limited' }, { 'Retry-After': '37' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('ThrottledError');
    const body = decoded(error);
    expect(body.delay).toBe(37);
    expect(String(body.message)).toContain('Onramp is rate limiting');
  });

  it('500 -> retryable z.errors.Error (not Halted), with status and code', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(500, { title: 'Internal error', code: 'internal' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('AppError');
    const body = decoded(error);
    expect(body.status).toBe(500);
    expect(body.code).toBe('internal');
    expect(String(body.message)).toContain('Internal error');
    expect(String(body.message)).toContain('Zapier will retry');
  });

  it('503 without Retry-After -> still ThrottledError (Zapier retries), after the default delay', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(503, { title: 'Service unavailable', code: 'unavailable', detail: 'The database is busy; retry.' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('ThrottledError');
    expect(decoded(error).delay).toBe(60);
    expect(String(decoded(error).message)).toContain('The database is busy; retry.');
  });

  it('503 with Retry-After -> ThrottledError', async () => {
    api()
      .post('/v1/projects/prj_1/invitations')
      .reply(...problem(503, { title: 'Unavailable', code: 'unavailable' }, { 'Retry-After': '120' }));
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('ThrottledError');
    expect(decoded(error).delay).toBe(120);
  });

  it('a 5xx without a JSON body is still an error', async () => {
    api().post('/v1/projects/prj_1/invitations').reply(502, 'Bad Gateway', { 'Content-Type': 'text/plain' });
    const error = await rejection(appTester(invite, inviteBundle()));
    expect(error.name).toBe('AppError');
    expect(decoded(error).status).toBe(502);
    expect(String(decoded(error).message)).toContain('Onramp had a server error on POST /v1/projects/prj_1/invitations');
  });

  it('does not send the API key to hosts other than the connected Onramp', async () => {
    const other = nock('https://files.example.com', { badheaders: ['authorization'] })
      .get('/x.csv')
      .reply(200, 'a,b');
    const text = await appTester(async (z) => {
      const response = await z.request({ url: 'https://files.example.com/x.csv', raw: true });
      return response.text();
    }, bundle());
    expect(text).toBe('a,b');
    expect(other.isDone()).toBe(true);
  });

  it('parses Retry-After seconds and HTTP dates, defaulting to 60', () => {
    const now = Date.parse('2026-11-21T23:45:00.000Z');
    expect(parseRetryAfter('5', now)).toBe(5);
    expect(parseRetryAfter('Sat, 21 Nov 2026 23:46:30 GMT', now)).toBe(90);
    expect(parseRetryAfter(undefined, now)).toBe(60);
    expect(parseRetryAfter('soon', now)).toBe(60);
  });

  it('describes problems without field errors using the fallback', () => {
    expect(describeProblem(400, undefined, 'Onramp rejected POST /v1/x')).toBe('Onramp rejected POST /v1/x (HTTP 400)');
    expect(describeProblem(400, { title: 'Malformed JSON', code: 'malformed_json' }, 'x')).toBe('Malformed JSON (HTTP 400, malformed_json)');
  });

  it('says each field error once when the detail already lists them (as Onramp does)', () => {
    const problem = {
      title: 'Validation failed',
      code: 'validation_failed',
      detail: 'email: Invalid email address; last_name: is required',
      errors: [
        { field: 'email', message: 'Invalid email address' },
        { field: 'last_name', message: 'is required' },
        { field: 'first_name', message: 'is required' },
      ],
    };
    expect(describeProblem(422, problem, 'x')).toBe(
      'Validation failed: Email (email): Invalid email address; Last Name (last_name): is required. ' +
        'First Name (first_name): is required (HTTP 422, validation_failed)',
    );
  });

  it('uses the base URL with a trailing slash without doubling it', async () => {
    api().get('/v1/clients').query({ email: 'a@b.test' }).reply(200, { data: [], next_cursor: null });
    const results = await appTester(
      App.searches.find_client.operation.perform as never,
      bundle({ authData: { base_url: `${BASE}///`, api_key: 'onr_abc123_s3cr3t' }, inputData: { email: 'a@b.test' } }),
    );
    expect(results).toEqual([]);
  });
});
