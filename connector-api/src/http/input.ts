import { AppError, formatPath } from '@onramp/core';

/** Deeper than any body the API documents (Create Project is 4 levels); far below what recursion survives. */
const MAX_JSON_DEPTH = 32;

interface InputFinding {
  /** Where a NUL character is, as a field path (`clients[0].email`), or null. */
  nulAt: string | null;
  tooDeep: boolean;
}

/**
 * One walk over untrusted input, before any schema sees it. Iterative on purpose: a body nested 100,000
 * levels deep parses (JSON.parse does not recurse on the stack) but overflows every recursive function
 * after it (JSON.stringify for the Idempotency-Key hash, zod).
 * NUL: PostgreSQL cannot store U+0000 in text, so it is refused here, for every string and key, rather
 * than by a schema each route would have to remember.
 */
function inspectInput(value: unknown, maxDepth = MAX_JSON_DEPTH): InputFinding {
  const stack: Array<{ v: unknown; path: PropertyKey[] }> = [{ v: value, path: [] }];
  let nulAt: string | null = null;
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      if (nulAt === null && v.includes('\u0000')) nulAt = formatPath(path);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (path.length >= maxDepth) return { nulAt, tooDeep: true };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
    } else {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
        if (nulAt === null && k.includes('\u0000')) nulAt = formatPath([...path, k.replace(/\u0000/g, '\\u0000')]);
        stack.push({ v: child, path: [...path, k] });
      }
    }
  }
  return { nulAt, tooDeep: false };
}

/** The query and the JSON body of a request, checked as above; throws the 4xx that names the problem. */
export function assertAcceptableInput(query: unknown, body: unknown): void {
  for (const [where, value] of [
    ['query', query],
    ['body', body],
  ] as const) {
    if (value === undefined) continue;
    const found = inspectInput(value);
    if (found.tooDeep) {
      throw new AppError('bad_request', 'Too deeply nested', {
        detail: `The ${where === 'body' ? 'JSON body' : 'query string'} is nested deeper than ${MAX_JSON_DEPTH} levels; no operation takes that.`,
        errors: [{ field: where === 'body' ? '(body)' : '(query)', message: `is nested deeper than ${MAX_JSON_DEPTH} levels` }],
      });
    }
    if (found.nulAt !== null) {
      const field = found.nulAt === '(body)' ? (where === 'body' ? '(body)' : '(query)') : found.nulAt;
      throw new AppError('validation_failed', 'Validation failed', {
        detail: `${field} contains a NUL character (U+0000), which no field accepts.`,
        errors: [{ field, message: 'must not contain a NUL character (U+0000)' }],
      });
    }
  }
}

/** Params carry ids and names; a NUL in one names nothing that exists. */
export function paramsHaveNul(params: Record<string, string>): boolean {
  return Object.values(params).some((v) => typeof v === 'string' && v.includes('\u0000'));
}
