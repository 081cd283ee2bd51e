import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isAlive } from './ports.js';

/**
 * The `onramp` process that started an embedded service, written next to the service's own pid. A
 * `onramp start` killed with SIGKILL runs no exit handler, and its services (detached, their own process
 * group) keep running; the next start reads this to tell such orphans from the services of an `onramp`
 * still running. The start time guards against a pid reused by another process since.
 */
interface Owner {
  pid: number;
  started: string | null;
}

function isOwner(v: unknown): v is Owner {
  const o = v as Partial<Owner> | null;
  return typeof o === 'object' && o !== null && Number.isInteger(o.pid) && o.pid! > 0 && (o.started === null || typeof o.started === 'string');
}

/** /proc/<pid>/stat after the command name (which may hold spaces and parentheses): field 3 onwards. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function ps(pid: number, field: string): string | null {
  try {
    return execFileSync('ps', ['-p', String(pid), '-o', `${field}=`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** When a process started (clock ticks since boot on Linux, `ps` lstart elsewhere), or null if unknown. */
function startedAt(pid: number): string | null {
  const stat = procStat(pid);
  if (stat) return stat[19] ?? null;
  return ps(pid, 'lstart');
}

/** Alive and not a zombie: a killed service whose parent is gone may wait for a reaper that never comes. */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const stat = procStat(pid);
  return stat ? stat[0] !== 'Z' : true;
}

/** The command line of a process, or null when it cannot be read (then nothing is assumed). */
export function commandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return ps(pid, 'command');
  }
}

function currentOwner(): Owner {
  return { pid: process.pid, started: startedAt(process.pid) };
}

function ownerAlive(owner: Owner): boolean {
  if (!isRunning(owner.pid)) return false;
  const now = startedAt(owner.pid);
  return owner.started === null || now === null || now === owner.started;
}

function readOwner(file: string): Owner | null {
  if (!existsSync(file)) return null;
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return isOwner(parsed) ? { pid: parsed.pid, started: parsed.started } : null;
  } catch {
    return null;
  }
}

export function writeOwner(file: string): void {
  writeFileSync(file, JSON.stringify(currentOwner()));
}

export function removeOwner(file: string): void {
  rmSync(file, { force: true });
}

/**
 * Stop a service that is not our child (an orphan): each signal in turn, polling for the exit, since its
 * exit cannot be awaited. Resolves once it is gone or the last signal's time is up.
 */
async function stopOrphan(pid: number, steps: Array<[NodeJS.Signals, number]>): Promise<boolean> {
  for (const [signal, waitMs] of steps) {
    if (!isRunning(pid)) return true;
    try {
      process.kill(pid, signal);
    } catch {
      return !isRunning(pid);
    }
    const deadline = Date.now() + waitMs;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  return !isRunning(pid);
}

/**
 * `onramp start` finds an embedded service already running under DATA_DIR. If the `onramp` that started it
 * is gone (killed with SIGKILL: no exit handler ran), it is an orphan: stopped with each signal in turn
 * (the first is the service's clean stop) and its owner file removed, so a fresh one can start. If that
 * `onramp` still runs, or nothing says who started it, it is refused, naming the process to stop.
 */
export async function recoverOrphan(o: {
  service: 'PostgreSQL' | 'redis-server';
  /** How the service's pid is named in the refusal ("postmaster pid"). */
  pidLabel: string;
  dataDir: string;
  ownerFile: string;
  running: { pid: number; port: number };
  steps: Array<[NodeJS.Signals, number]>;
  notice?: ((line: string) => void) | undefined;
}): Promise<void> {
  const { service, running } = o;
  const owner = readOwner(o.ownerFile);
  const here = `an Onramp ${service} is already running on port ${running.port} for DATA_DIR ${o.dataDir}`;
  if (!owner) {
    const first = o.steps[0]![0];
    const kill = first === 'SIGTERM' ? 'kill' : `kill -${first.slice(3)}`;
    throw new Error(`${here} (${o.pidLabel} ${running.pid}, started by an unknown process): stop it first (${kill} ${running.pid})`);
  }
  if (ownerAlive(owner)) throw new Error(`${here}, started by onramp process ${owner.pid}, which is still running: stop that process first`);
  o.notice?.(
    `onramp: ${service} (pid ${running.pid}) was left running under ${o.dataDir} by onramp process ${owner.pid}, which is gone: stopping it and starting afresh`,
  );
  if (!(await stopOrphan(running.pid, o.steps))) {
    throw new Error(`${here}: the ${service} left by onramp process ${owner.pid} (pid ${running.pid}) did not stop`);
  }
  removeOwner(o.ownerFile);
}
