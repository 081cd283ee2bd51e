import type { Deps } from '../context.js';
import { listenForever, type Listening } from '../db/listen.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import type { ApiKeyAuthRow } from '../sql/apiKeys.js';

/** The channel the database triggers of migration 0172 notify, with the agency id as payload. */
const AUTH_CHANNEL = 'onramp_auth_changed';
/** Bounds the memory of a process that sees very many distinct keys; past it the cache starts over. */
const MAX_ENTRIES = 10_000;

/**
 * API keys as last read from the database, for API_KEY_CACHE_SECONDS: most requests then authenticate
 * without a round trip. The cache is only used while this process hears the database's change notices
 * (`live`); losing them empties it. A read that raced a change is not kept: a change notice bumps
 * `generation`, and a row read before the bump is dropped instead of stored.
 */
export class PrincipalCache {
  private readonly entries = new Map<string, { row: ApiKeyAuthRow; until: number }>();
  private live = false;
  private gen = 0;

  constructor(private readonly ttlMs: number) {}

  get generation(): number {
    return this.gen;
  }

  get(prefix: string): ApiKeyAuthRow | undefined {
    if (!this.live) return undefined;
    const entry = this.entries.get(prefix);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(prefix);
      return undefined;
    }
    return entry.row;
  }

  /** Keeps a row read when `generation` was `readAt`, unless a change came in since. */
  set(prefix: string, row: ApiKeyAuthRow, readAt: number): void {
    if (!this.live || readAt !== this.gen) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(prefix, { row, until: Date.now() + this.ttlMs });
  }

  /** Something about this agency's keys, users or name changed. */
  forgetAgency(agencyId: string): void {
    this.gen++;
    for (const [prefix, entry] of this.entries) if (entry.row.agency_id === agencyId) this.entries.delete(prefix);
  }

  setLive(live: boolean): void {
    this.gen++;
    this.live = live;
    if (!live) this.entries.clear();
  }
}

/**
 * A transaction that changes what a key of this agency stands for (the key itself, its user's role, status
 * or name, the agency's name). Once it commits this process forgets the agency's cached keys before
 * answering; other processes forget them on the database's notice.
 */
export async function withAuthChange<T>(deps: Pick<Deps, 'pool' | 'principals'>, agencyId: string, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const out = await withTransaction(deps.pool, fn);
  deps.principals?.forgetAgency(agencyId);
  return out;
}

/**
 * For an API process: hear the database's change notices and keep the cache honest. Until the LISTEN is in
 * place, and whenever it is lost, the cache is off and every request reads its key.
 */
export function watchAuthChanges(deps: Pick<Deps, 'principals' | 'config' | 'logger'>): Listening | null {
  const cache = deps.principals;
  if (!cache || !deps.config.databaseUrl) return null;
  return listenForever(
    deps.config.databaseUrl,
    AUTH_CHANNEL,
    { onNotify: (agencyId) => cache.forgetAgency(agencyId), onUp: () => cache.setLive(true), onDown: () => cache.setLive(false) },
    deps.logger,
  );
}
