import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';

export interface MemoryRateLimitOptions {
  /** Requests one key may make in a window. */
  limit: number;
  windowMs: number;
  /** Requests that are not counted. */
  skip: (req: Request) => boolean;
  keyOf: (req: Request) => string;
  /** Answers a request over the limit (its `RateLimit` headers and `Retry-After` are set). */
  refuse: (req: Request, res: Response) => void;
}

interface Count {
  hits: number;
  resetAt: number;
}

/** express-rate-limit's name of a one-window policy: `100-in-1min`. */
function policyName(limit: number, windowMs: number): string {
  const seconds = windowMs / 1000;
  const minutes = seconds / 60;
  const hours = minutes / 60;
  const days = hours / 24;
  let duration: string;
  if (seconds < 60) duration = `${seconds}sec`;
  else if (minutes < 60) duration = `${minutes}min`;
  else if (hours < 24) duration = `${hours}hr${hours > 1 ? 's' : ''}`;
  else duration = `${days}day${days > 1 ? 's' : ''}`;
  return `${limit}-in-${duration}`;
}

/** The `pk` of a key in `RateLimit-Policy`, as express-rate-limit writes it. */
function partitionKey(key: string): string {
  return Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
}

/**
 * The request limit kept in this process: what `express-rate-limit` with its memory store and `draft-8` headers
 * does (a fixed window per key from its first request, counts forgotten a window after their last one, the same
 * `RateLimit`, `RateLimit-Policy` and `Retry-After` headers), without its per-request cost: several async steps,
 * the policy strings and a SHA-256 of the key built again on every request. The policy of each key is built once.
 */
export function memoryRateLimit(opts: MemoryRateLimitOptions): RequestHandler {
  const { limit, windowMs } = opts;
  const name = policyName(limit, windowMs);
  const windowSeconds = Math.ceil(windowMs / 1000);
  let current = new Map<string, Count>();
  let previous = new Map<string, Count>();
  const policies = new Map<string, string>();
  // As the memory store does: every window, counts not touched during the last one are dropped.
  const timer = setInterval(() => {
    previous = current;
    current = new Map();
    policies.clear();
  }, windowMs);
  timer.unref();

  const countOf = (key: string, now: number): Count => {
    let count = current.get(key);
    if (!count) {
      count = previous.get(key) ?? { hits: 0, resetAt: now + windowMs };
      previous.delete(key);
      current.set(key, count);
    }
    if (count.resetAt <= now) {
      count.hits = 0;
      count.resetAt = now + windowMs;
    }
    return count;
  };
  const policyOf = (key: string): string => {
    let policy = policies.get(key);
    if (policy === undefined) {
      policy = `"${name}"; q=${limit}; w=${windowSeconds}; pk=:${partitionKey(key)}:`;
      policies.set(key, policy);
    }
    return policy;
  };

  return (req, res, next) => {
    if (opts.skip(req)) {
      next();
      return;
    }
    const key = opts.keyOf(req);
    const count = countOf(key, Date.now());
    count.hits += 1;
    const remaining = Math.max(limit - count.hits, 0);
    const resetSeconds = Math.max(0, Math.ceil((count.resetAt - Date.now()) / 1000));
    if (!res.headersSent) {
      res.append('RateLimit', `"${name}"; r=${remaining}; t=${resetSeconds}`);
      res.append('RateLimit-Policy', policyOf(key));
    }
    if (count.hits > limit) {
      if (!res.headersSent) res.setHeader('Retry-After', String(resetSeconds));
      opts.refuse(req, res);
      return;
    }
    next();
  };
}
