import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { createAgency, createPool, createTemplate, migrate, type Principal } from '@onramp/core';
import { freePort, startEmbeddedPostgres, startPrivateRedis } from '@onramp/cli';
import type { Goal } from './goals.js';
import { benchPostgresOptions } from './harness.js';
import { onInterrupt, stoppable } from './interrupt.js';
import { analyzeAsAutovacuumWould } from './onrampInvites.js';
import type { Bench } from './run.js';

/**
 * Create Project with 5 clients and a 10-task template, 50 concurrent connections, against the real API
 * (`onramp api` in its own process, PostgreSQL with its default durability, a private redis-server),
 * beside a bare Express 5 JSON POST in its own process on the same machine in the same run.
 *
 * Usage: npm run bench -- projects [seconds per run, default 10]
 *
 * Diagnostics, as the import bench's: BENCH_PG_SETTINGS="name=value …" for the embedded PostgreSQL (e.g.
 * `shared_preload_libraries=pg_stat_statements`), BENCH_PG_LOG=/path for its log (auto_explain's plans), and
 * BENCH_PG_TOP=1 to print the statements that took the most time (needs pg_stat_statements loaded).
 */
const CONNECTIONS = 50;
const CLIENTS = 5;
const TASKS = 10;

/** A server in its own process, ready once `readyUrl` answers. */
async function spawnServer(args: string[], env: Record<string, string>, readyUrl: string): Promise<() => Promise<void>> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = stoppable(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}) before it was ready:\n${err}`);
    const up = await fetch(readyUrl).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) return stop;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`server not ready after 30 s:\n${err}`);
}

const BARE_EXPRESS = `
import express from 'express';
const app = express();
app.use(express.json());
app.post('/projects', (req, res) => { res.status(201).json({ id: 'x', name: req.body.name, created: true }); });
app.get('/ready', (_req, res) => { res.json({ ok: true }); });
app.listen(Number(process.env.PORT), '127.0.0.1');
`;

const perSecond = (n: number) => Math.round(n).toLocaleString('en-US');

const row = (what: string, r: Result, unit: string, perRequest = 1) =>
  `| ${what} | ${perSecond((r['2xx'] / r.duration) * perRequest)} ${unit} | ${r.latency.p50} | ${r.latency.p99} | ${r.non2xx + r.errors + r.timeouts} |`;

const bench: Bench = async (args) => {
  const seconds = Number(args[0] ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'onramp-bench-projects-'));
  // The embedded PostgreSQL runs as the postgres user when we are root: it must be able to walk in.
  chmodSync(dir, 0o755);
  const db = await startEmbeddedPostgres(join(dir, 'data'), { attach: false, ...benchPostgresOptions() });
  const redis = await startPrivateRedis(join(dir, 'data'), { attach: false });
  const stops: Array<() => Promise<void>> = [];
  // Once, whether the bench ends or is interrupted (both may ask at the same time).
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      forget();
      for (const stop of stops) await stop();
      await redis.stop();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    })());
  const forget = onInterrupt(cleanUp);
  try {
    const pool = createPool(db.url, 4);
    await migrate(pool);
    const agency = await createAgency(pool, { name: 'Bench agency', ownerEmail: 'owner@bench.test' });
    const principal = { agencyId: agency.agency.id, userId: agency.owner.id, role: 'owner' } as Principal;
    const template = await createTemplate({ pool }, principal, {
      name: 'Bench template',
      tasks: Array.from({ length: TASKS }, (_, i) => ({ title: `Task ${i + 1}`, description: 'Something to do' })),
    });

    const barePort = await freePort();
    stops.push(await spawnServer(['--input-type=module', '-e', BARE_EXPRESS], { PORT: String(barePort) }, `http://127.0.0.1:${barePort}/ready`));
    const apiPort = await freePort();
    stops.push(
      await spawnServer(
        ['bin/onramp.js', 'api'],
        {
          NODE_ENV: 'production',
          PORT: String(apiPort),
          HOST: '127.0.0.1',
          PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
          DATABASE_URL: db.url,
          DATABASE_POOL_SIZE: '20',
          REDIS_URL: redis.url,
          REDIS_PREFIX: 'bench',
          APP_SECRET: randomBytes(32).toString('base64url'),
          LOG_LEVEL: 'warn',
          INVITES_PER_AGENCY_PER_HOUR: '10000000',
          DATA_DIR: join(dir, 'api'),
        },
        `http://127.0.0.1:${apiPort}/healthz`,
      ),
    );

    const loadBefore = loadavg()[0]!.toFixed(1);
    const bare = await autocannon({
      url: `http://127.0.0.1:${barePort}`,
      connections: CONNECTIONS,
      duration: seconds,
      method: 'POST',
      requests: [{ path: '/projects', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bare' }) }],
    });

    let n = 0;
    const runTag = randomBytes(3).toString('hex');
    const body = () => {
      const i = n++;
      const emails = Array.from({ length: CLIENTS }, (_, c) => `c${c}-${i}-${runTag}@client.test`);
      return JSON.stringify({
        name: `Deal ${i}`,
        external_id: `deal-${runTag}-${i}`,
        template_id: template.id,
        clients: emails.map((email, c) => ({ email, first_name: 'Client', last_name: `Number ${c}` })),
        assignments: emails.map((email, c) => ({ task: `Task ${c + 1}`, emails: [email] })),
      });
    };
    const createProjects = (connections: number, duration: number) =>
      autocannon({
        url: `http://127.0.0.1:${apiPort}`,
        connections,
        duration,
        requests: [
          {
            method: 'POST',
            path: '/v1/projects',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${agency.apiKey}` },
            setupRequest: (req) => ({ ...req, body: body() }),
          },
        ],
      });
    // As the invite bench: a warm-up, then ANALYZE (onrampInvites.ts), so the window measures a database in
    // use rather than its first minute, whose plans were made for empty tables.
    const warmUp = await createProjects(10, 3);
    await analyzeAsAutovacuumWould(pool);
    const create = await createProjects(CONNECTIONS, seconds);

    const { rows } = await pool.query<{ projects: number; tasks: number; invitations: number; emails: number; assignments: number }>(
      `select (select count(*)::int from projects where agency_id = $1) as projects,
              (select count(*)::int from tasks where agency_id = $1) as tasks,
              (select count(*)::int from invitations where agency_id = $1) as invitations,
              (select count(*)::int from emails where agency_id = $1) as emails,
              (select count(*)::int from task_assignees where agency_id = $1) as assignments`,
      [agency.agency.id],
    );
    if (process.env.BENCH_PG_TOP) {
      await pool.query('create extension if not exists pg_stat_statements');
      const { rows: top } = await pool.query(
        `select calls, round(total_exec_time)::int as ms, round(total_plan_time)::int as plan_ms, round((total_exec_time/greatest(calls,1))::numeric, 2) as mean, rows, shared_blks_hit + shared_blks_read as bufs, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) as q from pg_stat_statements order by total_exec_time + total_plan_time desc limit 25`,
      );
      console.table(top);
    }
    await pool.end();
    const c = rows[0]!;
    const projects = create['2xx'];
    const ofBare = ((create['2xx'] / create.duration / (bare['2xx'] / bare.duration)) * 100).toFixed(1);
    return {
      name: 'projects',
      lines: [
        `Create Project (\`POST /v1/projects\`): ${CLIENTS} clients invited (email queued) and ${CLIENTS} task assignments per project, ` +
          `tasks copied from a ${TASKS}-task template; ${CONNECTIONS} concurrent connections, ${seconds} s per run, after a 3 s warm-up and an ANALYZE; API = \`onramp api\` ` +
          '(one process, pool 20) against PostgreSQL with default durability (fsync on) and a private redis-server; ' +
          'the bare Express 5 JSON POST runs in its own process on the same machine in the same run.',
        '',
        '| run | throughput | p50 ms | p99 ms | errors / non-2xx |',
        '|---|---|---|---|---|',
        row('bare Express 5 JSON POST', bare, 'req/s'),
        row('Create Project', create, 'projects/s'),
        row('  = invitations created', create, 'invitations/s', CLIENTS),
        '',
        `Checked in the database afterwards: ${c.projects} projects (${warmUp['2xx']} from the warm-up, ${projects} answered 201 within the run; the rest were in flight when the clock stopped), ${c.tasks} tasks ` +
          `(${TASKS} each: ${c.tasks === c.projects * TASKS ? 'yes' : 'NO'}), ${c.invitations} invitations, ${c.emails} queued emails, ` +
          `${c.assignments} assignments (${CLIENTS} each: ${c.assignments === c.projects * CLIENTS && c.invitations === c.projects * CLIENTS ? 'yes' : 'NO'}).`,
        `Machine load average (1 min) when the runs started: ${loadBefore} on ${cpus().length} cores (other work on the machine shares them).`,
        `Create Project runs at ${ofBare} % of the bare Express request rate.`,
      ],
      goals: [
        {
          goal: `Create Project with ${CLIENTS} clients at ${CONNECTIONS} connections (no budget: a figure a buyer compares)`,
          measured: `${perSecond(create['2xx'] / create.duration)} projects/s = ${perSecond((create['2xx'] * CLIENTS) / create.duration)} invitations/s, p99 ${create.latency.p99} ms; ${ofBare}% of the bare POST`,
          met: null,
        } satisfies Goal,
      ],
    };
  } finally {
    await cleanUp();
  }
};

export default bench;
