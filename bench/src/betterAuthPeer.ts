// Better Auth with its organization plugin, alone in its own Node process: the peer of Onramp's invite endpoint
// (`npm run bench -- peer`). Its own database on the embedded PostgreSQL Onramp started, its own tables made by its
// own migration tooling, and an invitation email handed on through the same outbox write Onramp makes.
import { randomBytes } from 'node:crypto';
import express from 'express';
import pg from 'pg';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { organization } from 'better-auth/plugins/organization';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const port = Number(env('PORT'));
const tokenBytes = Number(env('TOKEN_BYTES'));

// The size and timeouts of Onramp's pool (core's createPool), the size as the bench gives Onramp's.
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: Number(env('POOL_SIZE')), connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });

// Every statement any pooled connection sends (Better Auth's Kysely adapter and the outbox insert), by its text:
// counted here because the embedded PostgreSQL has no pg_stat_statements.
const statements = new Map<string, number>();
pool.on('connect', (client) => {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    const shape = text.replace(/\s+/g, ' ').trim();
    statements.set(shape, (statements.get(shape) ?? 0) + 1);
    return query(...args);
  };
});

// What Onramp's `emails` row holds for an invitation (id, tenant, kind, recipient, invitation, the link's token
// ciphertext, queue status), with the same keys and indexes: the write a worker would later claim and send from.
const outboxDdl = `
  create table if not exists outbox_emails (
    id uuid primary key default uuidv7(),
    organization_id text not null references organization(id) on delete cascade,
    kind text not null check (kind in ('invitation')),
    to_address text not null,
    invitation_id text not null references invitation(id) on delete cascade,
    token_ciphertext bytea,
    status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'failed', 'cancelled')),
    attempts integer not null default 0,
    created_at timestamptz not null default now()
  );
  create index if not exists outbox_emails_queued_idx on outbox_emails (created_at) where status = 'queued';
  create index if not exists outbox_emails_invitation_idx on outbox_emails (invitation_id);`;

const baseURL = `http://127.0.0.1:${port}`;
const auth = betterAuth({
  baseURL,
  secret: randomBytes(32).toString('hex'),
  database: pool,
  emailAndPassword: { enabled: true },
  // Off for the bench, as Onramp's quotas are raised by the bench's env: 50 connections from one address would
  // otherwise be throttled.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [
    organization({
      // The default (100 pending invitations per organization) would refuse the bench's thousands; Onramp's
      // per-agency quota is likewise raised to 10,000,000 an hour.
      invitationLimit: 10_000_000,
      sendInvitationEmail: async ({ id, email, organization }) => {
        await pool.query(
          `insert into outbox_emails (organization_id, kind, to_address, invitation_id, token_ciphertext)
           values ($1, 'invitation', $2, $3, $4)`,
          [organization.id, email, id, tokenBytes > 0 ? randomBytes(tokenBytes) : null],
        );
      },
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
await pool.query(outboxDdl);

const app = express();
// Better Auth reads the body itself: no express.json() in front of its handler (its documented Express setup).
app.all('/api/auth/*splat', toNodeHandler(auth));
app.get('/__statements', (_req, res) => {
  res.json(Object.fromEntries(statements));
});
app.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));

process.on('SIGTERM', () => {
  void pool.end().then(() => process.exit(0));
});
