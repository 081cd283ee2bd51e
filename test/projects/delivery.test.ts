import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { client } from '../support/http.js';
import { unique } from '../support/unique.js';

let stack: TestStack;
let a: TestAgency;

beforeAll(async () => {
  // The whole path: API -> outbox row -> send-email job -> worker -> real SMTP server.
  stack = await startStack();
  a = await createTestAgency(stack, 'Delivery');
});
afterAll(async () => {
  await stack.close();
});

const to = (address: string) => (m: { envelopeTo: string[] }) => m.envelopeTo.includes(address);

/** Every outbox row of the project is finished (sent, failed or cancelled). */
async function outboxDrained(projectId: string): Promise<Array<{ to_address: string; status: string }>> {
  for (let i = 0; i < 150; i++) {
    const { rows } = await stack.deps.pool.query<{ to_address: string; status: string }>(
      'select e.to_address, e.status from emails e join invitations i on i.id = e.invitation_id where i.project_id = $1',
      [projectId],
    );
    if (rows.every((r) => ['sent', 'failed', 'cancelled'].includes(r.status))) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the outbox did not drain');
}

describe('invitation emails from the projects endpoints', () => {
  it('10 identical concurrent Create Project calls: each client receives exactly one invitation email with a link', async () => {
    const tpls = await client(stack.url, a.key).get('/v1/templates');
    const emails = [unique(), unique()].map((u) => `${u}@client.test`);
    const body = {
      name: 'Delivered',
      external_id: `deal-${unique()}`,
      template_id: tpls.body.data[0].id,
      clients: emails.map((email) => ({ email, first_name: 'Ada', last_name: 'Lovelace' })),
      assignments: [{ task: 'Welcome call', emails }],
    };
    const results = await Promise.all(Array.from({ length: 10 }, () => client(stack.url, a.key).post('/v1/projects', body)));
    const projectId = results[0]!.body.id;
    for (const email of emails) {
      const mail = await stack.smtp!.waitFor(to(email));
      expect(mail.parsed.text ?? '').toContain(`${stack.config.publicBaseUrl}/invite/`);
    }
    const rows = await outboxDrained(projectId);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    for (const email of emails) expect(stack.smtp!.messages.filter(to(email))).toHaveLength(1);
  });

  it('assigning a non-member to a task invites them and the invitation email arrives', async () => {
    const api = client(stack.url, a.key);
    const project = await api.post('/v1/projects', { name: 'Assign and invite', template_name: 'client onboarding' });
    const email = `${unique()}@client.test`;
    const res = await api.post(`/v1/projects/${project.body.id}/tasks/${project.body.tasks[0].id}/assignees`, {
      email,
      first_name: 'Grace',
      last_name: 'Hopper',
    });
    expect(res.status).toBe(201);
    expect(res.body.invite_result).toBe('invited');
    const mail = await stack.smtp!.waitFor(to(email));
    expect(mail.parsed.text ?? '').toContain(`${stack.config.publicBaseUrl}/invite/`);
    await outboxDrained(project.body.id);
    const inv = await api.get(`/v1/invitations/${res.body.invitation.id}`);
    expect(inv.body.delivery_status).toBe('sent');
  });
});
