import { hash, verify } from '@node-rs/argon2';
import { z } from 'zod';

/** The library's default algorithm is argon2id (RFC 9106's recommendation) with 19 MiB and 2 passes. */
export async function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** A malformed stored hash is a wrong password, never a 500 that tells an attacker something. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

/**
 * Verifying against this when no account matched makes "no such account" cost as much as "wrong password",
 * so response time does not reveal which emails have accounts. Built lazily: hashing at import time would
 * slow every process start.
 */
let decoy: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  decoy ??= hash('onramp-decoy-password-never-used');
  await verifyPassword(await decoy, password);
}

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;

export const newPasswordSchema = z
  .string({ error: 'is required' })
  .min(1, 'is required')
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);
