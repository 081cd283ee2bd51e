// Installs the Debian packages Onramp needs when they are missing: redis-server to run, plus chromium to
// test the pages. Runs as root on a fresh Debian machine (the setup contract); elsewhere it says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const purpose = process.argv[2] ?? 'start';
const wanted = [['redis-server', 'redis-server']];
if (purpose === 'test') wanted.push(['chromium', 'chromium']);

const onPath = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0 || existsSync(`/usr/bin/${bin}`);
const missing = wanted.filter(([bin]) => !onPath(bin)).map(([, pkg]) => pkg);
if (missing.length === 0) process.exit(0);

if (process.getuid?.() !== 0 || !onPath('apt-get')) {
  console.error(`onramp: missing system packages: ${missing.join(', ')}. Install them (Debian: apt-get install -y ${missing.join(' ')}).`);
  process.exit(1);
}
console.log(`onramp: installing ${missing.join(', ')} from Debian's packages...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', '--no-install-recommends', ...missing],
]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`onramp: apt-get ${args[0]} failed (exit ${r.status})`);
    process.exit(1);
  }
}
