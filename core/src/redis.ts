import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

/**
 * BullMQ needs `maxRetriesPerRequest: null` for blocking connections (workers); the API's connection keeps
 * the default so a request fails fast instead of hanging while Redis is down.
 */
export function createRedis(url: string, opts: { forWorker?: boolean; lazy?: boolean } = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: opts.lazy ?? false,
    enableReadyCheck: true,
    maxRetriesPerRequest: opts.forWorker ? null : 2,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
  return new Redis(url, options);
}

export async function checkRedis(redis: Redis): Promise<void> {
  const pong = await Promise.race([redis.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('redis ping timed out')), 1000))]);
  if (pong !== 'PONG') throw new Error(`unexpected redis reply: ${pong}`);
}
