/** The part of an ioredis client the probe uses. */
export interface PingableRedis {
  readonly status: string;
  ping(): Promise<string>;
}

export interface RedisHealth {
  ok: boolean;
  /** Round trip of the PING, when it was answered. */
  latencySeconds: number | undefined;
  /** Why it is down, in words. */
  error?: string;
}

/**
 * Whether Redis answers, and how fast: one PING bounded by `timeoutMs`. A client that is not connected (ioredis
 * reconnecting after a drop) is down at once, without queueing a command that would wait for the reconnect.
 */
export class RedisProbe {
  constructor(
    private readonly redis: PingableRedis,
    private readonly timeoutMs = 1000,
  ) {}

  async check(): Promise<RedisHealth> {
    if (this.redis.status !== 'ready') {
      return { ok: false, latencySeconds: undefined, error: `not connected (${this.redis.status})` };
    }
    const started = process.hrtime.bigint();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer to PING within ${this.timeoutMs} ms`)),
          this.timeoutMs,
        );
      });
      await Promise.race([this.redis.ping(), timeout]);
      return { ok: true, latencySeconds: Number(process.hrtime.bigint() - started) / 1e9 };
    } catch (err) {
      return { ok: false, latencySeconds: undefined, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }
}
