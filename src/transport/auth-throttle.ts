import { ipKeyGenerator, MemoryStore, type Options, type Store } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import { RedisRateStore } from './redis-rate-store.js';

/** Who is calling, as far as throttling goes: the client's address (Express's `req.ip`, or a gRPC peer's). */
export interface ClientAddress {
  readonly ip?: string | undefined;
}

export interface AuthThrottleOptions {
  /** Failed authentications one client address may make in a window; 0 turns the throttle off. */
  limit: number;
  windowSec: number;
  /** With Redis the counts are shared by every gateway process on it. */
  redis?: Redis;
  redisPrefix: string;
}

/** Addresses past which the recent failures are pruned of those older than a window. */
const RECENT_FAILURES_KEPT = 10_000;

/**
 * Counts failed authentications per client address (the address Express derives, so `TRUST_PROXY` applies; IPv6
 * by /56 subnet) in the rate-limit store, and refuses an address that reached the limit until its window ends.
 * A refused address is refused whatever it presents, a right key included: answering a right guess differently
 * would leave the guessing open. A store that fails (Redis down) lets requests through rather than locking
 * every caller out.
 */
export class AuthThrottle {
  private readonly store: Store;
  /** When this process last recorded a failed authentication (0: never). */
  private lastFailureAt = 0;
  /** When each address last failed here, kept a window: what {@link mayBeThrottled} answers from. */
  private readonly recentFailures = new Map<string, number>();

  constructor(
    private readonly opts: AuthThrottleOptions,
    private readonly logger: Logger,
  ) {
    const redis = opts.redis;
    this.store = redis ? new RedisRateStore(redis, `${opts.redisPrefix}authfail:`) : new MemoryStore();
    void Promise.resolve(this.store.init?.({ windowMs: opts.windowSec * 1000 } as Options)).catch(
      (err: unknown) => logger.warn({ err }, 'the auth failure store could not start'),
    );
  }

  get enabled(): boolean {
    return this.opts.limit > 0;
  }

  /** Counts in this process only (no Redis). */
  get local(): boolean {
    return !this.opts.redis;
  }

  private keyOf(req: ClientAddress): string {
    return ipKeyGenerator(req.ip ?? '');
  }

  /** Seconds until the caller's address may try again, or undefined when it is not throttled. */
  async retryAfter(req: ClientAddress): Promise<number | undefined> {
    if (!this.enabled || !this.store.get) return undefined;
    try {
      const info = await this.store.get(this.keyOf(req));
      if (!info || info.totalHits < this.opts.limit) return undefined;
      const ms = info.resetTime ? info.resetTime.getTime() - Date.now() : this.opts.windowSec * 1000;
      return ms > 0 ? Math.ceil(ms / 1000) : undefined;
    } catch (err) {
      this.logger.warn({ err }, 'the auth failure store could not be read');
      return undefined;
    }
  }

  /**
   * True when no address can be throttled now, known without reading the store: the throttle is off, or it counts
   * in this process and no authentication failed here within the last window. (With Redis, other nodes count too.)
   */
  nobodyThrottled(now = Date.now()): boolean {
    if (!this.enabled) return true;
    return !this.opts.redis && now - this.lastFailureAt > this.opts.windowSec * 1000;
  }

  /**
   * False when the address cannot be throttled now, known without reading the store (no failure from it within
   * the last window, counted in this process); true when only {@link retryAfter} can tell.
   */
  mayBeThrottled(req: ClientAddress, now = Date.now()): boolean {
    if (this.nobodyThrottled(now)) return false;
    if (this.opts.redis) return true;
    const last = this.recentFailures.get(this.keyOf(req));
    return last !== undefined && now - last <= this.opts.windowSec * 1000;
  }

  /** Records one failed authentication from the caller's address. */
  async failed(req: ClientAddress): Promise<void> {
    if (!this.enabled) return;
    const now = Date.now();
    this.lastFailureAt = now;
    this.recentFailures.set(this.keyOf(req), now);
    if (this.recentFailures.size > RECENT_FAILURES_KEPT) {
      for (const [key, at] of this.recentFailures)
        if (now - at > this.opts.windowSec * 1000) this.recentFailures.delete(key);
    }
    try {
      await this.store.increment(this.keyOf(req));
    } catch (err) {
      this.logger.warn({ err }, 'the auth failure store could not be written');
    }
  }

  /** Stops the memory store's timer. */
  async close(): Promise<void> {
    await this.store.shutdown?.();
  }
}
