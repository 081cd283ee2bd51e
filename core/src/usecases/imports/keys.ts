import type { ImportRow } from './format.js';

/**
 * The composite keys of an import, in one place. A row's project is named by its key (`x:` + external id,
 * else `n:` + exact name); "the same row" is the same project key and email; a membership or a pending
 * invitation is a (project id, client id or email) pair. Pairs are joined by a newline, which neither an
 * email nor a uuid can contain (a project key may, but it always comes first and is followed by an email,
 * so two different pairs never join to the same string).
 */
export type ProjectKey = `x:${string}` | `n:${string}`;

/** The key that makes two rows "the same project": the external id when given, else the exact name. */
export const projectKeyOf = (row: Pick<ImportRow, 'project_external_id' | 'project_name'>): ProjectKey =>
  row.project_external_id !== null ? `x:${row.project_external_id}` : `n:${row.project_name}`;

/** The key of a stored project (what projectKeyOf gives for the row that created it). */
export const keyOfProject = (p: { external_id: string | null; name: string }): ProjectKey => (p.external_id !== null ? `x:${p.external_id}` : `n:${p.name}`);

export const isExternalKey = (key: string): boolean => key.startsWith('x:');
/** The external id or the name the key was made from. */
export const keyValue = (key: string): string => key.slice(2);

const pairKey = (a: string, b: string): string => `${a}\n${b}`;

/** A set of pairs, for "has this pair been seen": keys built by pairKey only. */
export class PairSet {
  private readonly keys = new Set<string>();
  constructor(pairs: Iterable<readonly [string, string]> = []) {
    for (const [a, b] of pairs) this.keys.add(pairKey(a, b));
  }
  add(a: string, b: string): void {
    this.keys.add(pairKey(a, b));
  }
  has(a: string, b: string): boolean {
    return this.keys.has(pairKey(a, b));
  }
}

/** A map keyed by pairs. */
export class PairMap<V> {
  private readonly map = new Map<string, V>();
  get(a: string, b: string): V | undefined {
    return this.map.get(pairKey(a, b));
  }
  set(a: string, b: string, v: V): void {
    this.map.set(pairKey(a, b), v);
  }
  has(a: string, b: string): boolean {
    return this.map.has(pairKey(a, b));
  }
}
