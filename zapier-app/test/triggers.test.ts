import nock from 'nock';

import { invitationAcceptedSample, projectCreatedSample, importCompletedSample, invitationCreatedSample } from '../src/samples';
import { App, BASE, api, appTester, bundle, decoded, method, problem, rejection, setupNock, withCursor } from './helpers';

const t = App.triggers;

describe('polling triggers read /v1/feeds/:event', () => {
  setupNock();

  it.each([
    ['new_invitation', 'invitation.created', invitationCreatedSample],
    ['new_project', 'project.created', projectCreatedSample],
    ['import_completed', 'import.completed', importCompletedSample],
  ] as const)('%s polls GET /v1/feeds/%s and returns its items', async (key, event, sample) => {
    const second = { ...sample, id: `${sample.id}_2`, event_id: 'evt_2' };
    api()
      .get(`/v1/feeds/${event}`)
      .query({ limit: '100' })
      .reply(200, { data: [second, sample] });
    const results = (await appTester(method(t[key]), bundle())) as Array<Record<string, unknown>>;
    expect(results).toHaveLength(2);
    expect(results[0]?.id).toBe(`${sample.id}_2`);
    expect(results[1]?.event).toBe(event);
    expect(results[1]?.occurred_at).toBe('2026-11-21T23:50:02.000Z');
  });

  it('a feed answer without data is an error, not an empty success', async () => {
    api().get('/v1/feeds/project.created').query(true).reply(200, { items: [] });
    const error = await rejection(appTester(method(t.new_project), bundle()));
    expect(error.name).toBe('AppError');
    expect(String(decoded(error).message)).toContain('without a "data" list');
  });
});

describe('invitation_accepted (REST hook)', () => {
  setupNock();
  const hook = t.invitation_accepted;

  it('subscribes with POST /v1/hooks {target_url, event}', async () => {
    api().post('/v1/hooks', { target_url: 'https://hooks.zapier.com/abc', event: 'invitation.accepted' }).reply(201, {
      id: 'hk_1',
      event: 'invitation.accepted',
      target_url: 'https://hooks.zapier.com/abc',
      secret: 'whsec',
      status: 'active',
      created_at: '2026-11-21T23:45:13.000Z',
    });
    const data = (await appTester(method(hook, 'performSubscribe'), bundle({ targetUrl: 'https://hooks.zapier.com/abc' }))) as {
      id: string;
    };
    expect(data.id).toBe('hk_1');
  });

  it('unsubscribes with DELETE /v1/hooks/{subscribeData.id}', async () => {
    api().delete('/v1/hooks/hk_1').reply(204);
    const data = await appTester(method(hook, 'performUnsubscribe'), bundle({ subscribeData: { id: 'hk_1' } }));
    expect(data).toEqual({ id: 'hk_1', deleted: true });
  });

  it('treats an already-deleted hook (404) as unsubscribed', async () => {
    api()
      .delete('/v1/hooks/hk_gone')
      .reply(...problem(404, { title: 'Not found', code: 'not_found' }));
    const data = await appTester(method(hook, 'performUnsubscribe'), bundle({ subscribeData: { id: 'hk_gone' } }));
    expect(data).toEqual({ id: 'hk_gone', deleted: false });
  });

  it('still reports other unsubscribe errors (401)', async () => {
    api()
      .delete('/v1/hooks/hk_1')
      .reply(...problem(401, { title: 'Unauthorized' }));
    const error = await rejection(appTester(method(hook, 'performUnsubscribe'), bundle({ subscribeData: { id: 'hk_1' } })));
    expect(error.name).toBe('ExpiredAuthError');
  });

  it('perform returns the delivered payload', async () => {
    const results = (await appTester(method(hook, 'perform'), bundle({ cleanedRequest: invitationAcceptedSample }))) as Array<Record<string, unknown>>;
    expect(results).toEqual([invitationAcceptedSample]);
    expect(results[0]?.status).toBe('accepted');
  });

  it('perform without any request (zapier-platform invoke, which no hook can reach) reads the feed', async () => {
    api()
      .get('/v1/feeds/invitation.accepted')
      .query({ limit: '100' })
      .reply(200, { data: [invitationAcceptedSample] });
    const results = (await appTester(method(hook, 'perform'), bundle())) as Array<Record<string, unknown>>;
    expect(results.map((r) => r.id)).toEqual([invitationAcceptedSample.id]);
  });

  it('performList reads GET /v1/feeds/invitation.accepted', async () => {
    api()
      .get('/v1/feeds/invitation.accepted')
      .query(true)
      .reply(200, { data: [invitationAcceptedSample] });
    const results = (await appTester(method(hook, 'performList'), bundle())) as Array<Record<string, unknown>>;
    expect(results).toHaveLength(1);
    expect(results[0]?.id).toBe(invitationAcceptedSample.id);
    expect(results[0]?.accepted_at).toBe('2026-11-21T23:50:02.000Z');
  });
});

describe('dropdown triggers page with cursor + next_cursor', () => {
  setupNock();

  it('project_list: page 0 stores next_cursor, page 1 sends it, last page stores empty', async () => {
    const store = { value: null as string | null, sets: [] as string[] };
    const perform = method(t.project_list);
    api()
      .get('/v1/projects')
      .query({ limit: '100' })
      .reply(200, { data: [{ id: 'prj_1', name: 'A' }], next_cursor: 'c2' });
    const page0 = (await appTester(withCursor(perform, store), bundle({ meta: { page: 0 } }))) as Array<{ id: string }>;
    expect(page0.map((p) => p.id)).toEqual(['prj_1']);
    expect(store.value).toBe('c2');

    api()
      .get('/v1/projects')
      .query({ limit: '100', cursor: 'c2' })
      .reply(200, { data: [{ id: 'prj_2', name: 'B' }], next_cursor: null });
    const page1 = (await appTester(withCursor(perform, store), bundle({ meta: { page: 1 } }))) as Array<{ id: string }>;
    expect(page1.map((p) => p.id)).toEqual(['prj_2']);
    expect(store.sets).toEqual(['c2', '']);

    // No cursor left: page 2 is empty without calling the API.
    const page2 = await appTester(withCursor(perform, store), bundle({ meta: { page: 2 } }));
    expect(page2).toEqual([]);
  });

  it('template_list lists templates', async () => {
    const store = { value: null as string | null, sets: [] as string[] };
    api()
      .get('/v1/templates')
      .query({ limit: '100' })
      .reply(200, { data: [{ id: 'tpl_1', name: 'Client onboarding', tasks: [] }], next_cursor: null });
    const results = (await appTester(withCursor(method(t.template_list), store), bundle({ meta: { page: 0 } }))) as Array<{ name: string }>;
    expect(results.map((r) => r.name)).toEqual(['Client onboarding']);
    expect(store.sets).toEqual(['']);
  });

  it('task_list lists the tasks of the chosen project', async () => {
    const store = { value: null as string | null, sets: [] as string[] };
    api()
      .get('/v1/projects/prj_1/tasks')
      .query({ limit: '100' })
      .reply(200, { data: [{ id: 'tsk_1', project_id: 'prj_1', title: 'Welcome call' }], next_cursor: 'n1' });
    const results = (await appTester(withCursor(method(t.task_list), store), bundle({ meta: { page: 0 }, inputData: { project_id: 'prj_1' } }))) as Array<{
      title: string;
    }>;
    expect(results.map((r) => r.title)).toEqual(['Welcome call']);
    expect(store.value).toBe('n1');
  });

  it('task_list without a project returns nothing and calls nothing', async () => {
    const store = { value: null as string | null, sets: [] as string[] };
    const results = await appTester(withCursor(method(t.task_list), store), bundle({ meta: { page: 0 } }));
    expect(results).toEqual([]);
    expect(store.sets).toEqual([]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('dropdown triggers are hidden and can paginate', () => {
    for (const key of ['project_list', 'template_list', 'task_list'] as const) {
      expect(t[key].display.hidden).toBe(true);
      expect((t[key].operation as { canPaginate?: boolean }).canPaginate).toBe(true);
    }
    expect(BASE).toBe('https://onramp.test');
  });
});
