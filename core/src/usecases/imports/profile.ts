import type { Queryable } from '../../db/pool.js';
import type { Config } from '../../config.js';

/**
 * IMPORT_PROFILE (config.importProfile): the wall time of each phase of each batch and of the whole run,
 * plus memory, written to stderr as one JSON line per batch. A diagnostic for tuning the import
 * (docs/imports.md), off by default; when off every method is a pass-through.
 *
 * One timer: `phase(name, fn)`. The batch's steps are its phases (batch.ts names them); the runner adds
 * its own (preparing the next batch, begin + commit, the email enqueue). `explain` also prints
 * `explain (analyze, buffers)` of the 5th and 45th batches' statements through `explaining(db)`.
 */
export class ImportProfile {
  private readonly enabled: boolean;
  private readonly explain: boolean;
  private batch = new Map<string, number>();
  private total = new Map<string, number>();
  private batches = 0;

  constructor(mode: Config['importProfile'] = 'off') {
    this.enabled = mode !== 'off';
    this.explain = mode === 'explain';
  }

  async phase<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (!this.enabled) return fn();
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t;
      this.batch.set(name, (this.batch.get(name) ?? 0) + ms);
      this.total.set(name, (this.total.get(name) ?? 0) + ms);
    }
  }

  /** With `explain`, the statements of the 5th and 45th batches are explained (writes in a rolled-back savepoint) before they run. */
  explaining<Q extends Queryable>(db: Q): Q {
    if (!this.explain) return db;
    const q = db as Queryable;
    return {
      query: async (text: string, values?: unknown[]) => {
        if (
          (this.batches === 4 || this.batches === 44) &&
          /^\s*(with|insert|update|select)/i.test(text) &&
          !/pg_advisory|from imports|update imports/.test(text)
        ) {
          await q.query('savepoint import_explain');
          const { rows } = await q.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values);
          await q.query('rollback to savepoint import_explain');
          process.stderr.write(`-- explain\n${text.replace(/\s+/g, ' ').slice(0, 200)}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
        }
        return q.query(text, values);
      },
    } as unknown as Q;
  }

  endBatch(rows: number): void {
    if (!this.enabled) return;
    this.batches++;
    const m = process.memoryUsage();
    const phases = Object.fromEntries([...this.batch].map(([k, v]) => [k, Math.round(v)]));
    process.stderr.write(
      `${JSON.stringify({ import_profile: 'batch', n: this.batches, rows, ms: phases, rss_mb: mb(m.rss), heap_mb: mb(m.heapUsed), external_mb: mb(m.external), array_buffers_mb: mb(m.arrayBuffers) })}\n`,
    );
    this.batch.clear();
  }

  endRun(totalMs: number): void {
    if (!this.enabled) return;
    const sorted = [...this.total].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v)]);
    process.stderr.write(
      `${JSON.stringify({ import_profile: 'run', batches: this.batches, total_ms: Math.round(totalMs), ms: Object.fromEntries(sorted), peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024) })}\n`,
    );
  }
}

/** The profile of code that runs a batch without one (tests, a dry run's callers): does nothing. */
export const noProfile = new ImportProfile('off');

const mb = (b: number) => Math.round(b / 2 ** 20);
