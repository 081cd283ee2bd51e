import type { ErrorCode } from './codes.js';

export interface FieldError {
  /** Path of the offending input, e.g. `clients[0].email`. */
  field: string;
  message: string;
}

export interface AppErrorOptions {
  detail?: string;
  errors?: FieldError[];
  /** Seconds, for `rate_limited`. */
  retryAfter?: number;
  cause?: unknown;
  /** Extra members for the problem document (e.g. the existing resource). */
  extra?: Record<string, unknown>;
}

/** The one error type of Onramp: a stable code, a human title and, when it helps, the fields at fault. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly errors: FieldError[];
  readonly retryAfter: number | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, title: string, options: AppErrorOptions = {}) {
    super(title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.detail = options.detail;
    this.errors = options.errors ?? [];
    this.retryAfter = options.retryAfter;
    this.extra = options.extra;
  }

  get title(): string {
    return this.message;
  }
}

export const notFound = (what: string): AppError => new AppError('not_found', `${what} not found`);

export const validationError = (errors: FieldError[], detail?: string): AppError =>
  new AppError('validation_failed', 'Validation failed', {
    errors,
    detail: detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '),
  });
