/**
 * The worker's memory budget. V8 sizes its heap from the machine's free memory, so on a large machine a
 * worker streaming a CSV import lets garbage pile up to a few hundred MB before it collects, although what
 * it keeps alive is ~50 MB whatever the file size. A heap cap makes the collector work near the live set.
 * V8 reads the flag only at start, so the process re-executes itself in place with it: the same pid, so
 * supervisors, signals and `kill` see one process.
 */
const DEFAULT_WORKER_MAX_HEAP_MB = 192;

const HEAP_FLAG = '--max-old-space-size';

/** The worker's heap cap in MB, from WORKER_MAX_HEAP_MB (a malformed value is left to the config schema, which names it). */
export function workerMaxHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WORKER_MAX_HEAP_MB;
  return raw !== undefined && /^\d+$/.test(raw.trim()) ? Number(raw) : DEFAULT_WORKER_MAX_HEAP_MB;
}

/** Node flags for a process that runs the worker: the cap from WORKER_MAX_HEAP_MB, unless one is already set. */
export function workerHeapArgs(env: NodeJS.ProcessEnv = process.env, execArgv: string[] = process.execArgv): string[] {
  if (execArgv.some((a) => a.startsWith(HEAP_FLAG)) || (env.NODE_OPTIONS ?? '').includes(HEAP_FLAG)) return [];
  return [`${HEAP_FLAG}=${workerMaxHeapMb(env)}`];
}

/**
 * Before anything is loaded: `worker` re-executes with the heap cap. (`start` runs its worker in a thread
 * with the cap as the thread's own limit, so the API beside it is not capped: see workerThread.ts.)
 */
export function reexecWithWorkerHeap(argv: string[] = process.argv): void {
  const command = argv[2];
  if (command !== 'worker') return;
  if (argv.includes('--help') || argv.includes('-h')) return;
  const extra = workerHeapArgs();
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve;
  // process.execve exists from Node 22.15; without it the worker runs with V8's own sizing.
  if (extra.length === 0 || typeof execve !== 'function') return;
  execve(process.execPath, [process.execPath, ...extra, ...process.execArgv, ...argv.slice(1)], process.env);
}
