import { randomBytes } from 'node:crypto';

/**
 * A fresh name part for anything that must not collide between tests, files and runs sharing one database
 * (emails, project names, external ids, database and role names): `prefix` then 10 hex digits. The default
 * prefix is a letter, so the result is also a valid identifier and email local part.
 */
export const unique = (prefix = 'x'): string => `${prefix}${randomBytes(5).toString('hex')}`;
