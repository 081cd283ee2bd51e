import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU time (ms) of a process: its own and its reaped children's (utime, stime, cutime, cstime). */
function cpuTicksOf(stat: string): { ppid: number; ticks: number; systemTicks: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), systemTicks: Number(f[12]) + Number(f[14]) };
}

export interface PostgresCpu {
  /** CPU ms by process role. */
  byRole: Map<string, number>;
  /** CPU ms of all roles together, and the part of it spent in the kernel. */
  totalMs: number;
  systemMs: number;
}

/**
 * CPU time (ms) of PostgreSQL by process role (`backend`, `walwriter`, `checkpointer`, `io worker`, ...,
 * and `postmaster`, which holds reaped backends' time), read in one pass over /proc so the total, the
 * kernel part and the roles are one snapshot: with the bench's own embedded server, its postmaster and
 * live children only (the machine may run other PostgreSQL servers, e.g. other test runs, whose CPU is not
 * the import's); otherwise every PostgreSQL process on the machine, as `postgres`.
 */
export function postgresCpu(dataDir: string | null): PostgresCpu {
  let postmaster: number | null = null;
  if (dataDir) {
    try {
      postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      postmaster = null;
    }
  }
  const out: PostgresCpu = { byRole: new Map(), totalMs: 0, systemMs: 0 };
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const p = cpuTicksOf(stat);
      if (postmaster !== null && Number(pid) !== postmaster && p.ppid !== postmaster) continue;
      // A child's title: "postgres: walwriter", "postgres: io worker 0", "postgres: onramp onramp 127.0.0.1(…) idle".
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const role =
        postmaster === null
          ? 'postgres'
          : Number(pid) === postmaster
            ? 'postmaster'
            : /^postgres: \S+ \S+ \d/.test(title)
              ? 'backend'
              : title
                  .replace(/^postgres: /, '')
                  .replace(/ \d+\s*$/, '')
                  .trim();
      out.byRole.set(role, (out.byRole.get(role) ?? 0) + p.ticks * 10);
      out.totalMs += p.ticks * 10;
      out.systemMs += p.systemTicks * 10;
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

const ticksMs = (ticks: number) => ticks * 10;

function statOf(path: string): { ppid: number; ticks: number; systemTicks: number; comm: string } | null {
  try {
    const stat = readFileSync(path, 'utf8');
    return { ...cpuTicksOf(stat), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) };
  } catch {
    return null;
  }
}

/**
 * CPU time (ms) of a running `onramp start` by part: its main thread (the API), the rest of its process
 * (the worker thread, V8's garbage collector and compiler threads, libuv's pool: Linux names them all
 * `node`, so they are told apart only from the main thread), its PostgreSQL and its Redis; and of this
 * process, the load generator.
 */
export interface OnrampCpu {
  apiMainMs: number;
  apiOtherMs: number;
  postgresMs: number;
  /** Of postgresMs: the backends (the statements), the WAL writer, autovacuum's workers. */
  pgBackendsMs: number;
  pgWalWriterMs: number;
  pgAutovacuumMs: number;
  redisMs: number;
  loadgenMs: number;
}

export function onrampCpu(pid: number, dataDir: string): OnrampCpu {
  const proc = statOf(`/proc/${pid}/stat`);
  const main = statOf(`/proc/${pid}/task/${pid}/stat`);
  let redisMs = 0;
  for (const child of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const s = statOf(`/proc/${child}/stat`);
    if (s && s.ppid === pid && s.comm === 'redis-server') redisMs += ticksMs(s.ticks);
  }
  const pg = postgresCpu(dataDir);
  return {
    apiMainMs: ticksMs(main?.ticks ?? 0),
    apiOtherMs: ticksMs((proc?.ticks ?? 0) - (main?.ticks ?? 0)),
    postgresMs: pg.totalMs,
    pgBackendsMs: pg.byRole.get('backend') ?? 0,
    pgWalWriterMs: pg.byRole.get('walwriter') ?? 0,
    pgAutovacuumMs: pg.byRole.get('autovacuum worker') ?? 0,
    redisMs,
    loadgenMs: loadgenMs(),
  };
}

/** CPU time (ms) of a process (all its threads). */
export function processCpuMs(pid: number): number {
  return ticksMs(statOf(`/proc/${pid}/stat`)?.ticks ?? 0);
}

/** This process's CPU time (ms): the load generator's, since autocannon runs in it. */
export function loadgenMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function cpuSince<T extends object>(start: T, end: T): T {
  return Object.fromEntries(Object.entries(end).map(([k, v]) => [k, (v as number) - (start as Record<string, number>)[k]!])) as T;
}
