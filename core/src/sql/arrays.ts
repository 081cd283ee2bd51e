import type { Queryable } from '../db/pool.js';

const special = /[\\"]/;
const specialAll = /[\\"]/g;

/**
 * A PostgreSQL array literal, built with one join. node-postgres builds the same literal by appending to
 * one string element by element; for an import batch's parameters (thousands of elements each) that was
 * the worker's largest allocation and a visible share of its CPU (see docs/imports.md, Performance).
 * Elements: strings (quoted, `\` and `"` escaped), null/undefined (NULL), booleans, finite numbers and
 * Buffers (bytea hex), the types the import sends.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'string') parts[i] = special.test(v) ? `"${v.replace(specialAll, '\\$&')}"` : `"${v}"`;
    else if (typeof v === 'boolean') parts[i] = v ? 't' : 'f';
    else if (typeof v === 'number' && Number.isFinite(v)) parts[i] = String(v);
    // Unquoted, so the array parser turns `\\` into the `\` of bytea's hex format.
    else if (Buffer.isBuffer(v)) parts[i] = `\\\\x${v.toString('hex')}`;
    else throw new TypeError(`arrayLiteral: unsupported element at index ${i} (${typeof v})`);
  }
  return `{${parts.join(',')}}`;
}

/** The same queries, with every array parameter sent as an arrayLiteral. */
export function withArrayLiterals<Q extends Queryable>(db: Q): Q {
  const q = db as Queryable;
  return {
    query: (text: string, values?: unknown[]) =>
      q.query(
        text,
        values?.map((v) => (Array.isArray(v) ? arrayLiteral(v) : v)),
      ),
  } as unknown as Q;
}
