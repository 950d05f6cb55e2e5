/**
 * The gateway's own JSON-RPC error codes, in the range JSON-RPC leaves to servers (-32000 to -32099) and outside
 * the codes A2A reserves (-32001 to -32009). Standard and A2A errors map through the SDK's own table.
 *
 * | code   | HTTP | when |
 * |--------|------|------|
 * | -32000 | 429  | busy: the task queue is full, the key has too many tasks, or the rate limit is reached (`data.reason`) |
 * | -32040 | 401  | no key, or a wrong one |
 * | -32043 | 403  | the key may not use this skill |
 */
export const WIRE = {
  busy: { code: -32000, http: 429 },
  unauthenticated: { code: -32040, http: 401 },
  forbidden: { code: -32043, http: 403 },
} as const;
