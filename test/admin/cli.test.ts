// `onramp user invite` and `onramp user list`, run as a user would, against the stack's database and Redis:
// the teammate email is handed to the stack's worker and arrives over real SMTP.
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { runOnramp } from '../support/processes.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.close();
});

const env = () => ({
  DATABASE_URL: stack.config.databaseUrl!,
  REDIS_URL: stack.config.redisUrl!,
  REDIS_PREFIX: stack.config.redisPrefix,
  APP_SECRET: stack.deps.appSecret,
  PUBLIC_BASE_URL: stack.config.publicBaseUrl,
  DATA_DIR: stack.config.dataDir,
});

describe('onramp user invite / user list', () => {
  it('invites an admin by agency name, the email arrives from the owner, and the list shows them', async () => {
    const a = await createTestAgency(stack, 'Cli Agency');
    const { rows } = await stack.deps.pool.query<{ name: string }>('select name from agencies where id = $1', [a.agencyId]);
    const email = `cli-${Date.now()}@agency.test`;
    const res = await runOnramp(['user', 'invite', '--agency', rows[0]!.name, '--email', email, '--role', 'admin', '--first-name', 'Cara'], env());
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(res.stdout).toMatch(new RegExp(`^Invited ${email} as admin of ${rows[0]!.name}, on behalf of Owner `));
    const mail = await stack.smtp!.waitFor((m) => m.envelopeTo.includes(email));
    expect(mail.parsed.subject).toMatch(/^Owner \w+ from Cli Agency \w+ invited you to join/);
    expect(mail.parsed.text).toMatch(/\/console\/join\/[A-Za-z0-9_-]{43}/);

    const again = await runOnramp(['user', 'invite', '--agency', a.agencyId, '--email', email, '--role', 'admin'], env());
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already invited \(nothing sent\)/);

    const list = await runOnramp(['user', 'list', '--agency', a.agencyId], env());
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^EMAIL\s+NAME\s+ROLE\s+STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^${a.email}\\s+Owner \\w+\\s+owner\\s+active$`));
    expect(lines[2]).toMatch(new RegExp(`^${email}\\s+Cara\\s+admin\\s+invited$`));
    const json = JSON.parse((await runOnramp(['user', 'list', '--agency', a.agencyId, '--json'], env())).stdout);
    expect(json.data.map((u: { email: string }) => u.email)).toEqual([a.email, email]);
  });

  it("refuses a bad role, an unknown agency and a client's address with one line and a non-zero exit", async () => {
    const a = await createTestAgency(stack);
    const bad = await runOnramp(['user', 'invite', '--agency', a.agencyId, '--email', 'x@agency.test', '--role', 'owner'], env());
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/role/);
    const unknown = await runOnramp(['user', 'list', '--agency', 'No Such Agency Anywhere'], env());
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No agency named No Such Agency Anywhere/);
    expect((await stack.deps.pool.query('select 1 from firm_users where agency_id = $1', [a.agencyId])).rowCount).toBe(1);
  });
});
