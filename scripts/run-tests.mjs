// The whole suite: the linter (eslint.config.js: typescript-eslint, layer boundaries, safeEqual for secrets) and the
// dead-export check, the core suites (real PostgreSQL, Redis, SMTP, Chromium; test/zapier runs Zapier's CLI against a
// live Onramp), then the Zapier app's own unit tests and `zapier-platform validate`. Ends with one closing line that
// counts both.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

const steps = [];
function run(name, cmd, args, opts = {}) {
  console.log(`\n== ${name}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  steps.push({ name, ok: r.status === 0 });
  return r.status === 0;
}

const jest = (dir, out) => ['--experimental-vm-modules', join(dir, 'node_modules/jest/bin/jest.js'), '--ci', '--json', `--outputFile=${join(results, out)}`];

// Lint first: a boundary or secret-comparison violation fails the run even when every test passes.
run('lint', process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings', '0', '.']);
// Dead exports, unused files and duplicate exports (knip.json) are kept out the same way.
run('dead exports', process.execPath, [join(root, 'node_modules/knip/bin/knip.js'), '--no-progress']);
// Formatting is Prettier's (.prettierrc); a file written by hand in another style fails the run, not a review.
run('format', process.execPath, [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '.']);

// The Zapier app keeps no node_modules: zapier-platform-core and its tools (zapier-platform-cli, ts-jest, nock)
// are root devDependencies, so `zapier-platform build` copies a small folder (zapier-app/README.md). A
// node_modules left there by the older layout would be copied by every build and shadow the root's packages.
const zapier = join(root, 'zapier-app');
const stale = join(zapier, 'node_modules');
if (existsSync(stale)) {
  console.log('\n== zapier-app: removing zapier-app/node_modules (the app is now installed from the repository root)');
  rmSync(stale, { recursive: true, force: true });
}
// Built first: the core suites' contract tests (test/zapier) drive the compiled app.
const zapierReady = run('zapier-app: build', 'npm', ['run', 'build', '--silent'], { cwd: zapier });
run('core suites', process.execPath, [...jest(root, 'core.json'), ...process.argv.slice(2)]);
if (zapierReady) {
  run('zapier-app: unit tests', process.execPath, jest(root, 'zapier.json'), { cwd: zapier });
  run('zapier-app: validate', 'npx', ['--no-install', 'zapier-platform', 'validate', '--without-style', '--skip-build'], {
    cwd: zapier,
    env: { ...process.env, DISABLE_ZAPIER_ANALYTICS: '1' },
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of ['core.json', 'zapier.json']) {
  const path = join(results, file);
  if (!existsSync(path)) continue;
  const r = JSON.parse(readFileSync(path, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
  skipped += r.numPendingTests + r.numTodoTests;
}
const broken = steps.filter((s) => !s.ok);
if (broken.length) console.log(`\nFailed steps: ${broken.map((s) => s.name).join(', ')}`);
if (broken.length && failed === 0) failed = broken.length;
console.log(`\nTests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(broken.length ? 1 : 0);
