import type { z } from 'zod';
import { validationError, type AppError, type FieldError } from './AppError.js';

/** `clients.0.email` reads worse than `clients[0].email` for a person fixing a Zap. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(body)' : out;
}

export function zodIssuesToFieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: formatPath(issue.path), message: issue.message }));
}

export function zodToAppError(error: z.ZodError, prefix?: string): AppError {
  const errors = zodIssuesToFieldErrors(error).map((e) => (prefix ? { ...e, field: e.field === '(body)' ? prefix : `${prefix}.${e.field}` } : e));
  return validationError(errors);
}

/** Parse untrusted input; a failure becomes a 422 naming each field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix?: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodToAppError(result.error, prefix);
  return result.data;
}
