import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

const url = (protocols: string[], name: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (${name})`);

const boolFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const intFromEnv = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every setting, its default and its check in one place; read once at start. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: intFromEnv(0, 65535).default(3000),
  HOST: z.string().min(1).optional(),
  PUBLIC_BASE_URL: url(['http:', 'https:'], 'the address clients and Zapier use to reach Onramp').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'PostgreSQL connection string').optional(),
  DATABASE_POOL_SIZE: intFromEnv(1, 200).default(10),
  REDIS_URL: url(['redis:', 'rediss:'], 'Redis connection string').optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:{}_-]+$/, 'letters, digits, : { } _ - only')
    .default('onramp'),
  SMTP_URL: url(['smtp:', 'smtps:'], 'SMTP server').optional(),
  MAIL_FROM: z.string().email('must be an email address').optional(),
  APP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: intFromEnv(1024, 50 * 1024 * 1024).default(1024 * 1024),
  INVITES_PER_AGENCY_PER_HOUR: intFromEnv(1, 10_000_000).default(100_000),
  EMAILS_PER_RECIPIENT_PER_DAY: intFromEnv(1, 10_000).default(20),
  RESEND_MIN_INTERVAL_SECONDS: intFromEnv(0, 86_400).default(60),
  RESENDS_PER_DAY: intFromEnv(1, 1000).default(5),
  EMAIL_RATE_PER_SECOND: intFromEnv(1, 10_000).default(50),
  IMPORT_MAX_BYTES: intFromEnv(1024, 2 * 1024 * 1024 * 1024).default(100 * 1024 * 1024),
  IMPORT_BATCH_SIZE: intFromEnv(10, 20_000).default(2000),
  IMPORT_LANES: intFromEnv(1, 16).default(3),
  IMPORT_SET_BASED_FK_CHECKS: boolFromEnv.default(true),
  IMPORT_PROFILE: z.enum(['0', '1', 'explain']).default('0'),
  // Applied on the node command line by bin/onramp.js (cli/src/runtime/heap.ts); validated here with the rest.
  WORKER_MAX_HEAP_MB: intFromEnv(64, 65_536).default(192),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: boolFromEnv.default(false),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_TIMEOUT_MS: intFromEnv(100, 60_000).default(10_000),
  WEBHOOK_BACKOFF_MS: intFromEnv(1, 3_600_000).optional(),
  WEBHOOK_DISABLE_AFTER_FAILURES: intFromEnv(1, 10_000).default(5),
  SWEEP_INTERVAL_SECONDS: intFromEnv(1, 86_400).default(60),
  EMBEDDED_PG_PORT: intFromEnv(0, 65535).default(0),
  EMBEDDED_REDIS_PORT: intFromEnv(0, 65535).default(0),
  CONSOLE_ENABLED: boolFromEnv.default(true),
});

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
