import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, isAlive } from './ports.js';
import { ensureSystemBinary } from './systemDeps.js';
import { stopChild, stopOnSignal } from './children.js';

export interface PrivateRedis {
  url: string;
  owned: boolean;
  child: ChildProcess | null;
  /** Stops within `deadlineMs` (SIGTERM, then SIGKILL), then resolves; never hangs. */
  stop(deadlineMs?: number): Promise<void>;
}

function runningRedis(dir: string): { pid: number; port: number } | null {
  const file = join(dir, 'onramp-redis.json');
  if (!existsSync(file)) return null;
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; port: number };
    return isAlive(info.pid) ? info : null;
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
export async function startPrivateRedis(dataDir: string, opts: { port?: number; attach?: boolean; log?: (line: string) => void } = {}): Promise<PrivateRedis> {
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const running = runningRedis(dir);
  if (running) {
    if (opts.attach === false) throw new Error(`an Onramp redis-server is already running on port ${running.port} for DATA_DIR ${dataDir}`);
    return { url: `redis://127.0.0.1:${running.port}`, owned: false, child: null, stop: async () => undefined };
  }
  const bin = ensureSystemBinary('redis-server', 'redis-server', opts.log);
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const child = spawn(
    bin,
    [
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
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
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
  const { writeFileSync, rmSync } = await import('node:fs');
  const infoFile = join(dir, 'onramp-redis.json');
  writeFileSync(infoFile, JSON.stringify({ pid: child.pid, port }));
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
    },
  };
}
