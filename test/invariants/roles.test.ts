// Members read; every write (imports, hooks included) needs an owner or an admin.
import { issueApiKey } from '@onramp/core';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { unique } from '../support/unique.js';
import { addFirmUser } from '../support/state.js';

let stack: TestStack;
let owner: TestAgency;
let memberKey: string;

beforeAll(async () => {
  stack = await startStack({ smtp: false });
  owner = await createTestAgency(stack, 'Roles');
  const member = await addFirmUser(stack.deps.pool, {
    agencyId: owner.agencyId,
    email: `member-${unique()}@agency.test`,
    name: 'Mo Member',
    role: 'member',
  });
  memberKey = (await issueApiKey(stack.deps.pool, { agencyId: owner.agencyId, userId: member.id })).key;
});
afterAll(async () => {
  await stack.close();
});

describe('members read; writes need an owner or admin', () => {
  it('refuses a member key on imports and hooks, and still lets it read', async () => {
    const asMember = client(stack.url, memberKey);
    const asOwner = client(stack.url, owner.key);
    const csv = `project_name,first_name,last_name,email\nMember import,Eve,Member,eve-${unique()}@client.test\n`;
    const upload = await fetch(`${stack.url}/v1/imports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${memberKey}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(upload.status).toBe(403);
    expect(((await upload.json()) as { code: string }).code).toBe('forbidden');
    const { rows } = await stack.deps.pool.query('select count(*)::int as n from imports where agency_id = $1', [owner.agencyId]);
    expect(rows[0].n).toBe(0);

    const ownerImport = await fetch(`${stack.url}/v1/imports?dry_run=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(ownerImport.status).toBe(202);
    const importId = ((await ownerImport.json()) as { id: string }).id;
    const cancel = await asMember.post(`/v1/imports/${importId}/cancel`);
    expect(cancel.status).toBe(403);
    expect((await asMember.get(`/v1/imports/${importId}`)).status).toBe(200);

    const hook = await asMember.post('/v1/hooks', { target_url: 'http://127.0.0.1:9/hook', event: 'invitation.accepted' });
    expect(hook.status).toBe(403);
    const ownersHook = await asOwner.post('/v1/hooks', { target_url: 'http://127.0.0.1:9/hook', event: 'invitation.accepted' });
    expect(ownersHook.status).toBe(201);
    expect((await asMember.delete(`/v1/hooks/${ownersHook.body.id}`)).status).toBe(403);
    const hooks = await asOwner.get('/v1/hooks');
    expect(hooks.body.data.map((h: { id: string }) => h.id)).toContain(ownersHook.body.id);
    expect((await asMember.get('/v1/hooks')).status).toBe(200);
    expect((await asMember.get('/v1/feeds/invitation.accepted')).status).toBe(200);
    expect((await asOwner.delete(`/v1/hooks/${ownersHook.body.id}`)).status).toBe(204);
  });
});
