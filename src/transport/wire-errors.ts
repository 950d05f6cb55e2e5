/**
 * The gateway's own JSON-RPC error codes, in the range JSON-RPC leaves to servers (-32000 to -32099) and outside
 * the codes A2A reserves (-32001 to -32009). Standard and A2A errors map through the SDK's own table.
 *
 * | code   | HTTP | gRPC                    | when |
 * |--------|------|-------------------------|------|
 * | -32000 | 429  | RESOURCE_EXHAUSTED (8)  | busy: the task queue is full, the key has too many tasks, or the rate limit is reached (`data.reason`) |
 * | -32040 | 401  | UNAUTHENTICATED (16)    | no key, or a wrong one |
 * | -32043 | 403  | PERMISSION_DENIED (7)   | the key may not use this skill |
 * | -32050 | 503  | UNAVAILABLE (14)        | Redis, which the request needs (queue, store, rate-limit counts), does not answer (`data.reason` REDIS_UNAVAILABLE) |
 */
export const WIRE = {
  busy: { code: -32000, http: 429, grpc: 8 },
  unauthenticated: { code: -32040, http: 401, grpc: 16 },
  forbidden: { code: -32043, http: 403, grpc: 7 },
  unavailable: { code: -32050, http: 503, grpc: 14 },
} as const;

/** Seconds a caller refused because Redis is away is told to wait (Retry-After). */
export const REDIS_RETRY_AFTER_SEC = 5;

/** One of the gateway's own refusals, before it is shaped for a binding that has no SDK error class for it. */
export class WireError extends Error {
  constructor(
    readonly kind: keyof typeof WIRE,
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'WireError';
  }
}
