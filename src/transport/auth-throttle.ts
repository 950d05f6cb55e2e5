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

/**
 * Counts failed authentications per client address (the address Express derives, so `TRUST_PROXY` applies; IPv6
 * by /56 subnet) in the rate-limit store, and refuses an address that reached the limit until its window ends.
 * A refused address is refused whatever it presents, a right key included: answering a right guess differently
 * would leave the guessing open. A store that fails (Redis down) lets requests through rather than locking
 * every caller out.
 */
export class AuthThrottle {
  private readonly store: Store;

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

  /** Records one failed authentication from the caller's address. */
  async failed(req: ClientAddress): Promise<void> {
    if (!this.enabled) return;
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
