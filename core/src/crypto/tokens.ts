import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes = 256 bits, URL-safe. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

// Derived keys depend only on (secret, purpose): derive once, not per token (a CSV import hashes 100k).
const subKeys = new Map<string, Buffer>();

function subKey(secret: string, purpose: string): Buffer {
  const id = `${purpose}\u0000${secret}`;
  let key = subKeys.get(id);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `onramp:${purpose}`, 32));
    subKeys.set(id, key);
  }
  return key;
}

/**
 * Invitation/reset/session tokens are stored as HMAC(APP_SECRET, token): someone holding a copy of the
 * database cannot compute the hash of a token they do not have, nor redeem one from what is stored.
 */
export function hashToken(secret: string, token: string, purpose = 'token'): Buffer {
  return createHmac('sha256', subKey(secret, `hash:${purpose}`))
    .update(token, 'utf8')
    .digest();
}

/** hashToken with its key derived once, for callers hashing many tokens (an import batch). */
export function tokenHasher(secret: string, purpose: string): (token: string) => Buffer {
  const key = subKey(secret, `hash:${purpose}`);
  return (token) => createHmac('sha256', key).update(token, 'utf8').digest();
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** AES-256-GCM so "Copy invite link" can show the live link; only APP_SECRET opens it. */
export function encryptToken(secret: string, token: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', subKey(secret, 'link'), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/**
 * Invitation links keep a 32-byte random seed instead of a ciphertext: the token is HMAC(seed) under a
 * key derived from APP_SECRET, so the database alone still cannot produce it, it still carries 256 bits of
 * randomness, and it costs two HMACs instead of an HMAC plus an AES-GCM setup (a CSV import makes 100k).
 * The stored blob is a tag byte and the seed (33 bytes); AES-GCM blobs (12 + 16 + 43 bytes: reset links,
 * older invitations) still open.
 */
const SEEDED = 0x01;
const SEEDED_LENGTH = 33;

/** The one derivation of a link from its seed: minting and reopening a link must never differ. */
const linkOfSeed = (key: Buffer, seed: Buffer): string => createHmac('sha256', key).update(seed).digest('base64url');
const linkSeedKey = (secret: string): Buffer => subKey(secret, 'link-seed');

/**
 * Links from 32-byte random seeds, the key derived once: for each seed, the token to send and the blob to
 * store in token_ciphertext.
 */
export function seededTokens(secret: string): (seed: Buffer) => { token: string; sealed: Buffer } {
  const key = linkSeedKey(secret);
  return (seed) => {
    if (seed.length !== 32) throw new Error('a link seed is 32 bytes');
    const sealed = Buffer.allocUnsafe(SEEDED_LENGTH);
    sealed[0] = SEEDED;
    seed.copy(sealed, 1);
    return { token: linkOfSeed(key, seed), sealed };
  };
}

/** The token kept in a stored blob: a seeded link or an AES-GCM ciphertext. */
export function decryptToken(secret: string, blob: Buffer): string {
  if (blob.length === SEEDED_LENGTH && blob[0] === SEEDED) return linkOfSeed(linkSeedKey(secret), blob.subarray(1));
  const iv = blob.subarray(0, 12);
  const tag = blob.subarray(12, 28);
  const decipher = createDecipheriv('aes-256-gcm', subKey(secret, 'link'), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * The token kept in a stored blob, checked against the stored hash: under another APP_SECRET a seed
 * gives a different token, and a link that would not redeem must never be sent or shown.
 */
export function openToken(secret: string, blob: Buffer, expectedHash: Buffer, purpose: string): string {
  const token = decryptToken(secret, blob);
  if (!safeEqual(hashToken(secret, token, purpose), expectedHash)) throw new Error('the stored link does not open with this APP_SECRET');
  return token;
}

export function sha256(input: string | Buffer): Buffer {
  return createHash('sha256').update(input).digest();
}

export function hmacHex(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/** Each kind of token is hashed under its own derived key, so one kind can never be replayed as another. */
export const TokenPurpose = {
  invitation: 'invitation',
  teammateInvitation: 'teammate-invitation',
  passwordReset: 'password-reset',
  session: 'session',
  consoleSession: 'console-session',
  signInLink: 'sign-in-link',
  csrf: 'csrf',
} as const;
