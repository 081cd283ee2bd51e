import type { Queryable } from '@onramp/core';
import { client } from './http.js';
import { unique } from './unique.js';

/** Minimal rows for suites that test one feature without going through another feature's API. */
export async function insertProject(db: Queryable, agencyId: string, name = 'Website redesign'): Promise<{ id: string; name: string }> {
  const { rows } = await db.query<{ id: string; name: string }>('insert into projects (agency_id, name) values ($1, $2) returning id, name', [agencyId, name]);
  return rows[0]!;
}

export async function countRows(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from (${sql}) q`, params);
  return rows[0]!.n;
}

/** A project created through the API (POST /v1/projects); returns its id. */
export async function createProjectViaApi(baseUrl: string, key: string, name = `P ${unique()}`): Promise<string> {
  const res = await client(baseUrl, key).post('/v1/projects', { name });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** A pending invitation created through the API (no email sent) and its live link token (from "copy link"). */
export async function inviteWithLink(baseUrl: string, key: string, projectId: string, email: string): Promise<{ id: string; token: string }> {
  const api = client(baseUrl, key);
  const created = await api.post(`/v1/projects/${projectId}/invitations`, { email, first_name: 'Ada', last_name: 'Lovelace', send_email: false });
  expect(created.status).toBe(201);
  const link = await api.get(`/v1/invitations/${created.body.id}/link`);
  expect(link.status).toBe(200);
  return { id: created.body.id, token: new URL(link.body.url).pathname.split('/').pop()! };
}
