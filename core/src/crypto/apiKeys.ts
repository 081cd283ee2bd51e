import { randomBytes } from 'node:crypto';
import { sha256 } from './tokens.js';

const PREFIX_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

export interface NewApiKey {
  key: string;
  prefix: string;
  hash: Buffer;
}

/**
 * `onr_<prefix>_<secret>`: the prefix is shown in lists and used to find the row; the 256-bit secret is
 * only ever shown once. A plain SHA-256 suffices for a secret of that entropy and needs no server key, so
 * `onramp key create` works with the database alone.
 */
export function generateApiKey(): NewApiKey {
  const bytes = randomBytes(10);
  let prefix = '';
  for (const b of bytes) prefix += PREFIX_ALPHABET[b % PREFIX_ALPHABET.length];
  const key = `onr_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: sha256(key) };
}

const KEY_PATTERN = /^onr_([a-z2-9]{10})_([A-Za-z0-9_-]{43})$/;

export function parseApiKey(key: string): { prefix: string } | null {
  const m = KEY_PATTERN.exec(key);
  return m ? { prefix: m[1]! } : null;
}

export function hashApiKey(key: string): Buffer {
  return sha256(key);
}
