/**
 * Redis, which this request needs (the shared queue, store or rate-limit counts), does not answer. Raised at once
 * rather than waiting for a reconnect, so a caller is told within a moment and can try again; the edge maps it to
 * HTTP 503 and a JSON-RPC error naming Redis.
 */
export class RedisUnavailableError extends Error {
  readonly code = 'redis_unavailable';
  constructor(detail: string) {
    super(`Redis is unavailable (${detail}); the gateway cannot take this request now, retry shortly`);
    this.name = 'RedisUnavailableError';
  }
}

/** The part of an ioredis client that says whether it is connected. */
export interface RedisStatus {
  readonly status: string;
}

/** Throws {@link RedisUnavailableError} unless the client is connected and ready for commands. */
export function assertRedisReady(client: RedisStatus): void {
  if (client.status !== 'ready') throw new RedisUnavailableError(`connection ${client.status}`);
}
