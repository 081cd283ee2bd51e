import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgency, createPool, type Pool } from '@onramp/core';
import { freePort } from '@onramp/cli';
import { startOnramp, type LongRunning } from '../support/processes.js';
import { insertProject } from '../support/fixtures.js';
import { removeTempDir } from '../support/tempDir.js';
import { unique } from '../support/unique.js';

describe('many processes against one database and one Redis', () => {
  let pool: Pool;
  const procs: LongRunning[] = [];
  let dataDir: string | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    removeTempDir(dataDir);
    await pool.end();
  });

  it('two API processes and one worker share state; nothing assumes a single process', async () => {
    pool = createPool(process.env.TEST_DATABASE_URL!, 2);
    dataDir = mkdtempSync(join(tmpdir(), 'onramp-mp-'));
    const env = {
      DATABASE_URL: process.env.TEST_DATABASE_URL!,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: `mp${randomBytes(4).toString('hex')}`,
      APP_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      INVITES_PER_AGENCY_PER_HOUR: '3',
    };
    const [p1, p2] = [await freePort(), await freePort()];
    const api1 = startOnramp(['api'], { ...env, PORT: String(p1), PUBLIC_BASE_URL: `http://127.0.0.1:${p1}` });
    const api2 = startOnramp(['api'], { ...env, PORT: String(p2), PUBLIC_BASE_URL: `http://127.0.0.1:${p1}` });
    const worker = startOnramp(['worker'], env);
    procs.push(api1, api2, worker);
    await Promise.all([api1.waitFor(/onramp ready/), api2.waitFor(/onramp ready/), worker.waitFor(/onramp ready/)]);
    // The worker re-executed itself in place (same pid) with its heap cap; an API process did not.
    const cmdline = (pid: number | undefined) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline(worker.child.pid)).toContain('--max-old-space-size=192');
    expect(cmdline(api1.child.pid).some((a) => a.startsWith('--max-old-space-size'))).toBe(false);

    const agency = await createAgency(pool, { name: 'Multi', ownerEmail: `mp-${unique()}@agency.test` });
    const project = await insertProject(pool, agency.agency.id);
    const headers = { authorization: `Bearer ${agency.apiKey}`, 'content-type': 'application/json' };
    const invite = (port: number, email: string) =>
      fetch(`http://127.0.0.1:${port}/v1/projects/${project.id}/invitations`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ email, first_name: 'A', last_name: 'B' }),
      });

    // Created through one process, read through the other.
    const created = (await (await invite(p1, 'one@client.test')).json()) as { id: string };
    const read = await fetch(`http://127.0.0.1:${p2}/v1/invitations/${created.id}`, { headers });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { id: string }).id).toBe(created.id);

    // The same invitation through both processes at once: still one.
    const both = await Promise.all([invite(p1, 'two@client.test'), invite(p2, 'two@client.test')]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 201]);

    // The hourly quota (3) is shared through Redis, not counted per process.
    expect((await invite(p2, 'three@client.test')).status).toBe(201);
    const over = await invite(p1, 'four@client.test');
    expect(over.status).toBe(429);

    // The worker process does the job the API processes enqueued (last_used_at).
    let lastUsed: Date | null = null;
    for (let i = 0; i < 100 && !lastUsed; i++) {
      lastUsed = (await pool.query<{ last_used_at: Date | null }>('select last_used_at from api_keys where agency_id = $1', [agency.agency.id])).rows[0]!
        .last_used_at;
      if (!lastUsed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(lastUsed).toBeInstanceOf(Date);

    expect(await api1.stop()).toBe(0);
    expect(await worker.stop()).toBe(0);
    // The other API process keeps serving.
    expect((await fetch(`http://127.0.0.1:${p2}/v1/me`, { headers })).status).toBe(200);
  }, 120_000);
});
