import type { Queryable } from '@onramp/core';

/** Minimal rows for suites that test one feature without going through another feature's API. */
export async function insertProject(db: Queryable, agencyId: string, name = 'Website redesign'): Promise<{ id: string; name: string }> {
  const { rows } = await db.query<{ id: string; name: string }>('insert into projects (agency_id, name) values ($1, $2) returning id, name', [agencyId, name]);
  return rows[0]!;
}

export async function countRows(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from (${sql}) q`, params);
  return rows[0]!.n;
}
