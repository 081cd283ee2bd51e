import type { AfterResponseMiddleware, BeforeRequestMiddleware, Bundle, HttpResponse, ZObject } from 'zapier-platform-core';

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
  '(create one in the Onramp console on the API keys page, /console/api-keys, or on the server with ' +
  '`npx onramp key create --user-email you@youragency.com`).';

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
 * The Zap editor's name for an API field, so a Zap builder knows which box to change:
 * "clients[1].email" -> "Clients line 2, Client Email (clients[1].email)".
 */
const FIELD_LABELS: Record<string, string> = {
  name: 'Project Name',
  external_id: 'External ID',
  template_id: 'Template',
  template_name: 'Template',
  email: 'Email',
  first_name: 'First Name',
  last_name: 'Last Name',
  message: 'Message',
  task: 'Task',
  emails: 'Assignee Emails',
  file: 'CSV File',
  target_url: 'Webhook URL',
};
const LINE_ITEM_GROUPS: Record<string, { group: string; fields: Record<string, string> }> = {
  clients: { group: 'Clients', fields: { email: 'Client Email', first_name: 'Client First Name', last_name: 'Client Last Name', message: 'Message' } },
  assignments: { group: 'Task Assignments', fields: { task: 'Task', emails: 'Assignee Emails' } },
};

export const fieldLabel = (field: string): string | undefined => {
  const item = /^(\w+)\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (item) {
    const group = LINE_ITEM_GROUPS[item[1]!];
    if (!group) return undefined;
    const child = item[3] ? group.fields[item[3]] : undefined;
    return `${group.group} line ${Number(item[2]) + 1}${child ? `, ${child}` : ''}`;
  }
  return FIELD_LABELS[field];
};

const describeField = (e: { field?: string; message?: string }): string => {
  const message = e.message ?? 'invalid';
  if (!e.field) return message;
  const label = fieldLabel(e.field);
  return label ? `${label} (${e.field}): ${message}` : `${e.field}: ${message}`;
};

/**
 * What a Zap builder can do about an error Onramp names by its stable code. The API's own detail says what
 * happened; this says where to act when the fix is outside the step (in Onramp, or in the connection).
 */
const NEXT_STEP: Record<string, (problem: Problem & Record<string, unknown>) => string> = {
  client_deactivated: (p) =>
    `What to do: reactivate the client in Onramp (an owner or admin: POST /v1/clients/${String(p.client_id ?? '<client id>')}/reactivate), ` +
    'then replay this Zap run; or map a different email.',
  email_belongs_to_firm_user: () => 'What to do: this email is a member of your team; clients need their own address. Map a different email.',
  invitation_not_pending: () => 'What to do: nothing to redo here; the invitation was already accepted, revoked or expired.',
  forbidden: () =>
    'What to do: reconnect Onramp in Zapier with an API key of an owner or admin ' +
    "(the console's API keys page, /console/api-keys, or `npx onramp key create --user-email admin@youragency.com`).",
  payload_too_large: () => 'What to do: split the CSV file into smaller files and import each one.',
  idempotency_key_in_use: () => 'What to do: the same request is still running; Zapier will not need to send it twice. Replay the run later.',
};

const ARCHIVED = /archived/i;

/**
 * One message out of a problem+json body, keeping the API's own words and naming each field as the Zap editor
 * shows it: "Validation failed: ... Clients line 1, Client Email (clients[0].email): must be a valid email address
 * (HTTP 422, validation_failed)".
 */
export const describeProblem = (status: number, problem: Problem | undefined, fallback: string): string => {
  const parts: string[] = [];
  const title = problem?.title?.trim();
  const detail = problem?.detail?.trim();
  if (title && detail && detail !== title) parts.push(`${title}: ${detail}`);
  else if (title || detail) parts.push((title || detail) as string);
  else parts.push(fallback);
  let message = parts.join('');
  const fieldErrors = (problem?.errors ?? []).filter((e) => e && (e.field || e.message));
  // Onramp's detail often already lists the field messages ("last_name: is required"): say each only once, the
  // Zap editor's name for the field included.
  const said: string[] = [];
  for (const e of fieldErrors) {
    const plain = e.field ? `${e.field}: ${e.message ?? 'invalid'}` : String(e.message);
    const labelled = describeField(e);
    if (message.includes(plain)) {
      if (labelled !== plain) message = message.replace(plain, labelled);
    } else said.push(labelled);
  }
  if (said.length) message += `${/[.!?]$/.test(message) ? '' : '.'} ${said.join('; ')}`;
  const code = problem?.code ? `, ${problem.code}` : '';
  let next = problem?.code ? NEXT_STEP[problem.code]?.(problem as Problem & Record<string, unknown>) : undefined;
  if (!next && status === 409 && ARCHIVED.test(`${title} ${detail}`)) {
    next = 'What to do: unarchive the project in Onramp (PATCH /v1/projects/<id> {"archived": false}), or choose another Project.';
  }
  return `${message} (HTTP ${status}${code})${next ? `. ${next}` : ''}`;
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
 * - 5xx -> ThrottledError for 503 or any 5xx with Retry-After (the server says when to come back), otherwise z.errors.Error
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
    throw new z.errors.ThrottledError(`Onramp is rate limiting requests (${label(response)}); Zapier will retry in ${delay} seconds.`, delay);
  }

  if (status >= 500) {
    const message = describeProblem(status, problem, `Onramp had a server error on ${label(response)}`);
    const retryAfter = response.getHeader('retry-after');
    // 503 is Onramp saying "busy, come back" (a pool timeout, a serialisation conflict, Redis away): Zapier retries
    // a ThrottledError after the delay instead of failing the run.
    if (status === 503 || retryAfter) {
      const delay = parseRetryAfter(retryAfter);
      throw new z.errors.ThrottledError(`${message}. Zapier will retry in ${delay} seconds.`, delay);
    }
    throw new z.errors.Error(`${message}. Zapier will retry this step.`, problem?.code ?? 'server_error', status);
  }

  const fallback =
    status === 403 ? `Your Onramp user is not allowed to do this (${label(response)}); an owner or admin key is needed` : `Onramp rejected ${label(response)}`;
  let message = describeProblem(status, problem, status === 404 ? `Not found: ${label(response)}` : fallback);
  if (status === 404) {
    message +=
      '. What to do: the chosen Project or Task no longer exists in this Onramp agency (deleted, or from another ' +
      'connection). Choose it again from the dropdown, or map an ID from an earlier step of this Zap.';
  }
  throw new z.errors.HaltedError(message);
};

/**
 * Rejects a 2xx from the Onramp URL whose body is not JSON: the URL points at something else (a web page,
 * a proxy's login page), and passing its HTML on as data would only fail later and less clearly.
 */
export const rejectNonJson = (response: HttpResponse, z: ZObject, bundle: Bundle): void => {
  if (!response.request?.raw && response.status !== 204 && isOnrampUrl(response.request?.url, bundle) && response.data === undefined) {
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
