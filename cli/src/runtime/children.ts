import type { ChildProcess } from 'node:child_process';

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * Stop a child we started: each signal in turn, waiting up to its time for the exit, so a service that
 * does not stop (a hung disk, a stuck checkpoint) cannot hold the shutdown past its deadline.
 */
export async function stopChild(child: ChildProcess, steps: Array<[NodeJS.Signals, number]>): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const [signal, waitMs] of steps) {
    if (exited(child)) return;
    try {
      child.kill(signal);
    } catch {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([gone.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(50, waitMs))))]);
    clearTimeout(timer);
    if (stopped) return;
  }
}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
const guards = new Set<() => void>();
let guarding = false;

function onSignal(signal: keyof typeof SIGNAL_NUMBERS): void {
  // A long-running command (`onramp start`) has its own listener and its ordered stop: leave it to that.
  if (process.listenerCount(signal) > 1) return;
  for (const kill of guards) kill();
  process.exit(128 + SIGNAL_NUMBERS[signal]);
}

/**
 * The embedded services run detached (their own process group), so a Ctrl-C no longer reaches them
 * directly, and a signal that kills Node runs no 'exit' handler. For a short command that started one
 * (`onramp agency create` with nothing running), a signal stops the service, then the process, as the
 * default action would have. Returns the function that forgets the guard (the service was stopped).
 */
export function stopOnSignal(kill: () => void): () => void {
  guards.add(kill);
  if (!guarding) {
    guarding = true;
    for (const signal of Object.keys(SIGNAL_NUMBERS) as Array<keyof typeof SIGNAL_NUMBERS>) process.on(signal, onSignal);
  }
  return () => guards.delete(kill);
}
