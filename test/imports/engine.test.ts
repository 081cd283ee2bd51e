import { applyImportBatch, ConfigError, loadConfig, mapHeader, RetryableError, withRetryableTransaction } from '@onramp/core';
import { client } from '../support/http.js';
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

describe('a batch racing the invite API', () => {
  it('is retried from its reads when a pending invitation for one of its rows commits after it read: the row is then already invited', async () => {
    const ag = await createTestAgency(stack, 'Race');
    const api = client(stack.url, ag.key);
    const project = await api.post('/v1/projects', { name: 'Raced', external_id: 'raced' });
    // The client exists already (invited elsewhere), so the only thing the two writers meet on is the invitation.
    const other = await api.post('/v1/projects', { name: 'Elsewhere', clients: [{ email: 'race@x.test', first_name: 'Ra', last_name: 'Ce' }] });
    const clientId = other.body.clients[0].client_id;
    const { rows } = await stack.deps.pool.query<{ id: string }>(
      `insert into imports (agency_id, created_by, filename, dry_run, send_emails) values ($1, $2, 'race.csv', false, false) returning id`,
      [ag.agencyId, ag.userId],
    );
    const importId = rows[0]!.id;

    // Another writer's pending invitation for the pair, not committed yet.
    const writer = await stack.deps.pool.connect();
    let attempts = 0;
    try {
      await writer.query('begin');
      await writer.query(
        `insert into invitations (agency_id, project_id, client_id, email, expires_at) values ($1, $2, $3, 'race@x.test', now() + interval '7 days')`,
        [ag.agencyId, project.body.id, clientId],
      );
      const batch = withRetryableTransaction(stack.deps.pool, async (tx) => {
        attempts++;
        await tx.query(`select set_config('application_name', 'race-batch', true)`);
        return applyImportBatch(
          tx,
          {
            appSecret: stack.deps.appSecret,
            importId,
            agencyId: ag.agencyId,
            actorId: ag.userId,
            sendEmails: false,
            defaultTemplate: null,
            expiryDays: 7,
            header: mapHeader(HEADER.split(',')).map,
            templates: new Map(),
            checkReferencesBySet: false,
          },
          [{ rowNumber: 2, values: 'Raced,raced,,Ra,Ce,race@x.test,,'.split(',') }],
        );
      });
      let settled = false;
      batch.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The batch read no pending invitation and now waits on the other writer's entry in the unique index.
      while (!settled) {
        const waiting = await stack.deps.pool.query(`select 1 from pg_stat_activity where application_name = 'race-batch' and wait_event_type = 'Lock'`);
        if (waiting.rowCount) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await writer.query('commit');
      const result = await batch;
      expect(attempts).toBe(2);
      expect(result.counts).toMatchObject({ rows: 1, clients_invited: 0, already_invited: 1, errors: 0 });
    } finally {
      await writer.query('rollback').catch(() => undefined);
      writer.release();
    }
    const pending = await stack.deps.pool.query(`select 1 from invitations where project_id = $1 and email_normalized = 'race@x.test' and status = 'pending'`, [
      project.body.id,
    ]);
    expect(pending.rowCount).toBe(1);
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
      const res = await importAndWait(
        stack.url,
        ag.key,
        csv(HEADER, ...Array.from({ length: 12 }, (_, i) => `Prof,,Client onboarding,F${i},L${i},p${i}@prof.test,Welcome call,`)),
      );
      expect(res.status).toBe('completed');
    } finally {
      process.stderr.write = write;
    }
    const lines = written
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{"import_profile"'))
      .map((l) => JSON.parse(l));
    const batches = lines.filter((l) => l.import_profile === 'batch');
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(batches[0].ms)).toEqual(
      expect.arrayContaining([
        'resolve templates',
        'screen clients',
        'plan projects',
        'drop duplicates',
        'write projects',
        'write clients',
        'write invitations',
        'write assignments',
        'transaction',
      ]),
    );
    expect(lines.filter((l) => l.import_profile === 'run')).toHaveLength(1);
  });
});
