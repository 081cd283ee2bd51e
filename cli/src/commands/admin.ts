import { AppError, createAgency, findSingleFirmUserByEmail, issueApiKey, migrate, revokeApiKey, createLogger, type Config } from '@onramp/core';
import { buildDeps, checkReachable, resolveInfra } from '../runtime/stack.js';
import type { Command } from './types.js';

/**
 * Run against the database: the configured one, the running embedded one, or one started for this command.
 * With `redis`, against Redis too (commands that queue an email hand it to the worker at once).
 */
export async function withDatabase<T>(config: Config, fn: (deps: ReturnType<typeof buildDeps>) => Promise<T>, opts: { redis?: boolean } = {}): Promise<T> {
  const infra = await resolveInfra(config, 'attach-or-own', { needRedis: opts.redis === true });
  const deps = buildDeps({ ...config, logLevel: 'warn' }, { ...infra, redisUrl: infra.redisUrl || 'redis://127.0.0.1:1' }, createLogger('warn'));
  if (!opts.redis) deps.redis.disconnect();
  try {
    await checkReachable(deps, { redis: opts.redis === true });
    await migrate(deps.pool);
    return await fn(deps);
  } finally {
    if (opts.redis) await deps.close();
    else await deps.pool.end();
    await infra.stop();
  }
}

const print = (json: boolean, obj: Record<string, unknown>, text: string) => console.log(json ? JSON.stringify(obj) : text);

export const adminCommands: Command[] = [
  {
    name: 'migrate',
    usage: '',
    summary: 'Apply pending database migrations (safe to run from several processes at once)',
    run: async ({ config }) => {
      const applied = await withDatabase(config!, (deps) => migrate(deps.pool));
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      return 0;
    },
  },
  {
    name: 'agency create',
    usage: '--name NAME --owner-email EMAIL [--owner-name NAME] [--json]',
    summary: 'Create an agency, its owner and an API key for the owner',
    options: { name: { type: 'string' }, 'owner-email': { type: 'string' }, 'owner-name': { type: 'string' }, json: { type: 'boolean' } },
    optionHelp: { name: 'Agency name', 'owner-email': "The owner's email", 'owner-name': "The owner's name", json: 'Print one JSON object' },
    required: ['name', 'owner-email'],
    run: async ({ config, values }) => {
      const created = await withDatabase(config!, (deps) =>
        createAgency(deps.pool, {
          name: String(values.name),
          ownerEmail: String(values['owner-email']),
          ...(values['owner-name'] ? { ownerName: String(values['owner-name']) } : {}),
        }),
      );
      print(
        Boolean(values.json),
        {
          agency_id: created.agency.id,
          agency_name: created.agency.name,
          user_id: created.owner.id,
          user_email: created.owner.email,
          api_key: created.apiKey,
          api_key_prefix: created.apiKeyPrefix,
        },
        [
          `Agency "${created.agency.name}" created (${created.agency.id}).`,
          `Owner: ${created.owner.email} (${created.owner.id})`,
          `API key (shown once, keep it safe): ${created.apiKey}`,
          `Try: curl -H "Authorization: Bearer ${created.apiKey}" ${config!.publicBaseUrl}/v1/me`,
        ].join('\n'),
      );
      return 0;
    },
  },
  {
    name: 'key create',
    usage: '--user-email EMAIL [--name LABEL] [--json]',
    summary: 'Create an API key for a firm user (shown once)',
    options: { 'user-email': { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
    optionHelp: { 'user-email': 'The firm user the key acts as', name: 'A label for the key', json: 'Print one JSON object' },
    required: ['user-email'],
    run: async ({ config, values }) => {
      const out = await withDatabase(config!, async (deps) => {
        const user = await findSingleFirmUserByEmail(deps.pool, String(values['user-email']));
        // A key of a user who cannot use it (not joined yet, or deactivated) would only ever answer 401.
        if (user.status !== 'active') throw new AppError('conflict', `${user.email} is ${user.status}; only an active firm user can have API keys`);
        const key = await issueApiKey(deps.pool, { agencyId: user.agency_id, userId: user.id, name: (values.name as string | undefined) ?? null });
        return { user, key };
      });
      print(
        Boolean(values.json),
        { api_key: out.key.key, api_key_prefix: out.key.prefix, user_id: out.user.id, agency_id: out.user.agency_id },
        `API key for ${out.user.email} (shown once): ${out.key.key}`,
      );
      return 0;
    },
  },
  {
    name: 'key revoke',
    usage: 'KEY_PREFIX',
    summary: 'Revoke an API key by its visible prefix (the part after onr_)',
    positionals: 1,
    run: async ({ config, positionals }) => {
      const res = await withDatabase(config!, (deps) => revokeApiKey(deps.pool, positionals[0]!));
      console.log(`revoked key ${positionals[0]} at ${res.revokedAt.toISOString()}`);
      return 0;
    },
  },
];
