import type { Queryable } from '../../db/pool.js';

/**
 * IMPORT_PROFILE=1: per-phase wall time of each batch and of the whole run, plus memory, written to stderr
 * as one JSON line per batch. A diagnostic for tuning the import (docs/imports.md), off by default.
 */
export class ImportProfile {
  readonly enabled = process.env.IMPORT_PROFILE === '1' || process.env.IMPORT_PROFILE === 'explain';
  /** IMPORT_PROFILE=explain: the statements of the 5th and 45th batches are also run under explain (analyze, buffers) in a rolled-back savepoint. */
  private readonly explain = process.env.IMPORT_PROFILE === 'explain';
  private batch = new Map<string, number>();
  private total = new Map<string, number>();
  private batches = 0;

  add(phase: string, ms: number): void {
    if (!this.enabled) return;
    this.batch.set(phase, (this.batch.get(phase) ?? 0) + ms);
    this.total.set(phase, (this.total.get(phase) ?? 0) + ms);
  }

  async time<T>(phase: string, fn: () => Promise<T> | T): Promise<T> {
    if (!this.enabled) return fn();
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.add(phase, performance.now() - t);
    }
  }

  /** The statements of a batch, each timed under a label derived from its SQL (verb + first table). */
  queryable<Q extends Queryable>(db: Q): Q {
    if (!this.enabled) return db;
    const q = db as Queryable;
    return {
      query: async (text: string, values?: unknown[]) => {
        const label = labelOf(text);
        if (this.explain && (this.batches === 4 || this.batches === 44) && /^(insert|update|select)/.test(label) && !/imports|pg_advisory/.test(label)) {
          await q.query('savepoint import_explain');
          const { rows } = await q.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, values);
          await q.query('rollback to savepoint import_explain');
          process.stderr.write(`-- explain ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
        }
        return this.time(`sql ${label}`, () => q.query(text, values));
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
    process.stderr.write(`${JSON.stringify({ import_profile: 'run', batches: this.batches, total_ms: Math.round(totalMs), ms: Object.fromEntries(sorted), peak_rss_mb: mb(process.resourceUsage().maxRSS * 1024) })}\n`);
  }
}

const mb = (b: number) => Math.round(b / 2 ** 20);

function labelOf(text: string): string {
  const t = text.replace(/\s+/g, ' ');
  const m = /\b(insert into|update|delete from|copy|from)\s+(\w+)/i.exec(t);
  if (!m) return t.slice(0, 30);
  const verb = m[1]!.toLowerCase() === 'from' ? 'select' : m[1]!.toLowerCase().split(' ')[0];
  return `${verb} ${m[2]}`;
}
