// The rules eslint.config.js keeps for the whole tree (the lint step of npm test fails on any violation):
// the layer boundaries and one way to compare secrets. This suite proves each rule fires on the code it
// forbids and stays quiet on the code it allows, so a weakened config cannot pass unnoticed.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The rule ids ESLint reports for `code` as if it were the file at `path` (relative to the repository). */
async function violations(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return [...new Set(result!.messages.filter((m) => m.severity === 2).map((m) => m.ruleId ?? m.message))];
}

describe('import boundaries: connector-api -> core <- worker; nothing imports the CLI', () => {
  it.each([
    ['core/src/usecases/x.ts', "import express from 'express';\nexport const app = express;"],
    ['core/src/usecases/x.ts', "import { Worker } from 'bullmq';\nexport const w = Worker;"],
    ['core/src/usecases/x.ts', "import { app } from '@onramp/connector-api';\nexport const a = app;"],
    ['core/src/usecases/x.ts', "import { run } from '../../../worker/src/index.js';\nexport const r = run;"],
    ['worker/src/processors/x.ts', "import { app } from '@onramp/connector-api';\nexport const a = app;"],
    ['worker/src/processors/x.ts', "import { routes } from '../../../connector-api/src/routes/index.js';\nexport const r = routes;"],
    ['connector-api/src/routes/x.ts', "import { main } from '@onramp/cli';\nexport const m = main;"],
    ['worker/src/processors/x.ts', "import { main } from '../../../cli/src/index.js';\nexport const m = main;"],
  ])('%s: %s is refused', async (path, code) => {
    expect(await violations(path, code)).toEqual(['no-restricted-imports']);
  });

  it.each([
    ['core/src/jobs/x.ts', "import { Queue } from 'bullmq';\nexport const q = Queue;"],
    ['connector-api/src/routes/x.ts', "import express from 'express';\nimport { loadConfig } from '@onramp/core';\nexport const a = [express, loadConfig];"],
    ['worker/src/processors/x.ts', "import { Worker } from 'bullmq';\nimport { loadConfig } from '@onramp/core';\nexport const a = [Worker, loadConfig];"],
    ['test/foundation/x.test.ts', "import { main } from '@onramp/cli';\nexport const m = main;"],
    ['bench/src/x.ts', "import { main } from '@onramp/cli';\nexport const m = main;"],
  ])('%s: %s is allowed', async (path, code) => {
    expect(await violations(path, code)).toEqual([]);
  });
});

describe('secrets are compared only with safeEqual', () => {
  it.each([
    'export const ok = (presentedToken: string, storedToken: string) => presentedToken === storedToken;',
    'export const ok = (row: { token_hash: Buffer }, hash: Buffer) => row.token_hash.equals(hash);',
    'export const ok = (sig: string, signature: string) => sig !== signature;',
    'export const ok = (a: { csrf: string }, b: string) => b == a.csrf;',
    'export const ok = (a: Buffer, b: Buffer) => Buffer.compare(a, b) === 0;',
    "import { timingSafeEqual } from 'node:crypto';\nexport const ok = timingSafeEqual;",
  ])('refused in core, connector-api and worker: %s', async (code) => {
    for (const path of ['core/src/usecases/x.ts', 'connector-api/src/pages/x.ts', 'worker/src/processors/x.ts']) {
      expect({ path, rules: await violations(path, code) }).toEqual({ path, rules: [expect.stringMatching(/^no-restricted-(syntax|imports)$/)] });
    }
  });

  it.each([
    "import { safeEqual } from '../crypto/tokens.js';\nexport const ok = (a: Buffer, b: Buffer) => safeEqual(a, b);",
    'export const live = (row: { token_hash: Buffer | null }) => row.token_hash !== null && row.token_hash !== undefined;',
    "export const kind = (secret: string | undefined) => typeof secret === 'string' && secret.length > 0;",
    'export const same = (row: { token_ciphertext: Buffer }, n: number) => row.token_ciphertext.length === n;',
  ])('allowed: %s', async (code) => {
    expect(await violations('core/src/usecases/x.ts', code)).toEqual([]);
  });

  it('timingSafeEqual is imported by safeEqual itself, and nowhere else', async () => {
    expect(await violations('core/src/crypto/tokens.ts', "import { timingSafeEqual } from 'node:crypto';\nexport const ok = timingSafeEqual;")).toEqual([]);
  });
});
