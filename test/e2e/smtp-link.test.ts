import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { client } from '../support/http.js';
import { countRows } from '../support/fixtures.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const linkIn = (text: string) => /https?:\/\/\S+\/invite\/[A-Za-z0-9_-]{43}/.exec(text)?.[0];

describe('the link inside the email that arrived', () => {
  it('redeems once; the inviter, and only the inviter, is notified by email', async () => {
    const agency = await createTestAgency(stack, 'Mailers');
    // A second firm user who did not send the invitation must not be notified.
    await stack.deps.pool.query("insert into firm_users (agency_id, email, name, role) values ($1, 'bystander@agency.test', 'B', 'admin')", [agency.agencyId]);
    const api = client(stack.url, agency.key);
    const project = (await api.post('/v1/projects', { name: 'Mail journey' })).body;
    const email = `mail-${Date.now()}@client.test`;
    const invitation = (await api.post(`/v1/projects/${project.id}/invitations`, { email, first_name: 'Mae', last_name: 'Jemison' })).body;

    const arrived = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    const textLink = linkIn(arrived.parsed.text ?? '');
    const htmlLink = linkIn(String(arrived.parsed.html ?? ''));
    expect(textLink).toBeDefined();
    expect(htmlLink).toBe(textLink);
    expect(textLink!.startsWith(`${stack.config.publicBaseUrl}/invite/`)).toBe(true);

    // Opening it (as a mail scanner would) consumes nothing.
    expect((await fetch(textLink!)).status).toBe(200);
    expect((await fetch(textLink!)).status).toBe(200);
    expect((await api.get(`/v1/invitations/${invitation.id}`)).body.status).toBe('pending');

    const accept = await fetch(`${textLink}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ new_password: 'a long enough password' }),
    });
    expect(accept.status).toBe(200);
    expect((await api.get(`/v1/invitations/${invitation.id}`)).body.status).toBe('accepted');

    const notice = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(agency.email));
    expect(notice.parsed.subject).toMatch(/accepted/i);
    expect(notice.envelopeTo).toEqual([agency.email]);

    // Single use: the same link now answers 410 and changes nothing.
    const again = await fetch(`${textLink}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ new_password: 'another long password' }),
    });
    expect(again.status).toBe(410);
    expect((await fetch(textLink!)).status).toBe(410);
    await new Promise((r) => setTimeout(r, 500));
    expect(stack.smtp!.messages.filter((m) => m.envelopeTo.includes('bystander@agency.test'))).toHaveLength(0);
    expect(stack.smtp!.messages.filter((m) => m.envelopeTo.includes(agency.email))).toHaveLength(1);
    expect(await countRows(stack.deps.pool, "select 1 from events where type = 'invitation.accepted' and subject_id = $1", [invitation.id])).toBe(1);
  });
});
