import type { Redis } from 'ioredis';

/**
 * Resolves once the connection is ready, or after `waitMs` (the command that follows then fails with the reason).
 * For writes no caller can retry (a run's events): during an outage they wait for Redis instead of being lost.
 */
export async function waitForReady(redis: Redis, waitMs: number): Promise<void> {
  if (redis.status === 'ready' || waitMs <= 0) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    redis.once('ready', done);
  });
}
