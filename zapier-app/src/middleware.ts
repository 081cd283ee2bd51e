import type {
  AfterResponseMiddleware,
  BeforeRequestMiddleware,
  Bundle,
  HttpResponse,
  ZObject,
} from 'zapier-platform-core';

import { isOnrampUrl, normalizeBaseUrl } from './lib/api';

/** RFC 9457 problem details as Onramp sends them (application/problem+json). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  code?: string;
  detail?: string;
  errors?: Array<{ field?: string; message?: string }>;
}

export const INVALID_KEY_MESSAGE =
  'Your Onramp API key is invalid or has been revoked. Reconnect Onramp in Zapier with a valid key ' +
  '(create one on the API keys page of the Onramp console, `/console/api-keys`, or with `npx onramp key create --user-email you@agency.com`).';

/** Default wait when a 429/503 carries no usable Retry-After header. */
export const DEFAULT_RETRY_SECONDS = 60;

/**
 * Adds the API key and Accept header to requests that go to the connected
 * Onramp. Requests to anywhere else (e.g. downloading a file from an earlier
 * Zap step) never carry the key.
 */
export const addAuthHeaders: BeforeRequestMiddleware = (request, _z, bundle) => {
  if (isOnrampUrl(request.url, bundle)) {
    request.headers = request.headers ?? {};
    const key = String(bundle.authData?.api_key ?? '').trim();
    if (key) request.headers.Authorization = `Bearer ${key}`;
    if (!request.headers.Accept && !request.headers.accept) request.headers.Accept = 'application/json';
  }
  return request;
};

/** Retry-After is either delta-seconds or an HTTP date. */
export const parseRetryAfter = (value: string | null | undefined, now: number = Date.now()): number => {
  if (!value) return DEFAULT_RETRY_SECONDS;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, parseInt(trimmed, 10));
  const date = Date.parse(trimmed);
  if (!Number.isNaN(date)) return Math.max(1, Math.ceil((date - now) / 1000));
  return DEFAULT_RETRY_SECONDS;
};

const asProblem = (data: unknown): Problem | undefined => {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return undefined;
  return data as Problem;
};

/**
 * One human sentence out of a problem+json body, keeping the API's own words:
 * "Validation failed: 2 fields are invalid. clients[0].email: Invalid email address; name: Required (HTTP 422, validation_failed)".
 */
export const describeProblem = (status: number, problem: Problem | undefined, fallback: string): string => {
  const parts: string[] = [];
  const title = problem?.title?.trim();
  const detail = problem?.detail?.trim();
  if (title && detail && detail !== title) parts.push(`${title}: ${detail}`);
  else if (title || detail) parts.push((title || detail) as string);
  else parts.push(fallback);
  const fieldErrors = (problem?.errors ?? [])
    .filter((e) => e && (e.field || e.message))
    .map((e) => (e.field ? `${e.field}: ${e.message ?? 'invalid'}` : String(e.message)));
  let message = parts.join('');
  // Onramp's detail often already lists the field messages ("last_name: is required"): say each only once.
  const missing = fieldErrors.filter((e) => !message.includes(e));
  if (missing.length) message += `${/[.!?]$/.test(message) ? '' : '.'} ${missing.join('; ')}`;
  const code = problem?.code ? `, ${problem.code}` : '';
  return `${message} (HTTP ${status}${code})`;
};

const readBody = (response: HttpResponse): { data: unknown; text: string } => {
  // Raw (streaming) responses have no .content; their body is left unread.
  if (response.request?.raw) return { data: undefined, text: '' };
  let text = '';
  try {
    text = typeof response.content === 'string' ? response.content : '';
  } catch {
    text = '';
  }
  return { data: response.data, text };
};

const label = (response: HttpResponse): string => {
  const method = (response.request?.method ?? 'GET').toUpperCase();
  let path = response.request?.url ?? '';
  try {
    path = new URL(path).pathname;
  } catch {
    /* keep as is */
  }
  return `${method} ${path}`;
};

/**
 * Throws the Zapier error that matches an Onramp error response:
 * - 401 -> ExpiredAuthError (Zapier marks the connection stale and asks the user to reconnect)
 * - 429 -> ThrottledError with the Retry-After delay (Zapier retries later)
 * - 5xx -> ThrottledError when the server says when to come back (503 + Retry-After), otherwise z.errors.Error
 *          (an error run that Zapier's autoreplay retries)
 * - other 4xx -> HaltedError carrying the API's title/detail and every field message (retrying cannot help)
 * Responses below 400 are returned untouched.
 */
export const throwForOnrampError = (response: HttpResponse, z: ZObject, bundle: Bundle): void => {
  const status = response.status;
  if (status < 400) return;

  const onramp = isOnrampUrl(response.request?.url, bundle);
  if (!onramp) {
    // Not our API (e.g. a file from an earlier step): no problem+json to read.
    let host = 'the remote server';
    try {
      host = new URL(response.request?.url ?? '').host || host;
    } catch {
      /* ignore */
    }
    const message = `Downloading from ${host} failed with HTTP ${status}.`;
    if (status === 429) throw new z.errors.ThrottledError(message, parseRetryAfter(response.getHeader('retry-after')));
    if (status >= 500) throw new z.errors.Error(message, 'download_failed', status);
    throw new z.errors.HaltedError(message);
  }

  const { data } = readBody(response);
  const problem = asProblem(data);

  if (status === 401) {
    const said = problem?.detail || problem?.title;
    throw new z.errors.ExpiredAuthError(said ? `${INVALID_KEY_MESSAGE} (Onramp said: ${said})` : INVALID_KEY_MESSAGE);
  }

  if (status === 429) {
    const delay = parseRetryAfter(response.getHeader('retry-after'));
    throw new z.errors.ThrottledError(
      `Onramp is rate limiting requests (${label(response)}); Zapier will retry in ${delay} seconds.`,
      delay,
    );
  }

  if (status >= 500) {
    const message = describeProblem(status, problem, `Onramp had a server error on ${label(response)}`);
    const retryAfter = response.getHeader('retry-after');
    if (retryAfter) throw new z.errors.ThrottledError(message, parseRetryAfter(retryAfter));
    throw new z.errors.Error(`${message}. Zapier will retry this step.`, problem?.code ?? 'server_error', status);
  }

  const fallback =
    status === 404
      ? `Not found: ${label(response)} (check the chosen project, task or record still exists in Onramp)`
      : status === 403
        ? `Your Onramp user is not allowed to do this (${label(response)}); an owner or admin key is needed`
        : `Onramp rejected ${label(response)}`;
  throw new z.errors.HaltedError(describeProblem(status, problem, fallback));
};

/**
 * Rejects a 2xx from the Onramp URL whose body is not JSON: the URL points at something else (a web page,
 * a proxy's login page), and passing its HTML on as data would only fail later and less clearly.
 */
export const rejectNonJson = (response: HttpResponse, z: ZObject, bundle: Bundle): void => {
  if (
    !response.request?.raw &&
    response.status !== 204 &&
    isOnrampUrl(response.request?.url, bundle) &&
    response.data === undefined
  ) {
    const { text } = readBody(response);
    if (text.trim()) {
      const base = normalizeBaseUrl(bundle.authData?.base_url) ?? 'the Onramp URL';
      throw new z.errors.HaltedError(
        `${base} answered ${label(response)} with something that is not JSON. Check that the Onramp URL of this ` +
          'connection is the address of your Onramp server (not the console page or a proxy login page).',
      );
    }
  }
};

/**
 * afterResponse: maps every Onramp error response to the right Zapier error, so an
 * error can never pass as success. A request that sets `skipThrowForStatus: true`
 * opts out and handles the status itself (see performUnsubscribe, authentication.test).
 * Also rejects a 2xx from the Onramp URL whose body is not JSON (usually a wrong base URL).
 */
export const handleErrors: AfterResponseMiddleware = (response, z, bundle) => {
  if (response.request?.skipThrowForStatus === true) return response;
  throwForOnrampError(response, z, bundle);
  rejectNonJson(response, z, bundle);
  return response;
};

export const befores = [addAuthHeaders];
export const afters = [handleErrors];
