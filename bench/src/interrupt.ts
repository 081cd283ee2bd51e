import type { ChildProcess } from 'node:child_process';

/**
 * What a running bench started, to undo when the run is interrupted. Ctrl-C reaches the bench's children too
 * (one process group) and they stop themselves, but their data directories stay behind in the temp dir (about
 * 2 GB for the list bench's seeded database); a SIGTERM sent to the bench alone would leave the children running.
 */
const undo = new Set<() => Promise<unknown>>();
let undoing = false;

/** Whether a signal has come: the run is being undone, and the handler exits when that is done. */
export function interrupted(): boolean {
  return undoing;
}

/** `fn` runs if the run is interrupted before the returned function is called. */
export function onInterrupt(fn: () => Promise<unknown>): () => void {
  undo.add(fn);
  return () => {
    undo.delete(fn);
  };
}

/**
 * On the first SIGINT or SIGTERM, undo what is registered, newest first (a bench's children before the database
 * and the directory they use), then exit; a second Ctrl-C exits at once.
 */
export function undoOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // A listener that stays (not `once`): the embedded services' own signal guard (cli's stopOnSignal) exits at
    // once unless another listener is there to stop them in order, which is what this one does.
    process.on(signal, () => {
      if (undoing) process.exit(signal === 'SIGINT' ? 130 : 143);
      undoing = true;
      console.error(`\n${signal}: stopping what the bench started and removing its data (Ctrl-C again to leave it)`);
      void (async () => {
        for (const fn of [...undo].reverse()) await fn().catch((err: unknown) => console.error(err));
        process.exit(signal === 'SIGINT' ? 130 : 143);
      })();
    });
  }
}

/**
 * The stop of a child the bench started: SIGTERM unless it has exited, then its exit awaited; safe to call
 * twice. It also runs if the run is interrupted while the child lives. Call it right after the spawn.
 */
export function stoppable(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  child.once('exit', onInterrupt(stop));
  return stop;
}
