import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Loads the compiled Zapier app (zapier-app/dist) and zapier-platform-core, so the contract suites drive exactly
 * what `zapier-platform push` uploads, the way Zapier runs it.
 *
 * zapier-app keeps no node_modules of its own: its one runtime dependency (zapier-platform-core) and its tools
 * (the CLI, jest, ts-jest, nock) are devDependencies of the repository root, so `zapier-platform build` copies a
 * folder of a few dozen files (see zapier-app/README.md). dist is rebuilt when any src file is newer than it, so a
 * stale build can never be what the contract tests check.
 */

export const zapierAppDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../zapier-app');

export const repoRoot = resolve(zapierAppDir, '..');

/** PATH with the repository's tools first: Node 22 (the `node` devDependency), tsc, zapier-platform. */
export const toolsPath = (): string => `${join(repoRoot, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`;

const npm = (...args: string[]) =>
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['--prefix', zapierAppDir, ...args], {
    cwd: zapierAppDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: toolsPath(), DISABLE_ZAPIER_ANALYTICS: '1' },
  });

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The contract suites run in parallel jest workers: one installs/builds while the others wait (an atomic mkdir
 * is the lock; one left behind by a killed run is taken over after 15 minutes).
 */
export async function withBuildLock<T>(fn: () => T | Promise<T>): Promise<T> {
  const lock = join(zapierAppDir, '.contract-build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds dist when it is missing or older than src; call it holding the build lock. */
export function buildIfStale(): void {
  const dist = join(zapierAppDir, 'dist', 'index.js');
  const sources = Math.max(newestMtime(join(zapierAppDir, 'src')), statSync(join(zapierAppDir, 'package.json')).mtimeMs);
  if (!existsSync(dist) || statSync(dist).mtimeMs < sources) npm('run', 'build');
}

/** A Zapier bundle as the platform hands it to a perform (only the parts these tests use). */
export interface ZBundle {
  authData: { base_url: string; api_key: string };
  inputData?: Record<string, unknown>;
  meta?: Record<string, unknown>;
  targetUrl?: string;
  subscribeData?: Record<string, unknown>;
  cleanedRequest?: unknown;
}

// zapier-platform-core is not typed for this package (it lives in zapier-app/node_modules): the few shapes used.
interface ZObject {
  cursor: { get(): Promise<string>; set(value: string): Promise<null> };
  [key: string]: unknown;
}
export type Perform = (z: ZObject, bundle: ZBundle) => unknown;
type Operation = Record<string, unknown> & { perform: Perform; sample?: Record<string, unknown> };
interface ZapierApp {
  version: string;
  authentication: { test: Perform; connectionLabel: string };
  triggers: Record<string, { key: string; operation: Operation }>;
  creates: Record<string, { key: string; operation: Operation }>;
  searches: Record<string, { key: string; operation: Operation }>;
  searchOrCreates: Record<string, { search: string; create: string }>;
}
type AppTester = <T = unknown>(method: Perform | string, bundle: ZBundle) => Promise<T>;

export interface LoadedApp {
  app: ZapierApp;
  appTester: AppTester;
}

export async function loadZapierApp(): Promise<LoadedApp> {
  // createRequire from zapier-app's own folder: the app and the tester resolve the same zapier-platform-core.
  const requireFromApp = createRequire(join(zapierAppDir, 'package.json'));
  // Built and required under the lock: another suite's `zapier-platform build` recompiles dist in place.
  const { zapier, app } = await withBuildLock(() => {
    buildIfStale();
    return {
      zapier: requireFromApp('zapier-platform-core') as { createAppTester(app: unknown): AppTester },
      app: requireFromApp('./dist/index.js') as ZapierApp & { flags?: Record<string, unknown> },
    };
  });
  // On Zapier, zapier-platform-core replaces http.request/https.request of its own process with a logging
  // wrapper that only understands the two-argument form. Here the Onramp worker shares the process (and jest
  // shares core modules between suites), so the wrapper would turn the worker's got.post(url, options) into a
  // bare GET and break every later suite's webhooks. The app makes all its requests through z.request, which
  // logs on its own, so skipping the patch changes nothing the app does. (This copy of the app is private to
  // the test file: jest gives each file its own module registry.)
  app.flags = { ...app.flags, skipHttpPatch: true };
  return { app, appTester: zapier.createAppTester(app) };
}

/** The named function of an operation (perform, performList, performSubscribe, ...). */
export function op(definition: { operation: Record<string, unknown> } | undefined, name = 'perform'): Perform {
  const fn = definition?.operation[name];
  if (typeof fn !== 'function') throw new Error(`operation.${name} is not a function`);
  return fn as Perform;
}

/**
 * z.cursor talks to Zapier's servers (an RPC keyed by the Zap), which createAppTester cannot reach. Dropdown
 * paging therefore runs the trigger's real perform (with the real middleware and real HTTP) behind an
 * in-memory cursor store, as zapier-app's unit tests do; the store is the only stand-in.
 */
export function withCursorStore(perform: Perform, store: { value: string; sets: string[] }): Perform {
  return async (z, bundle) => {
    z.cursor = {
      get: async () => store.value,
      set: async (value: string) => {
        store.value = value;
        store.sets.push(value);
        return null;
      },
    };
    return perform(z, bundle);
  };
}

/** Runs `promise` expecting a rejection; returns the error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * Every key path of a JSON value: nested objects as `a.b`, array items as `a[].b` (the union over items).
 * Two payloads with the same paths have the same shape, which is what a Zap's field mapping relies on.
 */
export function keyPaths(value: unknown, prefix = ''): string[] {
  const out = new Set<string>();
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${p}[]`);
      return;
    }
    if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const path = p ? `${p}.${k}` : k;
        out.add(path);
        walk(child, path);
      }
    }
  };
  walk(value, prefix);
  return [...out].sort();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The JSON type of a value, with the string formats a Zap maps on (uuid, datetime, date, url) told apart. */
function valueType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') {
    if (UUID.test(v)) return 'uuid';
    if (DATETIME.test(v)) return 'datetime';
    if (DATE.test(v)) return 'date';
    if (/^https?:\/\//.test(v)) return 'url';
    return 'string';
  }
  return typeof v;
}

/**
 * Every key path of a JSON value with the type of its value: `{ "project.id": "uuid", "tasks[].title": "string" }`
 * (array items are unioned: "string|null" when items differ). Two payloads with the same shape have the same
 * fields with the same types, which is what a Zap's field mapping relies on.
 */
export function shapeOf(value: unknown): Record<string, string> {
  const types = new Map<string, Set<string>>();
  const walk = (v: unknown, p: string) => {
    if (p) types.set(p, (types.get(p) ?? new Set()).add(valueType(v)));
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${p}[]`);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) walk(child, p ? `${p}.${k}` : k);
    }
  };
  walk(value, '');
  return Object.fromEntries([...types.keys()].sort().map((k) => [k, [...types.get(k)!].sort().join('|')]));
}
