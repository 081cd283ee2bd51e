import { z } from 'zod';
import type { Deps } from '../context.js';
import { withTransaction, type Queryable } from '../db/pool.js';
import { generateApiKey, hashApiKey, parseApiKey } from '../crypto/apiKeys.js';
import { safeEqual } from '../crypto/tokens.js';
import { AppError, notFound } from '../errors/AppError.js';
import { parseOrThrow } from '../errors/fromZod.js';
import { toApiKeyJson, type ApiKeyJson, type CreatedApiKeyJson } from '../read/admin.js';
import { findApiKeyByPrefix, getApiKey, insertApiKey, listApiKeys, revokeApiKeyById, revokeApiKeyByPrefix, touchApiKey } from '../sql/apiKeys.js';
import { appendEvent } from '../sql/events.js';
import type { FirmRole } from '../sql/firmUsers.js';
import { withAuthChange, type PrincipalCache } from './principalCache.js';

/** Who is calling: every request's queries are scoped by `agencyId`. */
export interface Principal {
  apiKeyId: string;
  agencyId: string;
  agencyName: string;
  userId: string;
  userEmail: string;
  userName: string | null;
  role: FirmRole;
}

export async function issueApiKey(
  db: Queryable,
  input: { agencyId: string; userId: string; name?: string | null },
): Promise<{ id: string; key: string; prefix: string; createdAt: Date }> {
  const generated = generateApiKey();
  const row = await insertApiKey(db, {
    agencyId: input.agencyId,
    userId: input.userId,
    prefix: generated.prefix,
    hash: generated.hash,
    name: input.name ?? null,
  });
  return { id: row.id, key: generated.key, prefix: row.prefix, createdAt: row.created_at };
}

export async function revokeApiKey(db: Queryable, prefix: string): Promise<{ id: string; revokedAt: Date }> {
  const cleaned = prefix.replace(/^onr_/, '').split('_')[0] ?? '';
  const row = await revokeApiKeyByPrefix(db, cleaned);
  if (!row) throw new AppError('not_found', `No API key with prefix ${cleaned}`);
  return { id: row.id, revokedAt: row.revoked_at };
}

const unauthorized = (detail: string) => new AppError('unauthorized', 'Unauthorized', { detail });

/** The credential of an `Authorization: Bearer <credential>` header; null for any other form. */
export function bearerCredential(authorization: string | undefined): string | null {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? null;
}

/** Missing, malformed, unknown and revoked keys are all 401; the detail says which without echoing the key. */
export async function authenticateApiKey(db: Queryable, authorization: string | undefined, cache?: PrincipalCache): Promise<Principal> {
  if (!authorization) throw unauthorized('Send an API key as `Authorization: Bearer <key>`.');
  const key = bearerCredential(authorization);
  if (key === null) throw unauthorized('The Authorization header must be `Bearer <key>`.');
  const parsed = parseApiKey(key);
  if (!parsed) throw unauthorized('The API key is malformed.');
  let row = cache?.get(parsed.prefix) ?? null;
  if (!row) {
    const readAt = cache?.generation ?? 0;
    row = await findApiKeyByPrefix(db, parsed.prefix);
    if (row) cache?.set(parsed.prefix, row, readAt);
  }
  if (!row || !safeEqual(row.key_hash, hashApiKey(key))) throw unauthorized('The API key is not valid.');
  if (row.revoked_at) throw unauthorized('The API key has been revoked.');
  // Checked on every request, so deactivating a teammate stops their keys at once.
  if (row.user_status !== 'active') throw unauthorized('The firm user of this API key is deactivated.');
  return {
    apiKeyId: row.key_id,
    agencyId: row.agency_id,
    agencyName: row.agency_name,
    userId: row.user_id,
    userEmail: row.user_email,
    userName: row.user_name,
    role: row.user_role,
  };
}

const isUuid = (id: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

export const createApiKeyInput = z.object({
  name: z
    .string({ error: 'is required' })
    .trim()
    .min(1, 'is required')
    .max(100, 'must be at most 100 characters')
    // eslint-disable-next-line no-control-regex
    .refine((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v), 'must be one line without control characters')
    .describe('What the key is for, e.g. "Zapier" or "HubSpot sync"'),
});

/**
 * API keys of the agency: each acts as the firm user who created it, with that user's role (a member's key
 * reads only). A user sees and revokes their own keys; owners see and revoke every key of the agency. A key
 * the caller may not see answers 404, like one that does not exist.
 */
export async function listApiKeysFor(deps: Pick<Deps, 'pool'>, principal: Principal): Promise<ApiKeyJson[]> {
  const rows = await listApiKeys(deps.pool, principal.agencyId, principal.role === 'owner' ? null : principal.userId);
  return rows.map(toApiKeyJson);
}

/** The secret is in this result only: it is stored as a hash and never shown again. */
export async function createApiKeyFor(deps: Pick<Deps, 'pool'>, principal: Principal, raw: unknown): Promise<CreatedApiKeyJson> {
  const input = parseOrThrow(createApiKeyInput, raw);
  return withTransaction(deps.pool, async (tx) => {
    const issued = await issueApiKey(tx, { agencyId: principal.agencyId, userId: principal.userId, name: input.name });
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'api_key.created',
      subjectId: issued.id,
      actorId: principal.userId,
      data: { name: input.name, prefix: issued.prefix },
    });
    const row = (await getApiKey(tx, principal.agencyId, issued.id))!;
    return { ...toApiKeyJson(row), key: issued.key };
  });
}

export async function revokeApiKeyFor(deps: Pick<Deps, 'pool' | 'principals'>, principal: Principal, id: string): Promise<void> {
  if (!isUuid(id)) throw notFound('API key');
  await withAuthChange(deps, principal.agencyId, async (tx) => {
    const row = await getApiKey(tx, principal.agencyId, id);
    if (!row || row.revoked_at || (principal.role !== 'owner' && row.user_id !== principal.userId)) throw notFound('API key');
    await revokeApiKeyById(tx, principal.agencyId, id);
    await appendEvent(tx, {
      agencyId: principal.agencyId,
      type: 'api_key.revoked',
      subjectId: id,
      actorId: principal.userId,
      data: { prefix: row.prefix, owner_id: row.user_id },
    });
  });
}

/** When a key was last used (the touch-api-key job, off the request path); monotonic, so running twice is harmless. */
export async function recordApiKeyUse(deps: Pick<Deps, 'pool'>, apiKeyId: string, usedAt: Date): Promise<void> {
  await touchApiKey(deps.pool, apiKeyId, usedAt);
}
