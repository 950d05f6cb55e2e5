import type { ClientRateLimitInfo, IncrementResponse, Options } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import { assertRedisReady } from '../queue/redis-errors.js';

/**
 * The rate-limit store on Redis, made to live through an outage: a command while Redis is away fails at once with
 * a RedisUnavailableError (instead of waiting in ioredis's queue for a reconnect), and the store's scripts, which
 * the library loads once at start, are loaded again at the next use when that load failed (Redis down at start,
 * or a restarted Redis that lost them). Without this, a gateway started while Redis was away kept failing every
 * request after Redis came back.
 */
export class RedisRateStore extends RedisStore {
  constructor(redis: Redis, prefix: string) {
    super({
      prefix,
      sendCommand: (command: string, ...args: string[]) => {
        assertRedisReady(redis);
        return redis.call(command, ...args) as Promise<number | string>;
      },
    });
  }

  /** Starts loading the scripts without waiting on Redis: a load that fails is tried again at the next use. */
  override init(options: Options): Promise<void> {
    this.windowMs = options.windowMs;
    this.incrementScriptSha = quiet(this.loadIncrementScript());
    this.getScriptSha = quiet(this.loadGetScript());
    return Promise.resolve();
  }

  override async increment(key: string): Promise<IncrementResponse> {
    await this.scriptsLoaded();
    return super.increment(key);
  }

  override async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    await this.scriptsLoaded();
    return super.get(key);
  }

  private async scriptsLoaded(): Promise<void> {
    try {
      await this.incrementScriptSha;
    } catch {
      this.incrementScriptSha = quiet(this.loadIncrementScript());
      await this.incrementScriptSha;
    }
    try {
      await this.getScriptSha;
    } catch {
      this.getScriptSha = quiet(this.loadGetScript());
      await this.getScriptSha;
    }
  }
}

/** The same promise, with its rejection marked handled (it is awaited later, or replaced). */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
