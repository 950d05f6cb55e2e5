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

/** What one counted request gets: its headers, and whether it is over the limit. */
export interface RateLimitHit {
  /** `RateLimit`: the policy's name, the requests left and the seconds to the window's end. */
  rateLimit: string;
  /** `RateLimit-Policy`, built once per key. */
  policy: string;
  /** Seconds until the key's window ends (`Retry-After` when refused). */
  resetSeconds: number;
  refused: boolean;
}

/**
 * The headers of counted requests, as express-rate-limit writes them with `draft-8`: the policy's name, the
 * requests left, the seconds to the window's end, and each key's `RateLimit-Policy` (built once per key, kept a
 * window).
 */
class RateLimitHeaders {
  private readonly name: string;
  private readonly windowSeconds: number;
  private policies = new Map<string, string>();
  private policiesSince = Date.now();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.name = policyName(limit, windowMs);
    this.windowSeconds = Math.ceil(windowMs / 1000);
  }

  private policyOf(key: string, now: number): string {
    // Keys of callers gone for a window are forgotten with the others.
    if (now - this.policiesSince > this.windowMs) {
      this.policies = new Map();
      this.policiesSince = now;
    }
    let policy = this.policies.get(key);
    if (policy === undefined) {
      policy = `"${this.name}"; q=${this.limit}; w=${this.windowSeconds}; pk=:${partitionKey(key)}:`;
      this.policies.set(key, policy);
    }
    return policy;
  }

  /** What the key's request gets, counted `hits` in a window that ends at `resetAt` (epoch ms). */
  hit(key: string, hits: number, resetAt: number, now: number): RateLimitHit {
    const remaining = Math.max(this.limit - hits, 0);
    const resetSeconds = Math.max(0, Math.ceil((resetAt - now) / 1000));
    return {
      rateLimit: `"${this.name}"; r=${remaining}; t=${resetSeconds}`,
      policy: this.policyOf(key, now),
      resetSeconds,
      refused: hits > this.limit,
    };
  }
}

/**
 * The request limit kept in this process: what `express-rate-limit` with its memory store and `draft-8` headers
 * does (a fixed window per key from its first request, counts forgotten a window after their last one, the same
 * `RateLimit`, `RateLimit-Policy` and `Retry-After` headers), without its per-request cost: several async steps,
 * the policy strings and a SHA-256 of the key built again on every request. The policy of each key is built once.
 * Synchronous, so the front door (front-door.ts) counts its requests in the same windows as the middleware.
 */
export class MemoryRateLimiter {
  private current = new Map<string, Count>();
  private previous = new Map<string, Count>();
  private readonly headers: RateLimitHeaders;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
  ) {
    this.headers = new RateLimitHeaders(limit, windowMs);
    // As the memory store does: every window, counts not touched during the last one are dropped.
    this.timer = setInterval(() => {
      this.previous = this.current;
      this.current = new Map();
    }, windowMs);
    this.timer.unref();
  }

  private countOf(key: string, now: number): Count {
    let count = this.current.get(key);
    if (!count) {
      count = this.previous.get(key) ?? { hits: 0, resetAt: now + this.windowMs };
      this.previous.delete(key);
      this.current.set(key, count);
    }
    if (count.resetAt <= now) {
      count.hits = 0;
      count.resetAt = now + this.windowMs;
    }
    return count;
  }

  /** Whether the key's next request would be refused (nothing is counted). */
  exhausted(key: string, now = Date.now()): boolean {
    const count = this.current.get(key) ?? this.previous.get(key);
    return count !== undefined && count.resetAt > now && count.hits >= this.limit;
  }

  /** Counts one request of the key. */
  take(key: string, now = Date.now()): RateLimitHit {
    const count = this.countOf(key, now);
    count.hits += 1;
    return this.headers.hit(key, count.hits, count.resetAt, now);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** A shared count of requests (express-rate-limit's store interface, as the Redis store has it). */
export interface RateCountStore {
  increment(key: string): Promise<{ totalHits: number; resetTime: Date | undefined }>;
}

/**
 * The request limit counted in a shared store (Redis), with the headers express-rate-limit writes over the same
 * store: the front door counts its requests with it, in the same keys and windows as the app's middleware.
 */
export class StoreRateLimiter {
  private readonly headers: RateLimitHeaders;

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly store: RateCountStore,
  ) {
    this.headers = new RateLimitHeaders(limit, windowMs);
  }

  /** Counts one request of the key; rejects when the store cannot be reached. */
  async take(key: string): Promise<RateLimitHit> {
    const { totalHits, resetTime } = await this.store.increment(key);
    const now = Date.now();
    return this.headers.hit(key, totalHits, resetTime?.getTime() ?? now + this.windowMs, now);
  }
}

/**
 * Requests the front door counted in the shared store before handing them to the app (it reads and counts in one
 * trip to Redis): the app's limit middleware takes this count instead of counting the request again.
 */
export const countedBefore = new WeakMap<object, RateLimitHit>();

/** Sets the headers of a counted request, and refuses it when it is over the limit. */
function applyHit(
  opts: Pick<MemoryRateLimitOptions, 'refuse'>,
  hit: RateLimitHit,
  req: Request,
  res: Response,
  next: () => void,
): void {
  if (!res.headersSent) {
    res.append('RateLimit', hit.rateLimit);
    res.append('RateLimit-Policy', hit.policy);
  }
  if (hit.refused) {
    if (!res.headersSent) res.setHeader('Retry-After', String(hit.resetSeconds));
    opts.refuse(req, res);
    return;
  }
  next();
}

/**
 * The limit counted in a shared store (Redis) as a middleware, with the answers of {@link memoryRateLimit}; a
 * store that fails is the caller's to answer (`onStoreError`).
 */
export function storeRateLimit(
  opts: Omit<MemoryRateLimitOptions, 'limit' | 'windowMs'> & {
    onStoreError: (err: unknown, req: Request, res: Response, next: (err?: unknown) => void) => void;
  },
  limiter: StoreRateLimiter,
): RequestHandler {
  return (req, res, next) => {
    if (opts.skip(req)) {
      next();
      return;
    }
    const counted = countedBefore.get(req);
    if (counted) {
      countedBefore.delete(req);
      applyHit(opts, counted, req, res, next);
      return;
    }
    limiter.take(opts.keyOf(req)).then(
      (hit) => applyHit(opts, hit, req, res, next),
      (err: unknown) => opts.onStoreError(err, req, res, next),
    );
  };
}

/** The limit as a middleware: counts every request not skipped, sets the headers, refuses those over it. */
export function memoryRateLimit(
  opts: MemoryRateLimitOptions,
  limiter = new MemoryRateLimiter(opts.limit, opts.windowMs),
): RequestHandler {
  return (req, res, next) => {
    if (opts.skip(req)) {
      next();
      return;
    }
    applyHit(opts, limiter.take(opts.keyOf(req)), req, res, next);
  };
}
