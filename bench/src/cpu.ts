import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One /proc/<pid>/stat: the process's name, parent, and CPU ms (its own and its reaped children's). */
interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  ms: number;
  systemMs: number;
}

function statOf(path: string): Omit<ProcStat, 'pid'> | null {
  try {
    const stat = readFileSync(path, 'utf8');
    // utime, stime, cutime, cstime, in clock ticks of 10 ms.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
      ms: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10,
      systemMs: (Number(f[12]) + Number(f[14])) * 10,
    };
  } catch {
    // The process ended between the listing and the read.
    return null;
  }
}

/** Every process on the machine, in one pass over /proc, so figures taken from it are one snapshot. */
function processes(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = statOf(`/proc/${d}/stat`);
    if (s) out.push({ pid: Number(d), ...s });
  }
  return out;
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
 * and `postmaster`, which holds reaped backends' time): with the bench's own embedded server, its postmaster and
 * live children only (the machine may run other PostgreSQL servers, e.g. other test runs, whose CPU is not
 * the import's); otherwise every PostgreSQL process on the machine, as `postgres`.
 */
export function postgresCpu(dataDir: string | null, all: ProcStat[] = processes()): PostgresCpu {
  let postmaster: number | null = null;
  if (dataDir) {
    try {
      postmaster = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      postmaster = null;
    }
  }
  const out: PostgresCpu = { byRole: new Map(), totalMs: 0, systemMs: 0 };
  for (const p of all) {
    if (p.comm !== 'postgres') continue;
    if (postmaster !== null && p.pid !== postmaster && p.ppid !== postmaster) continue;
    let role = 'postgres';
    if (postmaster !== null) {
      try {
        // A child's title: "postgres: walwriter", "postgres: io worker 0", "postgres: onramp onramp 127.0.0.1(…) idle".
        const title = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
        role =
          p.pid === postmaster
            ? 'postmaster'
            : /^postgres: \S+ \S+ \d/.test(title)
              ? 'backend'
              : title
                  .replace(/^postgres: /, '')
                  .replace(/ \d+\s*$/, '')
                  .trim();
      } catch {
        continue;
      }
    }
    out.byRole.set(role, (out.byRole.get(role) ?? 0) + p.ms);
    out.totalMs += p.ms;
    out.systemMs += p.systemMs;
  }
  return out;
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
  const all = processes();
  const procMs = all.find((p) => p.pid === pid)?.ms ?? 0;
  const mainMs = statOf(`/proc/${pid}/task/${pid}/stat`)?.ms ?? 0;
  const redisMs = all.filter((p) => p.ppid === pid && p.comm === 'redis-server').reduce((sum, p) => sum + p.ms, 0);
  const pg = postgresCpu(dataDir, all);
  return {
    apiMainMs: mainMs,
    apiOtherMs: procMs - mainMs,
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
  return statOf(`/proc/${pid}/stat`)?.ms ?? 0;
}

/** This process's CPU time (ms): the load generator's, since autocannon runs in it. */
export function loadgenMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function cpuSince<T extends object>(start: T, end: T): T {
  return Object.fromEntries(Object.entries(end).map(([k, v]) => [k, (v as number) - (start as Record<string, number>)[k]!])) as T;
}
