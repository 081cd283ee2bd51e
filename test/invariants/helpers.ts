import { call, type ApiResponse } from '../support/http.js';

/**
 * Every response the invariant suites look at goes through here, so "no 200 on an error" is checked on all
 * of them: a problem document always carries a 4xx/5xx status (in the header and in its body), and every
 * 4xx/5xx under /v1 is a problem document.
 */
export async function send(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string | Buffer } = {},
): Promise<ApiResponse> {
  const res = await call(baseUrl, method, path, opts);
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('problem+json')) {
    if (res.status < 400) throw new Error(`${method} ${path}: a problem document with status ${res.status}: ${res.text}`);
    if (res.body.status !== res.status) throw new Error(`${method} ${path}: problem status ${res.body.status} differs from HTTP ${res.status}`);
  }
  if (res.status >= 400 && path.startsWith('/v1/') && !type.includes('problem+json')) {
    throw new Error(`${method} ${path}: error ${res.status} is not application/problem+json (${type}): ${res.text}`);
  }
  return res;
}

export function expectProblem(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

type Db = { query: (sql: string, values?: unknown[]) => Promise<{ rows: any[] }> };

/**
 * A digest of every row an agency owns, in every table (found from the schema, so a new tenant table is
 * covered without editing this), plus the child tables keyed through a parent. Equal digests before and
 * after a call prove the call changed nothing of that agency.
 */
export async function agencyFingerprint(db: Db, agencyId: string): Promise<Record<string, string>> {
  const { rows: tables } = await db.query(
    `select table_name from information_schema.columns
      where table_schema = current_schema() and column_name = 'agency_id' order by table_name`,
  );
  const sources: Record<string, string> = { agencies: 'select t.* from agencies t where t.id = $1' };
  for (const { table_name } of tables) sources[table_name] = `select t.* from ${table_name} t where t.agency_id = $1`;
  sources.template_tasks = 'select t.* from template_tasks t join templates p on p.id = t.template_id where p.agency_id = $1';
  sources.import_chunks = 'select t.import_id, t.chunk_no, md5(t.data) from import_chunks t join imports p on p.id = t.import_id where p.agency_id = $1';
  sources.import_errors = 'select t.* from import_errors t join imports p on p.id = t.import_id where p.agency_id = $1';
  // Webhook delivery bookkeeping is written by the worker, on its own schedule, as a consequence of events
  // (which are fingerprinted): a retry of an earlier delivery may land at any moment, so these rows say
  // nothing about the request under test.
  delete sources.webhook_deliveries;
  // Likewise the columns background jobs own: email delivery state, an invitation's last delivery outcome, a
  // hook's failure count, a key's last use. Everything a request itself writes stays in the digest.
  sources.emails =
    'select t.id, t.kind, t.to_address, t.invitation_id, t.client_id, t.firm_user_id, t.token_ciphertext, t.created_at from emails t where t.agency_id = $1';
  sources.invitations = `select to_jsonb(t) - array['delivery_status', 'delivery_error'] from invitations t where t.agency_id = $1`;
  sources.hooks = 'select t.id, t.event, t.target_url, t.secret, t.created_by, t.created_at from hooks t where t.agency_id = $1';
  sources.api_keys = 'select t.id, t.user_id, t.prefix, t.key_hash, t.name, t.created_at, t.revoked_at from api_keys t where t.agency_id = $1';
  const out: Record<string, string> = {};
  for (const [name, sql] of Object.entries(sources)) {
    const { rows } = await db.query(`select count(*)::int as n, md5(coalesce(string_agg(q::text, '|' order by q::text), '')) as h from (${sql}) q`, [agencyId]);
    out[name] = `${rows[0].n}:${rows[0].h}`;
  }
  return out;
}
