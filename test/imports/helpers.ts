import { call, type ApiResponse } from '../support/http.js';

export const HEADER = 'project_name,project_external_id,template,first_name,last_name,email,tasks,message';

export function uploadCsv(url: string, key: string, body: string | Buffer, query: Record<string, string> = {}, contentType = 'text/csv'): Promise<ApiResponse> {
  const qs = new URLSearchParams(query).toString();
  return call(url, 'POST', `/v1/imports${qs ? `?${qs}` : ''}`, { key, rawBody: body, headers: { 'content-type': contentType } });
}

export async function uploadMultipart(
  url: string,
  key: string,
  csv: string,
  fields: Record<string, string> = {},
  filename = 'clients.csv',
): Promise<ApiResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([csv], { type: 'text/csv' }), filename);
  const res = await fetch(`${url}/v1/imports`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

/** Polls until the import leaves queued/running. */
export async function waitForImport(url: string, key: string, id: string, timeoutMs = 120_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(url, 'GET', `/v1/imports/${id}`, { key });
    if (res.status !== 200) throw new Error(`GET import ${id}: ${res.status} ${res.text}`);
    if (!['queued', 'running'].includes(res.body.status)) return res.body;
    if (Date.now() > until) throw new Error(`import ${id} still ${res.body.status} after ${timeoutMs} ms: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function importAndWait(url: string, key: string, csv: string | Buffer, query: Record<string, string> = {}): Promise<any> {
  const res = await uploadCsv(url, key, csv, query);
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${res.text}`);
  return waitForImport(url, key, res.body.id);
}

export const csv = (...lines: string[]) => `${lines.join('\n')}\n`;

/** Row counts of every table an import writes, for one agency. */
export async function agencyTableCounts(
  pool: { query: (q: string, v: unknown[]) => Promise<{ rows: any[] }> },
  agencyId: string,
): Promise<Record<string, number>> {
  const { rows } = await pool.query(
    `select (select count(*) from projects where agency_id = $1)::int as projects,
            (select count(*) from tasks where agency_id = $1)::int as tasks,
            (select count(*) from clients where agency_id = $1)::int as clients,
            (select count(*) from memberships where agency_id = $1)::int as memberships,
            (select count(*) from invitations where agency_id = $1)::int as invitations,
            (select count(*) from task_assignees where agency_id = $1)::int as task_assignees,
            (select count(*) from emails where agency_id = $1)::int as emails,
            (select count(*) from events where agency_id = $1 and type <> 'import.completed')::int as events`,
    [agencyId],
  );
  return rows[0];
}

/**
 * Everything an import wrote for one agency, keyed by what the file says (project key, email, task title)
 * instead of generated ids, so two agencies' runs of one file can be compared table by table.
 */
export async function agencySnapshot(
  pool: { query: (q: string, v: unknown[]) => Promise<{ rows: any[] }> },
  agencyId: string,
): Promise<Record<string, unknown[]>> {
  const q = async (sql: string) => (await pool.query(sql, [agencyId])).rows.map((r) => JSON.stringify(r)).sort();
  return {
    projects: await q(`select p.name, p.external_id, t.name as template from projects p left join templates t on t.id = p.template_id where p.agency_id = $1`),
    tasks: await q(
      `select coalesce(p.external_id, p.name) as project, k.title, k.position from tasks k join projects p on p.id = k.project_id where k.agency_id = $1`,
    ),
    clients: await q(`select email, first_name, last_name, status from clients where agency_id = $1`),
    memberships: await q(
      `select coalesce(p.external_id, p.name) as project, c.email_normalized from memberships m join projects p on p.id = m.project_id join clients c on c.id = m.client_id where m.agency_id = $1`,
    ),
    // What the import decided (an email or not), not how delivery went afterwards: the sender runs on its own.
    invitations: await q(
      `select coalesce(p.external_id, p.name) as project, i.email_normalized, i.status, i.delivery_status <> 'not_sent' as email_requested, i.send_count, i.message, i.token_hash is not null as has_token
         from invitations i join projects p on p.id = i.project_id where i.agency_id = $1`,
    ),
    task_assignees: await q(
      `select coalesce(p.external_id, p.name) as project, k.title, c.email_normalized from task_assignees a join tasks k on k.id = a.task_id
         join projects p on p.id = k.project_id join clients c on c.id = a.client_id where a.agency_id = $1`,
    ),
    emails: await q(`select e.kind, e.to_address, e.token_ciphertext is not null as has_link from emails e where e.agency_id = $1`),
    events: await q(`select type, count(*)::int as n from events where agency_id = $1 group by type`),
  };
}
