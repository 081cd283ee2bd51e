// The rules a reviewer should not have to remember, kept by ESLint in `npm test` (scripts/run-tests.mjs):
// typescript-eslint's recommended set, the layer boundaries of docs/ARCHITECTURE.md, and one way to compare
// secrets (core's safeEqual). Style is Prettier's business (npm run format), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Names of values that hold a secret or a digest of one: compared only through safeEqual (constant time). */
const SECRET = '/(token|hash|secret|signature|csrf)(?!_?(ciphertext|purpose|prefix|type|kind))/i';
/** Comparing a secret-named value with null, undefined or a literal checks presence, not the secret. */
const secretCompare = (side, other) =>
  `BinaryExpression[operator=/^[!=]==?$/]:matches([${side}.name=${SECRET}], [${side}.property.name=${SECRET}])` +
  `:not([${other}.type='Literal']):not([${other}.name='undefined']):not([${other}.type='UnaryExpression'])`;
const safeEqualOnly = 'Secrets, hashes, signatures and tokens are compared with safeEqual (core/src/crypto/tokens.ts), in constant time.';

const coreImports = [
  { name: 'express', message: 'core knows nothing of HTTP: routes live in connector-api.' },
  { name: 'bullmq', importNames: ['Worker'], message: 'core enqueues (jobs/bus.ts); processing jobs is the worker’s job.' },
];
const packagesOutside = (names) => ({
  patterns: names.map((n) => ({
    group: [`@onramp/${n}`, `@onramp/${n}/*`, `**/${n}/src/**`, `**/${n}/dist/**`],
    message: `Imports flow connector-api -> core <- worker; ${n} is not imported from here.`,
  })),
});

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'zapier-app/**', 'data/**', 'coverage/**', '.test-results/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Directives written before the linter ran (some no longer needed) are harmless; the lint step reports errors only.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        FormData: 'readonly',
        Blob: 'readonly',
        queueMicrotask: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // Input sanitisers match control characters on purpose.
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-restricted-syntax': [
        'error',
        { selector: secretCompare('left', 'right'), message: safeEqualOnly },
        { selector: secretCompare('right', 'left'), message: safeEqualOnly },
        { selector: "CallExpression[callee.property.name='equals'][arguments.length=1]", message: safeEqualOnly },
        { selector: "CallExpression[callee.object.name='Buffer'][callee.property.name='compare']", message: safeEqualOnly },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly },
            { name: 'crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly },
          ],
          ...packagesOutside(['cli']),
        },
      ],
    },
  },
  {
    files: ['core/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...coreImports, { name: 'node:crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly }],
          ...packagesOutside(['connector-api', 'worker', 'cli']),
        },
      ],
    },
  },
  {
    files: ['worker/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node:crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly }],
          ...packagesOutside(['connector-api', 'cli']),
        },
      ],
    },
  },
  {
    files: ['connector-api/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'node:crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly }],
          ...packagesOutside(['worker', 'cli']),
        },
      ],
    },
  },
  // The one place that may call timingSafeEqual: safeEqual itself.
  {
    files: ['core/src/crypto/tokens.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: coreImports }] },
  },
  // The CLI wires everything together; tests and benchmarks drive every package, the CLI included.
  {
    files: ['cli/**', 'bin/**', 'test/**', 'bench/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'node:crypto', importNames: ['timingSafeEqual'], message: safeEqualOnly }] }],
    },
  },
  // Tests may compare what they know to be equal: they are not the server checking a presented secret.
  {
    files: ['test/**', 'bench/**'],
    rules: { 'no-restricted-syntax': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Progressive enhancement scripts served from /static run in the browser, not in Node.
    files: ['connector-api/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
);
