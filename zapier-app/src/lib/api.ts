import type { Bundle, ZObject } from 'zapier-platform-core';

/** A page of results as every Onramp list endpoint answers it. */
export interface Page<T> {
  data: T[];
  next_cursor?: string | null;
}

/**
 * Normalises the Onramp URL the user typed when connecting:
 * trims it, adds https:// when no scheme was given, and strips trailing
 * slashes and a trailing `/v1` (we add `/v1/...` ourselves).
 * Returns null when the value is not a usable http(s) URL.
 */
export const normalizeBaseUrl = (raw: unknown): string | null => {
  if (typeof raw !== 'string') return null;
  let value = raw.trim();
  if (!value) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `https://${value}`;
  value = value.replace(/\/+$/, '').replace(/\/v1$/i, '').replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return null;
  if (!parsed.hostname) return null;
  if (parsed.search || parsed.hash) return null;
  return value;
};

/** The connection's Onramp base URL, or a clear error telling the user to fix it. */
export const baseUrl = (z: ZObject, bundle: Bundle): string => {
  const url = normalizeBaseUrl(bundle.authData?.base_url);
  if (!url) {
    throw new z.errors.Error(
      'The Onramp URL of this connection is missing or invalid. Reconnect Onramp and enter the address of your ' +
        'Onramp server, for example https://onramp.youragency.com.',
      'invalid_base_url',
      400,
    );
  }
  return url;
};

/** `{base_url}/v1{path}`; path segments given in `segments` are URL-encoded. */
export const apiUrl = (z: ZObject, bundle: Bundle, path: string): string => `${baseUrl(z, bundle)}/v1${path}`;

/** Encodes one path segment (ids come from users' mapped data). */
export const seg = (value: unknown): string => encodeURIComponent(String(value ?? '').trim());

/** True when `url` points at the connected Onramp (so it may carry the API key). */
export const isOnrampUrl = (url: string | undefined, bundle: Bundle): boolean => {
  const base = normalizeBaseUrl(bundle.authData?.base_url);
  if (!base || !url) return false;
  return url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`);
};

/**
 * Zapier hands booleans over as true/false, or as strings ("true", "yes",
 * "no", ...) when mapped from another step. Empty means "use the default".
 */
export const parseBool = (value: unknown, fallback: boolean): boolean => {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value !== 'string') return fallback;
  const v = value.trim().toLowerCase();
  if (!v) return fallback;
  if (['true', 'yes', 'y', '1', 'on'].includes(v)) return true;
  if (['false', 'no', 'n', '0', 'off'].includes(v)) return false;
  return fallback;
};

/** Trimmed string or undefined when empty / not a string-like value. */
export const str = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  const s = String(value).trim();
  return s ? s : undefined;
};

/** Splits "a@x.com, b@y.com; c@z.com" (or an array of them) into a clean list. */
export const splitList = (value: unknown): string[] => {
  const parts: unknown[] = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') continue;
    for (const item of part.split(/[,;\n]/)) {
      const trimmed = item.trim();
      if (trimmed) out.push(trimmed);
    }
  }
  return out;
};

/**
 * Fetches one page of a cursor-paginated list for a dynamic dropdown.
 * Zapier increments bundle.meta.page when the user clicks "Load more"; we
 * keep the API's next_cursor between pages with z.cursor (canPaginate: true).
 */
export const fetchDropdownPage = async <T>(z: ZObject, bundle: Bundle, url: string, params: Record<string, string> = {}): Promise<T[]> => {
  let cursor: string | undefined;
  const page = Number(bundle.meta?.page ?? 0);
  if (page > 0) {
    const stored = await z.cursor.get();
    if (!stored) return []; // the previous page was the last one
    cursor = stored;
  }
  const response = await z.request<Page<T>>({
    url,
    method: 'GET',
    params: { ...params, limit: '100', ...(cursor ? { cursor } : {}) },
  });
  const body = response.data;
  await z.cursor.set(body?.next_cursor ?? '');
  return Array.isArray(body?.data) ? body.data : [];
};

/** GET a polling feed: `{ data: [payload, ...] }`, newest first. */
export const fetchFeed = async <T>(z: ZObject, bundle: Bundle, event: string): Promise<T[]> => {
  const response = await z.request<Page<T>>({
    url: apiUrl(z, bundle, `/feeds/${seg(event)}`),
    method: 'GET',
    params: { limit: '100' },
  });
  const data = response.data?.data;
  if (!Array.isArray(data)) {
    throw new z.errors.Error(
      `Onramp answered GET /v1/feeds/${event} without a "data" list; check that the Onramp URL points at an Onramp server.`,
      'unexpected_response',
      response.status,
    );
  }
  return data;
};
