import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startStack, createTestAgency, type TestStack, type TestAgency } from '../support/stack.js';
import { HEADER, agencySnapshot, uploadCsv, waitForImport } from './helpers.js';

let stack: TestStack;
let clean: TestAgency;
let crashed: TestAgency;
const children: ChildProcess[] = [];

const ROWS = 50_000;
/** 50k rows: 5,000 projects x 10 clients, two tasks each, with a bad row and a duplicate every 1,000 rows. */
function bigFile(): string {
  const lines = [HEADER];
  for (let i = 0; i < ROWS; i++) {
    const p = Math.floor(i / 10);
    if (i % 1000 === 7) lines.push(`Project ${p},ext-${p},Client onboarding,Bad,Row,not-an-email,,`);
    else if (i % 1000 === 8) lines.push(`Project ${p},ext-${p},,Dup,Row,C${i - 2}@crash.test,,`);
    else lines.push(`Project ${p},ext-${p},Client onboarding,First${i},Last${i},c${i}@crash.test,Welcome call;Share brand assets,Hello ${i}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

function startWorkerProcess(extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./workerProcess.mjs', import.meta.url))], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: stack.config.databaseUrl!,
      REDIS_URL: stack.config.redisUrl!,
      REDIS_PREFIX: stack.config.redisPrefix,
      APP_SECRET: stack.deps.appSecret,
      DATA_DIR: stack.config.dataDir,
      PUBLIC_BASE_URL: stack.config.publicBaseUrl,
      IMPORT_BATCH_SIZE: '1000',
      LOG_LEVEL: 'warn',
      SWEEP_INTERVAL_SECONDS: '3600',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
}

beforeAll(async () => {
  stack = await startStack({ worker: false, smtp: false });
  clean = await createTestAgency(stack, 'Clean run');
  crashed = await createTestAgency(stack, 'Crashed run');
});
afterAll(async () => {
  // Gone before stack.close() removes the DATA_DIR they share.
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGKILL');
    await once(c, 'exit');
  }
  await stack.close();
});

it('a worker killed (SIGKILL) mid-import resumes in a new worker to exactly the result of a clean run', async () => {
  const file = bigFile();
  const w1 = await startWorkerProcess({ IMPORT_LANES: '2' });
  const up1 = await uploadCsv(stack.url, clean.key, file);
  expect(up1.status).toBe(202);
  const cleanRun = await waitForImport(stack.url, clean.key, up1.body.id, 600_000);
  expect(cleanRun.status).toBe('completed');

  const up2 = await uploadCsv(stack.url, crashed.key, file);
  expect(up2.status).toBe(202);
  let progress = 0;
  for (let i = 0; i < 6000 && progress < 10_000; i++) {
    const { rows } = await stack.deps.pool.query<{ checkpoint_row: number }>('select checkpoint_row from imports where id = $1', [up2.body.id]);
    progress = rows[0]!.checkpoint_row;
    if (progress < 10_000) await new Promise((r) => setTimeout(r, 20));
  }
  w1.kill('SIGKILL');
  await once(w1, 'exit');
  const { rows: mid } = await stack.deps.pool.query<{ status: string; checkpoint_row: number }>('select status, checkpoint_row from imports where id = $1', [
    up2.body.id,
  ]);
  // Killed between batches or in the middle of one: either way, not finished.
  expect(mid[0]!.status).toBe('running');
  expect(mid[0]!.checkpoint_row).toBeGreaterThanOrEqual(10_000);
  expect(mid[0]!.checkpoint_row).toBeLessThan(ROWS);

  // The resuming worker is configured with another lane count: an import keeps the lanes of its first run,
  // so every row still goes to the lane whose checkpoint covers it. It also checks foreign keys by trigger
  // where the first checked them by set: the rest of the file is written the other way, same result.
  const { rows: lanesBefore } = await stack.deps.pool.query('select lane from import_lanes where import_id = $1 order by lane', [up2.body.id]);
  expect(lanesBefore).toEqual([{ lane: 0 }, { lane: 1 }]);
  const w2 = await startWorkerProcess({ IMPORT_LANES: '3', IMPORT_SET_BASED_FK_CHECKS: 'false' });
  const resumed = await waitForImport(stack.url, crashed.key, up2.body.id, 600_000);
  expect(resumed.status).toBe('completed');
  expect(resumed.counts).toEqual(cleanRun.counts);
  expect(cleanRun.counts).toMatchObject({
    rows: ROWS,
    errors: 50,
    duplicates: 50,
    projects_created: 5000,
    clients_invited: ROWS - 100,
    assignments: 2 * (ROWS - 100),
  });

  const [a, b] = [await agencySnapshot(stack.deps.pool, clean.agencyId), await agencySnapshot(stack.deps.pool, crashed.agencyId)];
  for (const table of Object.keys(a)) expect({ table, rows: b[table] }).toEqual({ table, rows: a[table] });
  const errs = async (id: string) =>
    (await stack.deps.pool.query('select row_number, error, values from import_errors where import_id = $1 order by row_number', [id])).rows;
  expect(await errs(up2.body.id)).toEqual(await errs(up1.body.id));

  // One email row per invitation, and every email row handed to the email worker: the queue-emails jobs
  // (one per committed batch, plus the resume's) carry exactly the ids of the email rows. An id carried
  // twice is one send-email job (deterministic job ids); no id belongs to a batch that did not commit.
  const { rows: emailRows } = await stack.deps.pool.query<{ id: string; invitation_id: string }>(
    'select id, invitation_id from emails where agency_id = any($1::uuid[])',
    [[clean.agencyId, crashed.agencyId]],
  );
  expect(emailRows).toHaveLength(2 * (ROWS - 100));
  expect(new Set(emailRows.map((r) => r.invitation_id)).size).toBe(emailRows.length);
  const handed = await stack.deps.jobs.queue('email').getJobs(['waiting', 'delayed', 'prioritized']);
  expect(handed.every((j) => j.name === 'queue-emails')).toBe(true);
  const carried = new Set(handed.flatMap((j) => (j.data as { emailIds: string[] }).emailIds));
  expect([...carried].sort()).toEqual(emailRows.map((r) => r.id).sort());
  w2.kill('SIGTERM');
  await once(w2, 'exit');
}, 900_000);
