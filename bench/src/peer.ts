import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createPool } from '@onramp/core';
import { freePort } from '@onramp/cli';
import { embeddedUrlFor } from './embedded.js';
import { bareFloor, fmt, load, startOnramp, type LoadResult } from './harness.js';
import { analyzeAsAutovacuumWould, inviteBody, seedOnrampInvites } from './onrampInvites.js';
import { stoppable } from './interrupt.js';
import type { Goal } from './goals.js';
import type { Bench } from './run.js';

const CONNECTIONS = 50;
/** Onramp's API pool in the invite bench (DATABASE_POOL_SIZE); Better Auth's pg Pool gets the same. */
const POOL_SIZE = 20;
const WARM_UP_SECONDS = 5;

interface TableCounts {
  inserted: number;
  updated: number;
}

/** Rows inserted and updated per table of the connection's database, and its committed transactions. */
async function dbCounters(pool: pg.Pool): Promise<{ tables: Map<string, TableCounts>; commits: number }> {
  const { rows } = await pool.query<{ relname: string; ins: string; upd: string }>(
    'select relname, n_tup_ins as ins, n_tup_upd as upd from pg_stat_user_tables',
  );
  const { rows: db } = await pool.query<{ commits: string }>('select xact_commit as commits from pg_stat_database where datname = current_database()');
  return { tables: new Map(rows.map((r) => [r.relname, { inserted: Number(r.ins), updated: Number(r.upd) }])), commits: Number(db[0]!.commits) };
}

type Counters = Awaited<ReturnType<typeof dbCounters>>;

/**
 * PostgreSQL's statistics reach pg_stat_user_tables when a backend flushes them (at most once a second while
 * busy, within 10 s of going idle), so the counters are read once the invitation table's insert count has caught
 * up with the invitations actually written.
 */
async function settledCounters(pool: pg.Pool, before: Counters, table: string, written: number): Promise<{ counters: Counters; settled: boolean }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const counters = await dbCounters(pool);
    const inserted = (counters.tables.get(table)?.inserted ?? 0) - (before.tables.get(table)?.inserted ?? 0);
    if (inserted >= written) return { counters, settled: true };
    if (Date.now() > deadline) return { counters, settled: false };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * autocannon stops at the deadline with up to 50 requests still in the server; they finish there. The rows
 * they write count in the window, so the count is read once it has stopped growing.
 */
async function quiescentCount(pool: pg.Pool, sql: string, params: unknown[]): Promise<number> {
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(sql, params);
    const n = rows[0]!.n;
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 1_500) {
      return n;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Per invitation written: rows inserted and rows updated per table, and transactions committed. */
function perInvitation(before: Counters, after: Counters, invitations: number): { inserted: string[]; updated: string[]; commits: number } {
  const inserted: string[] = [];
  const updated: string[] = [];
  for (const [table, now] of [...after.tables].sort(([a], [b]) => a.localeCompare(b))) {
    const was = before.tables.get(table) ?? { inserted: 0, updated: 0 };
    const ins = (now.inserted - was.inserted) / invitations;
    const upd = (now.updated - was.updated) / invitations;
    if (ins >= 0.005) inserted.push(`\`${table}\` ${fmt(ins, 2)}`);
    if (upd >= 0.005) updated.push(`\`${table}\` ${fmt(upd, 2)}`);
  }
  return { inserted, updated, commits: (after.commits - before.commits) / invitations };
}

/** Redis commands executed so far, by command (INFO commandstats over a plain socket). */
async function redisCommands(port: number): Promise<Map<string, number>> {
  const text = await new Promise<string>((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (header && Buffer.byteLength(reply) >= header[0].length + Number(header[1]) + 2) {
        socket.end();
        resolve(reply.slice(header[0].length));
      }
    });
    socket.on('error', reject);
    socket.write('INFO commandstats\r\n');
  });
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Better Auth (organization plugin) in its own Node process, on its own database of the same PostgreSQL. */
async function startBetterAuth(databaseUrl: string, tokenBytes: number) {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./betterAuthPeer.js', import.meta.url))], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, POOL_SIZE: String(POOL_SIZE), TOKEN_BYTES: String(tokenBytes) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = stoppable(child);
  let output = '';
  child.stderr!.on('data', (c) => (output += c));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      output += c;
      if (output.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`Better Auth peer exited (code ${code}): ${output.slice(-2000)}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    output: () => output,
    statements: async () => new Map(Object.entries((await (await fetch(`${url}/__statements`)).json()) as Record<string, number>)),
    stop,
  };
}

/**
 * Better Auth's invite reads every pending invitation of the organization (to compare their number with
 * `invitationLimit`): with all of a run's invitations in one organization, each invite would read thousands of rows
 * and the comparison would measure that scan. The measured invites are spread over this many organizations, as an
 * agency's are over its projects, so each organization holds a few dozen.
 */
const BENCH_ORGS = 100;

/** The owner's session cookie, a warm-up organization and BENCH_ORGS measured ones (the owner's in each). */
async function seedBetterAuth(url: string): Promise<{ headers: Record<string, string>; warmOrg: string; benchOrgs: string[] }> {
  let cookie = '';
  const call = async (path: string, body: unknown) => {
    const res = await fetch(`${url}/api/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url, ...(cookie ? { cookie } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`Better Auth ${path}: ${res.status} ${await res.text()}`);
    const set = res.headers.getSetCookie().find((c) => c.includes('session_token='));
    if (set) cookie = set.split(';')[0]!;
    return (await res.json()) as Record<string, unknown>;
  };
  await call('/sign-up/email', { email: 'owner@peer.test', password: 'bench-owner-password', name: 'Owner' });
  const warmOrg = (await call('/organization/create', { name: 'Warm', slug: 'warm' })).id as string;
  const benchOrgs: string[] = [];
  for (let o = 0; o < BENCH_ORGS; o++) benchOrgs.push((await call('/organization/create', { name: `Bench ${o}`, slug: `bench-${o}` })).id as string);
  await call('/organization/set-active', { organizationId: benchOrgs[0] });
  return { headers: { cookie, origin: url }, warmOrg, benchOrgs };
}

const row = (what: string, r: LoadResult, bare: LoadResult) =>
  `| ${what} | ${fmt(r.requestsPerSec)} | ${r.p50} | ${r.p99} | ${fmt(r.total)} | ${r.non2xx} | ${r.errors} | ${fmt((100 * r.requestsPerSec) / bare.requestsPerSec, 1)}% |`;

/**
 * Onramp's invite endpoint beside its most-used open-source TypeScript peer, Better Auth's organization plugin
 * (`POST /api/auth/organization/invite-member`), and a bare Express JSON POST, in one run on one machine: the same
 * PostgreSQL, 50 connections each, each measured alone after its own warm-up, each server one Node process with a
 * pool of 20. Better Auth's invitation email goes through the same outbox write Onramp makes.
 */
export const benchPeer: Bench = async (args) => {
  const seconds = Number(args[0] ?? 15);
  const loadAtStart = loadavg();
  const onramp = await startOnramp({ DATABASE_POOL_SIZE: String(POOL_SIZE) });
  const onrampUrl = embeddedUrlFor(onramp.dataDir);
  const onrampDb = createPool(onrampUrl, 1);
  let betterAuthDb: pg.Pool | undefined;
  try {
    const seeded = await seedOnrampInvites(onramp, 2);
    const [warmProject, benchProject] = seeded.projects as [string, string];
    // One invitation first, for the size of the token ciphertext Onramp's outbox row carries.
    const first = await fetch(`${onramp.url}/v1/projects/${warmProject}/invitations`, {
      method: 'POST',
      headers: seeded.headers,
      body: JSON.stringify({ email: 'first@client.test', first_name: 'First', last_name: 'Client' }),
    });
    if (first.status !== 201) throw new Error(`Onramp invite: ${first.status} ${await first.text()}`);
    const { rows: sized } = await onrampDb.query<{ bytes: number | null }>(
      `select octet_length(token_ciphertext) as bytes from emails where agency_id = $1 and kind = 'invitation' limit 1`,
      [seeded.agencyId],
    );
    const tokenBytes = sized[0]?.bytes ?? 0;

    // Better Auth first: Onramp's worker sends each queued email after the response (at EMAIL_RATE_PER_SECOND),
    // so measured after Onramp, Better Auth would share the cores with that backlog.
    await onrampDb.query('create database better_auth');
    const betterAuthUrl = Object.assign(new URL(onrampUrl), { pathname: '/better_auth' }).toString();
    betterAuthDb = createPool(betterAuthUrl, 1);
    const ba = await startBetterAuth(betterAuthUrl, tokenBytes);
    let peer: LoadResult;
    let baWrites: ReturnType<typeof perInvitation>;
    let baInvitations: number;
    let baSettled: boolean;
    const baStatements: string[] = [];
    let baStatementsPerInvite = 0;
    try {
      const session = await seedBetterAuth(ba.url);
      await load({
        url: ba.url,
        path: '/api/auth/organization/invite-member',
        headers: session.headers,
        body: (i) => ({ email: `warm${i}@client.test`, role: 'member', organizationId: session.warmOrg }),
        connections: CONNECTIONS,
        durationSeconds: WARM_UP_SECONDS,
      });
      const warm = await quiescentCount(betterAuthDb, 'select count(*)::int as n from invitation', []);
      await analyzeAsAutovacuumWould(betterAuthDb);
      const before = (await settledCounters(betterAuthDb, { tables: new Map(), commits: 0 }, 'invitation', warm)).counters;
      const statementsBefore = await ba.statements();
      peer = await load({
        url: ba.url,
        path: '/api/auth/organization/invite-member',
        headers: session.headers,
        body: (i) => ({ email: `user${i}@client.test`, role: 'member', organizationId: session.benchOrgs[i % BENCH_ORGS] }),
        connections: CONNECTIONS,
        durationSeconds: seconds,
      });
      baInvitations = await quiescentCount(betterAuthDb, 'select count(*)::int as n from invitation where "organizationId" = any($1)', [session.benchOrgs]);
      const statementsAfter = await ba.statements();
      if (peer.non2xx > 0 || peer.errors > 0) console.error(`Better Auth answered non-2xx or failed; its output:\n${ba.output().slice(-4000)}`);
      const after = await settledCounters(betterAuthDb, before, 'invitation', baInvitations);
      baSettled = after.settled;
      baWrites = perInvitation(before, after.counters, baInvitations);
      for (const [text, n] of statementsAfter) {
        const per = (n - (statementsBefore.get(text) ?? 0)) / baInvitations;
        if (per < 0.005) continue;
        baStatementsPerInvite += per;
        baStatements.push(`${fmt(per, 2)} × \`${text.length > 160 ? `${text.slice(0, 160)}…` : text}\``);
      }
    } finally {
      await ba.stop();
    }

    const floor = await bareFloor(CONNECTIONS, seconds);

    await load({
      url: onramp.url,
      path: `/v1/projects/${warmProject}/invitations`,
      headers: seeded.headers,
      body: (i) => ({ email: `warm${i}@client.test`, first_name: 'W', last_name: 'U' }),
      connections: CONNECTIONS,
      durationSeconds: WARM_UP_SECONDS,
    });
    const warm = await quiescentCount(onrampDb, 'select count(*)::int as n from invitations where agency_id = $1', [seeded.agencyId]);
    await analyzeAsAutovacuumWould(onrampDb);
    const before = (await settledCounters(onrampDb, { tables: new Map(), commits: 0 }, 'invitations', warm)).counters;
    const redisPort = (JSON.parse(readFileSync(join(onramp.dataDir, 'redis', 'onramp-redis.json'), 'utf8')) as { port: number }).port;
    const redisBefore = await redisCommands(redisPort);
    const invite = await load({
      url: onramp.url,
      path: `/v1/projects/${benchProject}/invitations`,
      headers: seeded.headers,
      body: inviteBody,
      connections: CONNECTIONS,
      durationSeconds: seconds,
    });
    const onrampInvitations = await quiescentCount(onrampDb, 'select count(*)::int as n from invitations where agency_id = $1 and project_id = $2', [
      seeded.agencyId,
      benchProject,
    ]);
    const redisAfter = await redisCommands(redisPort);
    const after = await settledCounters(onrampDb, before, 'invitations', onrampInvitations);
    const onrampWrites = perInvitation(before, after.counters, onrampInvitations);
    const redis = [...redisAfter]
      .map(([cmd, n]) => [cmd, (n - (redisBefore.get(cmd) ?? 0)) / onrampInvitations] as const)
      .filter(([, per]) => per >= 0.005)
      .sort(([, a], [, b]) => b - a);
    const redisTotal = redis.reduce((sum, [, per]) => sum + per, 0);

    const ratio = invite.requestsPerSec / peer.requestsPerSec;
    const clean = invite.non2xx === 0 && peer.non2xx === 0 && invite.errors === 0 && peer.errors === 0;
    const lines = [
      `Onramp's invite endpoint beside Better Auth's organization plugin (\`better-auth\` ${betterAuthVersion()}, \`POST /api/auth/organization/invite-member\`) and a bare Express 5 JSON POST: ` +
        `${CONNECTIONS} connections, ${seconds} s each, measured one after the other (Better Auth, bare Express, Onramp), each after a ${WARM_UP_SECONDS} s warm-up at ${CONNECTIONS} connections; ` +
        `one Node process each; both on the same embedded PostgreSQL (Onramp in its database, Better Auth in \`better_auth\`), each with a pool of ${POOL_SIZE}. ` +
        `Every request a new email. Better Auth's rate limiter is off (\`rateLimit: { enabled: false }\`) and its pending-invitation limit raised (\`invitationLimit: 10000000\`), as Onramp's quotas are raised by the bench's env. Each database is analyzed after its warm-up (what autovacuum does within a minute of a new database's first writes). Better Auth's measured invites go round ${BENCH_ORGS} organizations (its invite reads all of an organization's pending invitations, to count them against \`invitationLimit\`: in one organization that read would grow with the run); Onramp's all go to one project. ` +
        `Better Auth's \`sendInvitationEmail\` awaits one \`outbox_emails\` insert shaped as Onramp's \`emails\` row (token ciphertext ${tokenBytes} bytes, as Onramp's).`,
      '',
      '| what | requests/s | p50 ms | p99 ms | requests | non-2xx | errors | % of bare |',
      '|---|---|---|---|---|---|---|---|',
      row('Onramp `POST /v1/projects/:id/invitations`', invite, floor),
      row('Better Auth `POST /api/auth/organization/invite-member`', peer, floor),
      row('bare Express 5 JSON POST (floor)', floor, floor),
      '',
      `**Onramp / Better Auth: ${fmt(ratio, 2)}×** (Onramp ${ratio > 1 ? 'ahead' : 'behind'}).${clean ? '' : ' **Not comparable: a side had non-2xx responses or errors.**'}`,
      '',
      `What each side wrote per invitation, measured in this run (pg_stat_user_tables deltas over the measured window ÷ invitations written; Onramp ${fmt(onrampInvitations)}, Better Auth ${fmt(baInvitations)}):`,
      '',
      `- **Onramp** (its API, and its worker rendering and sending the queued emails meanwhile): rows inserted ${onrampWrites.inserted.join(', ')}; ` +
        `rows updated ${onrampWrites.updated.join(', ') || 'none'}; ${fmt(onrampWrites.commits, 2)} transactions committed; ` +
        `Redis ${fmt(redisTotal, 1)} commands (${redis.map(([cmd, per]) => `${cmd} ${fmt(per, 2)}`).join(', ')}).` +
        (after.settled ? '' : ' (statistics had not caught up after 30 s)'),
      `- **Better Auth**: rows inserted ${baWrites.inserted.join(', ')}; rows updated ${baWrites.updated.join(', ') || 'none'}; ` +
        `${fmt(baWrites.commits, 2)} transactions committed; no Redis; ${fmt(baStatementsPerInvite, 2)} statements per invitation, by text:` +
        (baSettled ? '' : ' (statistics had not caught up after 30 s)'),
      ...baStatements.map((s) => `  - ${s}`),
      '',
      `Load average (1/5/15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')}, at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}.`,
    ];
    const goals: Goal[] = [
      {
        goal: "Invite API ahead of Better Auth's organization `invite-member` on the same PostgreSQL, 50 connections",
        measured: `${fmt(ratio, 2)}× (Onramp ${fmt(invite.requestsPerSec)}/s, Better Auth ${fmt(peer.requestsPerSec)}/s)`,
        met: ratio > 1 && clean,
        why: clean
          ? `Better Auth sends ${fmt(baStatementsPerInvite, 2)} statements per invitation, Onramp ${fmt(onrampWrites.commits, 2)} transactions.`
          : 'a side had non-2xx responses or errors',
      },
    ];
    return { name: 'peer', lines, goals };
  } finally {
    await betterAuthDb?.end();
    await onrampDb.end();
    await onramp.stop();
  }
};

function betterAuthVersion(): string {
  // better-auth exports no package.json: from its entry point (dist/index.mjs) up to the package's root.
  const pkg = fileURLToPath(new URL('../package.json', import.meta.resolve('better-auth')));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
