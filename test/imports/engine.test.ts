import { ConfigError, loadConfig, RetryableError, withRetryableTransaction } from '@onramp/core';
import { startStack, createTestAgency, type TestStack } from '../support/stack.js';
import { HEADER, csv, importAndWait } from './helpers.js';

/**
 * The engine's plumbing: which failures the batch transaction retries, and the profile (IMPORT_PROFILE,
 * read through the config) that times each step of each batch.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack({ smtp: false, env: { IMPORT_PROFILE: '1', IMPORT_BATCH_SIZE: '10' } });
});
afterAll(async () => {
  await stack.close();
});

describe('withRetryableTransaction', () => {
  it('retries a RetryableError (a fresh transaction each time) and stops at the first success', async () => {
    let attempts = 0;
    const result = await withRetryableTransaction(stack.deps.pool, async (tx) => {
      attempts++;
      await tx.query('create temporary table retry_probe (n int) on commit drop');
      if (attempts < 3) throw new RetryableError('not yet');
      return 'done';
    });
    expect({ result, attempts }).toEqual({ result: 'done', attempts: 3 });
  });

  it('does not retry a unique violation nobody marked as retryable', async () => {
    let attempts = 0;
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    await expect(
      withRetryableTransaction(stack.deps.pool, async () => {
        attempts++;
        throw unique;
      }),
    ).rejects.toBe(unique);
    expect(attempts).toBe(1);
  });

  it('gives up after its attempts with the last error', async () => {
    let attempts = 0;
    await expect(
      withRetryableTransaction(
        stack.deps.pool,
        async () => {
          attempts++;
          throw new RetryableError(`attempt ${attempts}`);
        },
        4,
      ),
    ).rejects.toThrow('attempt 4');
    expect(attempts).toBe(4);
  });
});

describe('IMPORT_PROFILE', () => {
  it('is a setting of the config: 0, 1 or explain', () => {
    expect(loadConfig({}).importProfile).toBe('off');
    expect(loadConfig({ IMPORT_PROFILE: '1' }).importProfile).toBe('phases');
    expect(loadConfig({ IMPORT_PROFILE: 'explain' }).importProfile).toBe('explain');
    expect(() => loadConfig({ IMPORT_PROFILE: 'yes' })).toThrow(ConfigError);
  });

  it('writes one line per batch with the time of each named step, and one for the run', async () => {
    const ag = await createTestAgency(stack, 'Profile');
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const res = await importAndWait(stack.url, ag.key, csv(HEADER, ...Array.from({ length: 12 }, (_, i) => `Prof,,Client onboarding,F${i},L${i},p${i}@prof.test,Welcome call,`)));
      expect(res.status).toBe('completed');
    } finally {
      process.stderr.write = write;
    }
    const lines = written.join('').split('\n').filter((l) => l.startsWith('{"import_profile"')).map((l) => JSON.parse(l));
    const batches = lines.filter((l) => l.import_profile === 'batch');
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(batches[0].ms)).toEqual(
      expect.arrayContaining(['resolve templates', 'screen clients', 'plan projects', 'drop duplicates', 'write projects', 'write clients', 'write invitations', 'write assignments', 'transaction']),
    );
    expect(lines.filter((l) => l.import_profile === 'run')).toHaveLength(1);
  });
});
