import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startEmbeddedPostgres, startPrivateRedis } from '@onramp/cli';
import { runOnramp, startOnramp, type LongRunning } from '../support/processes.js';
import { until } from '../support/receiver.js';
import { tempRoots } from '../support/tempDir.js';

/**
 * `onramp start` killed with SIGKILL runs no exit handler. Its embedded PostgreSQL and Redis (detached, so
 * that Ctrl-C reaches Onramp alone) must not keep the next start from running: they die with it where Linux
 * allows (parent-death signal), and the next start stops any left behind by an `onramp` that is gone. One
 * whose `onramp` still runs is refused, naming it.
 */

/** Running and not a zombie (an orphan's reaper may be slow, or absent in a container). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Live processes whose command line names the directory (the postmaster runs with `-D <dir>/postgres`). */
function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) && running(pid)) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function servicePids(dir: string): { pg: number; redis: number } {
  return {
    pg: Number(readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
    redis: (JSON.parse(readFileSync(join(dir, 'redis', 'onramp-redis.json'), 'utf8')) as { pid: number }).pid,
  };
}

const roots = tempRoots();
// Each test stops what it started on its directory (in finally), so nothing works there any more.
afterEach(() => roots.removeAll());

const dataDir = (): string => join(roots.make('onramp-orphan-'), 'data');

async function stopAndCheck(proc: LongRunning, dir: string, pids: number[]): Promise<void> {
  expect(await proc.stop('SIGTERM')).toBe(0);
  // The CLI waits for its services' exit before its own.
  expect(pids.filter(running)).toEqual([]);
  expect(processesUnder(dir)).toEqual([]);
}

async function ready(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  expect(res.status).toBe(200);
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('onramp start after a SIGKILL', () => {
  it('starts again and serves (/readyz) on the same DATA_DIR; then SIGTERM leaves no PostgreSQL or Redis of it', async () => {
    const dir = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` };
    const first = startOnramp(['start'], env);
    await first.waitFor(/Onramp is running/, 120_000);
    const old = servicePids(dir);
    first.child.kill('SIGKILL');
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r(null) : first.child.once('exit', r)));

    // Linux: their parent-death signal (PostgreSQL's fast shutdown, Redis's SHUTDOWN) stops them by themselves.
    if (process.platform === 'linux' && existsSync('/usr/bin/setpriv')) {
      await until('the killed onramp’s services to stop', () => !running(old.pg) && !running(old.redis), 60_000);
    }

    const second = startOnramp(['start'], env);
    try {
      await second.waitFor(/Onramp is running/, 120_000);
      await ready(port);
      const now = servicePids(dir);
      expect(now.pg).not.toBe(old.pg);
      expect([old.pg, old.redis].filter(running)).toEqual([]);
      await stopAndCheck(second, dir, [old.pg, old.redis, now.pg, now.redis]);
    } finally {
      if (second.child.exitCode === null) await second.stop('SIGKILL');
    }
  }, 300_000);

  it('stops services left by an onramp that is gone, saying so, and refuses those of an onramp still running, naming it', async () => {
    const dir = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` };
    // Started by this test process: their owner is alive.
    const db = await startEmbeddedPostgres(dir, { attach: false });
    const redis = await startPrivateRedis(dir, { attach: false });
    try {
      const held = servicePids(dir);
      const refused = await runOnramp(['start'], env, 120_000);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain(`started by onramp process ${process.pid}, which is still running`);
      expect([held.pg, held.redis].every(running)).toBe(true);

      // Their owner gone (as after a SIGKILL): the next start stops them in order and starts afresh.
      const gone = await deadPid();
      for (const file of [join(dir, 'postgres-owner.json'), join(dir, 'redis', 'onramp-redis-owner.json')]) {
        writeFileSync(file, JSON.stringify({ pid: gone, started: null }));
      }
      const next = startOnramp(['start'], env);
      try {
        await next.waitFor(/Onramp is running/, 120_000);
        expect(next.output()).toMatch(new RegExp(`PostgreSQL \\(pid ${held.pg}\\) was left running under .* by onramp process ${gone}, which is gone`));
        expect(next.output()).toMatch(new RegExp(`redis-server \\(pid ${held.redis}\\) was left running under .* by onramp process ${gone}, which is gone`));
        expect([held.pg, held.redis].filter(running)).toEqual([]);
        await ready(port);
        const now = servicePids(dir);
        await stopAndCheck(next, dir, [now.pg, now.redis]);
      } finally {
        if (next.child.exitCode === null) await next.stop('SIGKILL');
      }
    } finally {
      await db.stop();
      await redis.stop();
    }
  }, 300_000);
});
