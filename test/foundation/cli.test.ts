import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '@onramp/cli';
import { runOnramp, startOnramp } from '../support/processes.js';
import { tempRoots } from '../support/tempDir.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const roots = tempRoots();
// Each test waits for the exit of every onramp it ran on its directory.
afterEach(() => roots.removeAll());

const dataDir = (): string => join(roots.make('onramp-cli-'), 'data');

describe('onramp command line', () => {
  it('prints help and lists every command', async () => {
    const res = await runOnramp(['--help']);
    expect(res.code).toBe(0);
    for (const c of ['start', 'api', 'worker', 'migrate', 'agency create', 'key create', 'key revoke']) expect(res.stdout).toContain(c);
  });

  it('prints help for a command', async () => {
    const res = await runOnramp(['agency', 'create', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('--owner-email');
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['agency', 'create', '--name', 'X', '--owner-email', 'a@b.c', '--bogus'], /Unknown option '--bogus'/],
    [['agency', 'create', '--name', 'X'], /--owner-email is required/],
    [['key', 'revoke'], /expected 1 argument/],
  ])('answers %j with one line and a non-zero exit', async (args, message) => {
    const res = await runOnramp(args as string[]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(message);
  });

  it('names a bad setting in one line and exits non-zero', async () => {
    const res = await runOnramp(['migrate'], { PORT: 'abc' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(/^onramp: configuration error: PORT: /);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names DATABASE_URL in one line when the database is unreachable', async () => {
    const port = await freePort();
    const res = await runOnramp(['migrate'], { DATABASE_URL: `postgres://x:y@127.0.0.1:${port}/db` });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(`onramp: configuration error: DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('names REDIS_URL in one line when Redis is unreachable', async () => {
    const port = await freePort();
    const res = await runOnramp(['worker'], { DATABASE_URL: process.env.TEST_DATABASE_URL!, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toMatch(new RegExp(`^onramp: configuration error: REDIS_URL: cannot reach Redis at 127.0.0.1:${port}: `));
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('agency create works against a running database (DATABASE_URL) and prints JSON', async () => {
    const res = await runOnramp(['agency', 'create', '--name', 'Cli Agency', '--owner-email', 'cli-owner@agency.test', '--json'], {
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
    });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ agency_id: expect.any(String), user_id: expect.any(String), api_key: expect.stringMatching(/^onr_/) });
  });
});

describe('onramp start, end to end', () => {
  it('starts embedded PostgreSQL and Redis, answers, stops with no orphans, and restarts on the same data', async () => {
    const dir = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port) };
    const first = startOnramp(['start'], env);
    await first.waitFor(/Onramp is running/);
    const pgPid = Number(readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const redisPid = JSON.parse(readFileSync(join(dir, 'redis', 'onramp-redis.json'), 'utf8')).pid as number;
    expect(alive(pgPid)).toBe(true);
    expect(alive(redisPid)).toBe(true);

    // Works while start runs: attaches to the same embedded database.
    const created = await runOnramp(['agency', 'create', '--name', 'Acme', '--owner-email', 'owner@acme.test', '--json'], env);
    expect(created.code).toBe(0);
    const { api_key: key } = JSON.parse(created.stdout);
    const me = await fetch(`http://127.0.0.1:${port}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { agency: { name: string } }).agency.name).toBe('Acme');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);

    expect(await first.stop('SIGTERM')).toBe(0);
    expect(alive(pgPid)).toBe(false);
    expect(alive(redisPid)).toBe(false);

    // Works while nothing runs: starts the embedded database for the command, then stops it.
    const key2 = await runOnramp(['key', 'create', '--user-email', 'owner@acme.test', '--json'], env);
    expect(key2.code).toBe(0);

    const second = startOnramp(['start'], env);
    await second.waitFor(/Onramp is running/);
    for (const k of [key, JSON.parse(key2.stdout).api_key]) {
      const again = await fetch(`http://127.0.0.1:${port}/v1/me`, { headers: { authorization: `Bearer ${k}` } });
      expect(again.status).toBe(200);
    }
    const pgPid2 = Number(readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    expect(await second.stop('SIGINT')).toBe(0);
    expect(alive(pgPid2)).toBe(false);
  }, 120_000);

  it('refuses a port in use with one clear line and leaves nothing running', async () => {
    const dir = dataDir();
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '0.0.0.0', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const res = await runOnramp(['start'], { DATA_DIR: dir, PORT: String(port) });
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`PORT: ${port} is already in use`));
      const pidFile = join(dir, 'postgres', 'postmaster.pid');
      let pgAlive = false;
      try {
        pgAlive = alive(Number(readFileSync(pidFile, 'utf8').split('\n')[0]));
      } catch {
        pgAlive = false;
      }
      expect(pgAlive).toBe(false);
    } finally {
      blocker.close();
    }
  }, 120_000);
});
