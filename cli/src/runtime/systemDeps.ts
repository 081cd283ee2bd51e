import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  for (const dir of ['/usr/bin', '/usr/sbin', '/usr/local/bin']) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // keep looking
    }
  }
  return null;
}

/**
 * Onramp promises a two-command setup on a fresh Debian machine: a missing system program is installed
 * from Debian's packages when we are root, otherwise we say exactly what to run.
 */
export function ensureSystemBinary(bin: string, debPackage: string, log: (line: string) => void = console.log): string {
  const found = which(bin);
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !which('apt-get')) {
    throw new Error(`${bin} is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y ${debPackage}) or set REDIS_URL.`);
  }
  log(`onramp: ${bin} not found; installing the Debian package ${debPackage} (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) throw new Error(`apt-get update failed (exit ${update.status}); install ${debPackage} by hand`);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', debPackage], { stdio: 'inherit', env });
  if (install.status !== 0) throw new Error(`apt-get install ${debPackage} failed (exit ${install.status})`);
  const now = which(bin);
  if (!now) throw new Error(`${debPackage} installed but ${bin} is still not on PATH`);
  return now;
}
