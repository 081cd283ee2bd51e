import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { freePort } from '@onramp/cli';
import { loadgenMs, processCpuMs } from './cpu.js';
import { onInterrupt, stoppable } from './interrupt.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Running {
  url: string;
  dataDir: string;
  env: Record<string, string>;
  child: ChildProcess;
  /** Stops Onramp and, once it has exited (its PostgreSQL and Redis with it), removes its data unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** A real `onramp start` (embedded PostgreSQL + Redis) in its own process, as a user would run it. */
export async function startOnramp(extraEnv: Record<string, string> = {}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-bench-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATA_DIR: join(dir, 'data'),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INVITES_PER_AGENCY_PER_HOUR: '10000000',
    EMAILS_PER_RECIPIENT_PER_DAY: '10000',
    ...extraEnv,
  };
  const child = spawn(process.execPath, [...(process.env.BENCH_ONRAMP_NODE_ARGS ?? '').split(' ').filter(Boolean), join(repoRoot, 'bin/onramp.js'), 'start'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const stopChild = stoppable(child);
  const stop = async ({ keep = false } = {}) => {
    forget();
    await stopChild();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  };
  // Registered after the child's own stop, so an interrupted run stops the child first, then removes its data.
  const forget = onInterrupt(() => stop());
  const deadline = Date.now() + 120_000;
  while (!out.includes('Onramp is running')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`onramp start failed: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, dataDir: env.DATA_DIR!, env, child, stop };
}

export async function runCli(env: Record<string, string>, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/onramp.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`onramp ${args.join(' ')} failed: ${err}`);
  return out;
}

/** The floor to compare against: a bare Express 5 JSON POST (or GET) in its own process, same machine, same run. */
export async function startBareExpress(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const script = `
    import express from 'express';
    const app = express();
    app.use(express.json());
    app.post('/echo', (req, res) => res.status(201).json({ ok: true, email: req.body.email }));
    app.get('/echo', (req, res) => res.json({ ok: true }));
    app.listen(${port}, '127.0.0.1', () => console.log('ready'));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(repoRoot, 'connector-api'), stdio: ['ignore', 'pipe', 'inherit'] });
  const stop = stoppable(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop };
}

/**
 * The floor's load: a bare Express JSON POST in its own process, at `connections`, for `seconds`; with the
 * CPU time (ms) its process and the load generator spent meanwhile.
 */
export async function bareFloor(connections: number, seconds: number): Promise<LoadResult & { cpu: { serverMs: number; loadgenMs: number } }> {
  const bare = await startBareExpress();
  try {
    const serverAtStart = processCpuMs(bare.pid);
    const loadgenAtStart = loadgenMs();
    const result = await load({ url: bare.url, path: '/echo', body: (i) => ({ email: `user${i}@client.test` }), connections, durationSeconds: seconds });
    return { ...result, cpu: { serverMs: processCpuMs(bare.pid) - serverAtStart, loadgenMs: loadgenMs() - loadgenAtStart } };
  } finally {
    await bare.stop();
  }
}

export interface LoadResult {
  requestsPerSec: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
}

/** autocannon with a fresh body per request (each invitation needs its own email). */
export async function load(opts: {
  url: string;
  path: string;
  headers?: Record<string, string>;
  body: (i: number) => unknown;
  connections: number;
  durationSeconds: number;
}): Promise<LoadResult> {
  let i = 0;
  if (process.env.BENCH_MARKS) console.error(`MARK start ${Date.now()} ${opts.path}`);
  return summarise(
    await autocannon({
      url: opts.url,
      connections: opts.connections,
      duration: opts.durationSeconds,
      requests: [
        {
          method: 'POST',
          path: opts.path,
          headers: { 'content-type': 'application/json', ...opts.headers },
          setupRequest: (req) => ({ ...req, body: JSON.stringify(opts.body(i++)) }),
        },
      ],
    }).then((r) => {
      if (process.env.BENCH_MARKS) console.error(`MARK end ${Date.now()} ${opts.path}`);
      return r;
    }),
  );
}

/** autocannon on one GET path (listing and polling endpoints). */
export async function loadGet(opts: {
  url: string;
  path: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
}): Promise<LoadResult> {
  return summarise(
    await autocannon({
      url: opts.url,
      connections: opts.connections,
      duration: opts.durationSeconds,
      requests: [{ method: 'GET', path: opts.path, headers: { ...opts.headers } }],
    }),
  );
}

function summarise(result: Awaited<ReturnType<typeof autocannon>>): LoadResult {
  return {
    requestsPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/**
 * Server settings and a log file for a bench's own embedded PostgreSQL, from the environment:
 * BENCH_PG_SETTINGS="shared_buffers=512MB shared_preload_libraries=pg_stat_statements" (settings to measure
 * against the defaults, or diagnostics to load) and BENCH_PG_LOG=/tmp/pg.log (keeps the server's log, e.g.
 * auto_explain's plans). Not logging_collector=on: the start waits for the server's ready line on its stderr,
 * which the collector takes.
 */
export function benchPostgresOptions(): { settings: string[]; logFile?: string } {
  const settings = (process.env.BENCH_PG_SETTINGS ?? '').split(' ').filter(Boolean);
  return process.env.BENCH_PG_LOG ? { settings, logFile: process.env.BENCH_PG_LOG } : { settings };
}

export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * One connection, one request at a time, timed to the microsecond: the service time of a request without
 * the queueing that 50 concurrent connections add (autocannon's histogram has 1 ms resolution).
 */
export async function serialLatency(opts: { url: string; path: string; headers?: Record<string, string>; requests: number }): Promise<{
  p50: number;
  p99: number;
  non2xx: number;
}> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let non2xx = 0;
  try {
    for (let n = 0; n < opts.requests; n++) {
      const started = performance.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.get(new URL(opts.path, opts.url), { agent, headers: opts.headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      times.push(performance.now() - started);
      if (status < 200 || status >= 300) non2xx++;
    }
  } finally {
    agent.destroy();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  return { p50: at(0.5), p99: at(0.99), non2xx };
}
