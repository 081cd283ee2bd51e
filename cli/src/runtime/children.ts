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
