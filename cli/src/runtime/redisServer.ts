import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { ensureSystemBinary } from './systemDeps.js';
import { dieWithParent, stopChild, stopOnSignal } from './children.js';
import { commandOf, isRunning, recoverOrphan, removeOwner, writeOwner } from './owner.js';

export interface PrivateRedis {
  url: string;
  owned: boolean;
  child: ChildProcess | null;
  /** Stops within `deadlineMs` (SIGTERM, then SIGKILL), then resolves; never hangs. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Who started the running redis-server (owner.ts). */
const OWNER_FILE = 'onramp-redis-owner.json';

function runningRedis(dir: string): { pid: number; port: number } | null {
  const file = join(dir, 'onramp-redis.json');
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; port: number };
    // A pid reused by another process since (after a reboot) is not our redis-server.
    return isRunning(info.pid) && (commandOf(info.pid) ?? 'redis-server').includes('redis-server') ? info : null;
  } catch {
    return null;
  }
}

/**
 * A private redis-server child with AOF on and `noeviction` (BullMQ must never lose a key to eviction).
 * It runs in its own process group (detached): Ctrl-C signals the terminal's foreground group, and a
 * redis-server in it exited at once, before the API and the worker that still used it had stopped (they
 * then retried `ECONNREFUSED` in a loop). Only Onramp stops it, last, and stop() waits for its exit.
 */
export async function startPrivateRedis(
  dataDir: string,
  opts: { port?: number; attach?: boolean; log?: (line: string) => void; notice?: (line: string) => void } = {},
): Promise<PrivateRedis> {
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const running = runningRedis(dir);
  if (running) {
    if (opts.attach !== false) return { url: `redis://127.0.0.1:${running.port}`, owned: false, child: null, stop: async () => undefined };
    // SIGTERM is redis-server's SHUTDOWN (the AOF flushed).
    await recoverOrphan({
      service: 'redis-server',
      pidLabel: 'pid',
      dataDir,
      ownerFile: join(dir, OWNER_FILE),
      running,
      steps: [
        ['SIGTERM', 10_000],
        ['SIGKILL', 2_000],
      ],
      notice: opts.notice,
    });
    rmSync(join(dir, 'onramp-redis.json'), { force: true });
  }
  const bin = ensureSystemBinary('redis-server', 'redis-server', opts.log);
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const [command, args] = dieWithParent('SIGTERM', bin, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // If this process dies without a clean stop, take the child with it: from the moment it is spawned.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const forgetSignal = stopOnSignal(killOnExit);
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited (code ${code}): ${output.slice(-500)}`)));
      child.once('error', reject);
    });
  } catch (err) {
    process.removeListener('exit', killOnExit);
    forgetSignal();
    throw err;
  }
  child.stdout.resume();
  child.stderr.resume();
  const infoFile = join(dir, 'onramp-redis.json');
  writeFileSync(infoFile, JSON.stringify({ pid: child.pid, port }));
  writeOwner(join(dir, OWNER_FILE));
  return {
    url: `redis://127.0.0.1:${port}`,
    owned: true,
    child,
    stop: async (deadlineMs = 5_000) => {
      process.removeListener('exit', killOnExit);
      forgetSignal();
      // SIGTERM: redis-server flushes the AOF and exits; SIGKILL only if it cannot within the deadline.
      await stopChild(child, [
        ['SIGTERM', deadlineMs],
        ['SIGKILL', 2_000],
      ]);
      rmSync(infoFile, { force: true });
      removeOwner(join(dir, OWNER_FILE));
    },
  };
}
