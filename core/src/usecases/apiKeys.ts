import type { Queryable } from '../db/pool.js';
import { generateApiKey, hashApiKey, parseApiKey } from '../crypto/apiKeys.js';
import { safeEqual } from '../crypto/tokens.js';
import { AppError } from '../errors/AppError.js';
import { findApiKeyByPrefix, insertApiKey, revokeApiKeyByPrefix } from '../sql/apiKeys.js';
import type { FirmRole } from '../sql/firmUsers.js';

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
export async function authenticateApiKey(db: Queryable, authorization: string | undefined): Promise<Principal> {
  if (!authorization) throw unauthorized('Send an API key as `Authorization: Bearer <key>`.');
  const key = bearerCredential(authorization);
  if (key === null) throw unauthorized('The Authorization header must be `Bearer <key>`.');
  const parsed = parseApiKey(key);
  if (!parsed) throw unauthorized('The API key is malformed.');
  const row = await findApiKeyByPrefix(db, parsed.prefix);
  if (!row || !safeEqual(row.key_hash, hashApiKey(key))) throw unauthorized('The API key is not valid.');
  if (row.revoked_at) throw unauthorized('The API key has been revoked.');
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
