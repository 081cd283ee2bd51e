import pg from 'pg';
import { createPool, loadMigrations, migrate } from '@onramp/core';

async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(process.env.TEST_DATABASE_URL!);
  const name = `scratch_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

describe('migrations', () => {
  it('apply exactly once when several processes migrate at the same moment', async () => {
    const db = await scratchDatabase();
    const pools = Array.from({ length: 4 }, () => createPool(db.url, 2));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const all = await loadMigrations();
      expect(results.flat().sort()).toEqual(all.map((m) => m.name).sort());
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      const { rows } = await pools[0]!.query<{ n: number }>('select count(*)::int as n from schema_migrations');
      expect(rows[0]!.n).toBe(all.length);
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await db.drop();
    }
  });

  it('run each migration in its own transaction: a failing one leaves nothing behind and stops the run', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'onramp-migrations-'));
    writeFileSync(join(dir, '0001_first.sql'), 'create table first_table (id int);');
    writeFileSync(join(dir, '0002_broken.sql'), 'create table half_done (id int); select * from no_such_table;');
    writeFileSync(join(dir, '0003_never.sql'), 'create table never_reached (id int);');
    const db = await scratchDatabase();
    const pool = createPool(db.url, 2);
    try {
      await expect(migrate(pool, undefined, `${dir}/`)).rejects.toThrow(/migration 0002_broken failed: .*no_such_table/);
      const tables = await pool.query<{ table_name: string }>(
        "select table_name from information_schema.tables where table_name in ('first_table', 'half_done', 'never_reached')",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(['first_table']);
      const applied = await pool.query<{ name: string }>('select name from schema_migrations');
      expect(applied.rows.map((r) => r.name)).toEqual(['0001_first']);
    } finally {
      await pool.end();
      await db.drop();
    }
  });

  it('are numbered in order', async () => {
    const all = await loadMigrations();
    expect(all.length).toBeGreaterThan(0);
    expect(all.map((m) => m.version)).toEqual([...new Set(all.map((m) => m.version))].sort((x, y) => x - y));
  });
});
