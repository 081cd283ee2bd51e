import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

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

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/**
 * The command that runs `command` so that it gets `signal` when this process dies, however it dies: Linux's
 * parent-death signal, set by util-linux's setpriv just before it execs the service (same pid). Without it a
 * `onramp start` killed with SIGKILL (or by the OOM killer) runs no exit handler and leaves its detached
 * services running. It does not disturb the ordered stop: the signal comes only when this process exits, and
 * an ordered stop has stopped the services before that; the services stay out of the terminal's process
 * group, so Ctrl-C still reaches Onramp alone. The signal is each service's clean stop (PostgreSQL's fast
 * shutdown, Redis's SHUTDOWN). Where setpriv is missing (macOS, minimal images) the services are started as
 * they are, and the next `onramp start` stops the orphans (owner.ts).
 */
export function dieWithParent(signal: NodeJS.Signals, command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux' || !SETPRIV) return [command, args];
  return [SETPRIV, ['--pdeathsig', signal, '--', command, ...args]];
}
