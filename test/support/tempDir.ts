import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

/**
 * Live processes at work in `dir`: their working directory is in it (the embedded PostgreSQL and redis-server
 * change into their data directories; redis-server rewrites its command line), or their command line (the
 * postmaster's `-D`) or environment (an `onramp` run with DATA_DIR there) names it. Zombies work nowhere.
 */
function processesIn(dir: string): number[] {
  const inside = (path: string) => path === dir || path.startsWith(`${dir}${sep}`);
  // Empty when the process is gone meanwhile, or is another user's we may not look into (its command line, which
  // anyone may read, still tells).
  const read = (pid: number, file: string) => {
    try {
      return file === 'cwd' ? readlinkSync(`/proc/${pid}/cwd`) : readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const stat = read(pid, 'stat');
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
    if (inside(read(pid, 'cwd')) || read(pid, 'cmdline').includes(dir) || read(pid, 'environ').includes(dir)) pids.push(pid);
  }
  return pids;
}

/**
 * Removes a test's temporary directory and all it holds, once nothing works in it any more. It runs in finally
 * blocks and after-hooks, where a throw would hide the test's own failure, so it never throws: a directory
 * already gone is fine, and one still in use (a server the failed test left running) or that cannot be removed
 * is left in place with a warning that names it.
 */
export function removeTempDir(dir: string | undefined): void {
  if (!dir) return;
  try {
    const users = process.platform === 'linux' ? processesIn(dir) : [];
    if (users.length > 0) {
      console.warn(`left ${dir} in place: process ${users.join(', ')} still works in it`);
      return;
    }
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    console.warn(`could not remove ${dir}: ${(err as Error).message}`);
  }
}

/**
 * The directories a suite's tests make for `onramp` processes: each in the system's temporary directory, mode 0755
 * (run as root, the embedded PostgreSQL runs as its own user and must reach its data); `removeAll()` from an
 * afterEach, once what ran in them has stopped.
 */
export function tempRoots(): { make(prefix: string): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make(prefix) {
      const root = mkdtempSync(join(tmpdir(), prefix));
      made.push(root);
      chmodSync(root, 0o755);
      return root;
    },
    removeAll() {
      for (const root of made.splice(0)) removeTempDir(root);
    },
  };
}
