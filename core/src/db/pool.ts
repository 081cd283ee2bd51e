import pg from 'pg';

// int8 (bigint identities, counts) fits a JS number for every value Onramp produces.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
// `date` stays a plain YYYY-MM-DD string: no time zone may shift a due date.
pg.types.setTypeParser(1082, (v) => v);

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything a query module can run SQL on: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  // A server restart must not crash the process. An idle client's error reaches the pool; a checked-out
  // client's error is also delivered to its in-flight or next query (which fails and is handled there), so
  // the event itself only needs a listener. The broken client is discarded on release.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A transaction that is always rolled back (a dry run): `fn` sees its own writes, nothing is kept. */
export async function withDiscardedTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    return await fn(client);
  } finally {
    await client.query('rollback').catch(() => undefined);
    client.release();
  }
}

/**
 * `fn` inside a savepoint of the caller's transaction: released when `fn` succeeds; when it throws an error
 * `undo` accepts, rolled back (the transaction goes on without `fn`'s writes). The error is rethrown.
 */
export async function withSavepoint<T>(tx: Pick<pg.PoolClient, 'query'>, name: string, fn: () => Promise<T>, undo: (err: unknown) => boolean): Promise<T> {
  await tx.query(`savepoint ${name}`);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    if (undo(err)) await tx.query(`rollback to savepoint ${name}`);
    throw err;
  }
  await tx.query(`release savepoint ${name}`);
  return result;
}

/**
 * A failure the caller knows is safe to retry: the transaction is rolled back and run again from its
 * reads (for example a row it refers to was deleted, or a concurrent writer took a unique key it had
 * checked was free). Thrown by the code that knows why, instead of every unique violation being retried.
 */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly retryable = true;
}

/** Retries serialisation failures, deadlocks and RetryableErrors: the transaction left nothing behind. */
export async function withRetryableTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, fn);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const retryable = err instanceof RetryableError || code === '40001' || code === '40P01';
      if (!retryable || attempt >= attempts) throw err;
    }
  }
}

export async function checkDatabase(pool: Pick<pg.Pool, 'query'>): Promise<void> {
  await pool.query('select 1');
}
