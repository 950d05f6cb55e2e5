import { Redis } from 'ioredis';

/** Deletes every key under `prefix` in the Redis at `url` (a test's own keys), in bounded batches. */
export async function dropRedisKeys(url: string, prefix: string): Promise<number> {
  if (prefix.length < 4) throw new Error(`refusing to drop keys under a short prefix "${prefix}"`);
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  let dropped = 0;
  try {
    await redis.connect();
    let cursor = '0';
    // SCAN visits every key once per full pass; 10,000 rounds is far beyond what a test writes.
    for (let round = 0; round < 10_000; round++) {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        500,
      );
      if (keys.length > 0) dropped += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return dropped;
}

/** A connection to the Redis at `url`, or undefined when none answers there (the test then skips, saying so). */
export async function connectTestRedis(url: string): Promise<Redis | undefined> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return redis;
  } catch {
    redis.disconnect();
    return undefined;
  }
}
