import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

const url = (protocols: string[], name: string) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (${name})`,
    );

const boolFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * A setting's documentation, kept on its schema: `meaning` is its `.describe()`, `defaultDoc` says what an
 * unset value means when the schema's default alone does not (computed defaults, embedded services). The
 * README's configuration table is generated from these (configTable(), `npm run config-table`) and a test
 * fails when the README differs.
 */
function setting<T extends z.ZodType>(schema: T, meaning: string, defaultDoc?: string): T {
  return schema.meta({ description: meaning, ...(defaultDoc ? { defaultDoc } : {}) }) as T;
}

/** Every setting, its default, its check and its documentation in one place; read once at start. */
const envSchema = z.object({
  PORT: setting(intFromEnv(0, 65535).default(3000), 'HTTP port of the API'),
  HOST: setting(
    z.string().min(1).optional(),
    'Interface to listen on. Outside production only this machine can reach Onramp, because `/dev/mailbox` shows live invitation links.',
    '`127.0.0.1`; `0.0.0.0` when `NODE_ENV=production`',
  ),
  PUBLIC_BASE_URL: setting(
    url(['http:', 'https:'], 'the address clients and Zapier use to reach Onramp').optional(),
    "The address clients and Zapier use. Every link in an email is built from it, never from a request's Host header. Required in production.",
    '`http://localhost:$PORT`',
  ),
  DATA_DIR: setting(z.string().min(1).default('./data'), 'Embedded PostgreSQL, private Redis, generated secret, email outbox'),
  DATABASE_URL: setting(
    url(['postgres:', 'postgresql:'], 'PostgreSQL connection string').optional(),
    '`postgres://user:pass@host:5432/db`',
    'unset: embedded PostgreSQL under `DATA_DIR/postgres`',
  ),
  DATABASE_POOL_SIZE: setting(intFromEnv(1, 200).default(10), 'Connections per process'),
  API_KEY_CACHE_SECONDS: setting(
    intFromEnv(0, 60).default(5),
    'How long an API process keeps a verified API key in memory instead of reading it again. A key revoked, or its user deactivated or re-roled, stops working at once in every API process (PostgreSQL LISTEN/NOTIFY); this is the longest it can keep working if that notice is lost. 0 reads every request',
  ),
  REDIS_URL: setting(
    url(['redis:', 'rediss:'], 'Redis connection string').optional(),
    '`redis://host:6379`',
    'unset: a private `redis-server` child under `DATA_DIR/redis` (AOF on, `noeviction`)',
  ),
  REDIS_PREFIX: setting(
    z
      .string()
      .regex(/^[A-Za-z0-9:{}_-]+$/, 'letters, digits, : { } _ - only')
      .default('onramp'),
    'Key prefix for queues and rate limits; use `{onramp}` on Redis Cluster',
  ),
  SMTP_URL: setting(
    url(['smtp:', 'smtps:'], 'SMTP server').optional(),
    '`smtp://user:pass@smtp.example.com:587`',
    'unset: each email is written to `DATA_DIR/outbox/*.eml` and listed at `/dev/mailbox`',
  ),
  MAIL_FROM: setting(
    z.string().email('must be an email address').optional(),
    "Sender address; the display name is the agency's sender name",
    '`no-reply@<PUBLIC_BASE_URL host>`',
  ),
  APP_SECRET: setting(
    z.string().min(32, 'must be at least 32 characters').optional(),
    'At least 32 characters. Keys the HMAC of every link token and the derivation of copyable links from their stored seeds. Required when `NODE_ENV=production`.',
    'generated once into `DATA_DIR/app-secret` (not in production)',
  ),
  NODE_ENV: setting(
    z.enum(['development', 'production', 'test']).default('development'),
    '`production` hides `/dev/mailbox` and requires `APP_SECRET` and `PUBLIC_BASE_URL`',
  ),
  LOG_LEVEL: setting(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    '`fatal` … `trace`, `silent`. Logs are JSON (pino); keys, tokens, passwords and cookies are redacted.',
  ),
  METRICS_TOKEN: setting(
    z.string().min(16, 'must be at least 16 characters').optional(),
    'at least 16 characters; `/metrics` then needs `Authorization: Bearer <token>` (Prometheus: `authorization: { credentials: ... }`)',
    'unset: `/metrics` is open (a warning at start in production)',
  ),
  BODY_LIMIT_BYTES: setting(intFromEnv(1024, 50 * 1024 * 1024).default(1024 * 1024), 'Largest JSON body (413 above it)'),
  INVITES_PER_AGENCY_PER_HOUR: setting(
    intFromEnv(1, 10_000_000).default(100_000),
    'Invitations created per agency per hour, shared by all API processes (429 + `Retry-After`)',
  ),
  EMAILS_PER_RECIPIENT_PER_DAY: setting(intFromEnv(1, 10_000).default(20), 'Invitation emails to one address per agency per day'),
  RESEND_MIN_INTERVAL_SECONDS: setting(intFromEnv(0, 86_400).default(60), 'Per invitation: at most one resend in this many seconds'),
  RESENDS_PER_DAY: setting(intFromEnv(1, 1000).default(5), 'Per invitation: resends per 24 hours'),
  EMAIL_RATE_PER_SECOND: setting(
    intFromEnv(1, 10_000).default(50),
    'Emails sent per second across all workers (BullMQ rate limiter); at most ten seconds of it wait in the email queue, the rest of a burst in PostgreSQL',
  ),
  IMPORT_MAX_BYTES: setting(intFromEnv(1024, 2 * 1024 * 1024 * 1024).default(100 * 1024 * 1024), 'Largest CSV upload (100 MB)'),
  IMPORT_BATCH_SIZE: setting(intFromEnv(10, 20_000).default(2000), 'Rows per import batch (one transaction and checkpoint each)'),
  IMPORT_LANES: setting(intFromEnv(1, 16).default(3), 'Batches of one import written at once, each in its own transaction on its own connection'),
  IMPORT_SET_BASED_FK_CHECKS: setting(
    boolFromEnv.default(true),
    'An import batch checks its foreign keys once per parent row, not by a trigger per row; needs a role that may set `session_replication_role` (superuser, or `GRANT SET ON PARAMETER`), else falls back to the triggers with a warning (docs/imports.md)',
  ),
  IMPORT_PROFILE: setting(
    z.enum(['0', '1', 'explain']).default('0'),
    'Import profiling for developers: `1` logs the time of each step of every batch, `explain` also logs the plans of its statements',
  ),
  // Applied on the node command line by bin/onramp.js for `onramp worker`, and as the worker thread's own
  // limit by `onramp start` (cli/src/runtime/heap.ts, workerThread.ts); validated here with the rest.
  WORKER_MAX_HEAP_MB: setting(
    intFromEnv(64, 65_536).default(192),
    "V8 heap cap of the worker (`onramp worker`; the worker thread of `onramp start`, whose API is not capped), so the worker's memory stays near its live set",
  ),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: setting(boolFromEnv.default(false), 'Allow `http://` and private/loopback webhook targets (local development and tests only)'),
  WEBHOOK_TIMEOUT_MS: setting(intFromEnv(100, 60_000).default(10_000), 'Per webhook delivery attempt'),
  WEBHOOK_BACKOFF_MS: setting(intFromEnv(1, 3_600_000).optional(), 'First retry delay of webhook deliveries', 'unset (5 s, doubling, 8 attempts)'),
  WEBHOOK_DISABLE_AFTER_FAILURES: setting(intFromEnv(1, 10_000).default(5), 'A hook is disabled (with the reason) after this many failed deliveries in a row'),
  SWEEP_INTERVAL_SECONDS: setting(
    intFromEnv(1, 86_400).default(60),
    'Period of the maintenance sweep (expiry, reminders before expiry, outbox and stranded-webhook re-enqueue, idempotency-key and sign-in-link purge)',
  ),
  EMBEDDED_PG_PORT: setting(intFromEnv(0, 65535).default(0), 'Port of the embedded PostgreSQL', '`0` (a free port)'),
  EMBEDDED_REDIS_PORT: setting(intFromEnv(0, 65535).default(0), 'Port of the private Redis', '`0` (a free port)'),
  CONSOLE_ENABLED: setting(boolFromEnv.default(true), 'Serve the firm console at `/console` (`false`: API, accept pages and portal only)'),
  SHUTDOWN_TIMEOUT_MS: setting(
    intFromEnv(1000, 600_000).default(10_000),
    'Ctrl-C / SIGTERM: the whole stop (HTTP drain, jobs, connections, embedded PostgreSQL and Redis) fits in this; what still runs then is abandoned (exit 1, named on stderr; an import resumes from its checkpoint)',
  ),
});

/** The README's configuration table (Setting, Default, Meaning), one row per setting in schema order. */
export function configTable(): string {
  const rows = Object.entries(envSchema.shape).map(([name, schema]) => {
    const meta = (schema as z.ZodType).meta() as { description?: string; defaultDoc?: string } | undefined;
    if (!meta?.description) throw new Error(`${name} has no documentation: wrap its schema in setting()`);
    let def = meta.defaultDoc;
    if (!def) {
      const parsed = (schema as z.ZodType).safeParse(undefined);
      def = parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : 'unset';
    }
    return `| \`${name}\` | ${def} | ${meta.description} |`;
  });
  return ['| Setting | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}

export type Env = z.input<typeof envSchema>;

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  /** Links in emails are built from this, never from a request's Host header. */
  publicBaseUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  apiKeyCacheSeconds: number;
  redisUrl: string | undefined;
  redisPrefix: string;
  smtpUrl: string | undefined;
  mailFrom: string;
  appSecret: string | undefined;
  logLevel: string;
  bodyLimitBytes: number;
  limits: {
    invitesPerAgencyPerHour: number;
    emailsPerRecipientPerDay: number;
    resendMinIntervalSeconds: number;
    resendsPerDay: number;
    emailRatePerSecond: number;
  };
  importMaxBytes: number;
  importBatchSize: number;
  /** Batches of one import written at once, each in its own transaction on its own connection. */
  importLanes: number;
  /** Check an import batch's foreign keys once per parent row, not by a trigger per row (needs permission to set session_replication_role). */
  importSetBasedFkChecks: boolean;
  /** Diagnostics of the import worker (docs/imports.md, Settings): off, per-phase timings, or timings plus explain plans. */
  importProfile: 'off' | 'phases' | 'explain';
  webhookAllowPrivateTargets: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  webhookTimeoutMs: number;
  /** First retry delay of a webhook delivery (doubles each attempt); unset = the job catalog's. */
  webhookBackoffMs: number | undefined;
  /** A hook whose deliveries fail for good this many times in a row is disabled. */
  webhookDisableAfterFailures: number;
  sweepIntervalSeconds: number;
  embeddedPgPort: number;
  embeddedRedisPort: number;
  consoleEnabled: boolean;
  /** The whole shutdown (HTTP drain, workers, pools, embedded services) fits in this; the rest is abandoned. */
  shutdownTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    reason: string,
  ) {
    super(`${setting}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Parse the environment once. Throws ConfigError naming the first bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = String(issue.path[0] ?? 'environment');
    throw new ConfigError(setting, `${issue.message} (got ${JSON.stringify(cleaned[setting] ?? '')})`);
  }
  const e = parsed.data;
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && !e.APP_SECRET) {
    throw new ConfigError('APP_SECRET', 'is required when NODE_ENV=production (at least 32 random characters)');
  }
  if (isProduction && !e.PUBLIC_BASE_URL) {
    throw new ConfigError('PUBLIC_BASE_URL', 'is required when NODE_ENV=production (the https address clients open)');
  }
  const publicBaseUrl = (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT === 0 ? 3000 : e.PORT}`).replace(/\/+$/, '');
  return {
    nodeEnv: e.NODE_ENV,
    isProduction,
    port: e.PORT,
    // Outside production the dev mailbox shows live invite links without a login: listen on loopback only
    // unless told otherwise. Production (and the Docker image) listens on every interface.
    host: e.HOST ?? (isProduction ? '0.0.0.0' : '127.0.0.1'),
    publicBaseUrl,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    apiKeyCacheSeconds: e.API_KEY_CACHE_SECONDS,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? `no-reply@${new URL(publicBaseUrl).hostname}`,
    appSecret: e.APP_SECRET,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    limits: {
      invitesPerAgencyPerHour: e.INVITES_PER_AGENCY_PER_HOUR,
      emailsPerRecipientPerDay: e.EMAILS_PER_RECIPIENT_PER_DAY,
      resendMinIntervalSeconds: e.RESEND_MIN_INTERVAL_SECONDS,
      resendsPerDay: e.RESENDS_PER_DAY,
      emailRatePerSecond: e.EMAIL_RATE_PER_SECOND,
    },
    importMaxBytes: e.IMPORT_MAX_BYTES,
    importBatchSize: e.IMPORT_BATCH_SIZE,
    importLanes: e.IMPORT_LANES,
    importSetBasedFkChecks: e.IMPORT_SET_BASED_FK_CHECKS,
    importProfile: e.IMPORT_PROFILE === '1' ? 'phases' : e.IMPORT_PROFILE === 'explain' ? 'explain' : 'off',
    webhookAllowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    metricsToken: e.METRICS_TOKEN,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    webhookBackoffMs: e.WEBHOOK_BACKOFF_MS,
    webhookDisableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    embeddedRedisPort: e.EMBEDDED_REDIS_PORT,
    consoleEnabled: e.CONSOLE_ENABLED,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}

/**
 * APP_SECRET keys the invitation-token HMAC and link encryption. Outside production it is generated once
 * and kept in DATA_DIR so links survive a restart; in production loadConfig already demanded it.
 */
export function resolveAppSecret(config: Config): string {
  if (config.appSecret) return config.appSecret;
  if (config.isProduction) throw new ConfigError('APP_SECRET', 'is required when NODE_ENV=production');
  const file = join(config.dataDir, 'app-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    // Another process generated it first: theirs wins, so every process signs with the same key.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw err;
  }
}
