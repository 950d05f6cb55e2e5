import type { Redis, RedisOptions } from 'ioredis';

/**
 * How long a command waits for Redis's answer before it fails (the blocking reads excepted). A healthy Redis answers
 * in well under a millisecond; a request that needs two answers (the failed-authentication count, which is skipped
 * when it fails, then the request count) is refused within about twice this.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 3000;

/**
 * The options of the connection the Redis stores share. No offline queue: a command while Redis is away fails at
 * once, so a request is refused with the reason instead of hanging until Redis is back. Auto-pipelining: the
 * commands issued in one turn of the event loop (many clients' reads and rate-limit counts at once) go in one
 * write and one reply read, which cuts the gateway's and Redis's CPU per request by about a third under load
 * (docs/benchmarks.md). A command timeout: a Redis that hangs (stopped, swapping, a network that drops packets
 * without a reset) fails a command after {@link REDIS_COMMAND_TIMEOUT_MS}, as one that is down fails it at once,
 * instead of holding every request that needs it for ever. The connections that block (a stream reader's XREAD
 * BLOCK, a question's BLPOP, a subscriber) are their own ({@link blockingConnection}).
 */
export const STORE_CONNECTION: RedisOptions = {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  enableAutoPipelining: true,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
};

/**
 * A connection of its own for commands that block for a while by design (XREAD BLOCK, BLPOP, a subscription):
 * it waits for Redis to come back, sends its command alone, and has no command timeout.
 */
export function blockingConnection(redis: Redis): Redis {
  return redis.duplicate({
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    commandTimeout: undefined,
  });
}
