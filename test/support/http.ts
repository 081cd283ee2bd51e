export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A small fetch wrapper: JSON in, parsed body out, whatever the status. */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | Buffer | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

/** Bind a base URL and key once per test. */
export function client(baseUrl: string, key?: string) {
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) =>
      call<T>(baseUrl, 'GET', path, { ...(key ? { key } : {}), ...(headers ? { headers } : {}) }),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      call<T>(baseUrl, 'POST', path, { ...(key ? { key } : {}), ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) }),
    patch: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      call<T>(baseUrl, 'PATCH', path, { ...(key ? { key } : {}), ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) }),
    delete: <T = any>(path: string, headers?: Record<string, string>) =>
      call<T>(baseUrl, 'DELETE', path, { ...(key ? { key } : {}), ...(headers ? { headers } : {}) }),
  };
}
