import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ContextSession, ConversationLock, ConversationStore } from './conversation-store.js';
import { blockingConnection } from './redis-connection.js';

export interface RedisConversationStoreOptions {
  /** Prefix of every key (REDIS_KEY_PREFIX). */
  prefix: string;
  /** How long a conversation's binding is kept after its last turn (0: for good). */
  sessionTtlMs: number;
  /**
   * A turn (waiting or holding) that stops renewing its place for this long (its process died) loses it, so a
   * crashed node never holds a conversation for good.
   */
  leaseMs?: number;
}

/**
 * Whether `token` is first in the conversation's line, after dropping the places in front of it whose lease has
 * lapsed (their holder is gone). KEYS[1] the line (a sorted set by ticket); ARGV[1] token, ARGV[2] lease key
 * prefix.
 */
const HEAD = `
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if not head then return 0 end
  if head == ARGV[1] then return 1 end
  if redis.call('EXISTS', ARGV[2] .. head) == 1 then return 0 end
  redis.call('ZREM', KEYS[1], head)
end
`;

type WithHead = Redis & {
  a2aConversationHead(key: string, token: string, leasePrefix: string): Promise<number>;
};

/**
 * The conversations port on Redis: each conversation's session binding as JSON under the key prefix, and its
 * lock as a line of turns shared by every node (a sorted set ordered by a ticket from INCR), first come first
 * served. The first in line holds the lock; a release (or an abandoned wait) leaves the line and says so on a
 * pub/sub channel, which wakes the waiting turns on every node. Each turn keeps a lease on its place while it
 * waits or holds; a lapsed lease (a node that died) is dropped from the line, so the next turn goes on within
 * `leaseMs`.
 */
export class RedisConversationStore implements ConversationStore {
  private subscriber: Redis | undefined;
  private subscribed: Promise<void> | undefined;
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly leaseMs: number;

  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: RedisConversationStoreOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? 30_000;
    deps.redis.defineCommand('a2aConversationHead', { numberOfKeys: 1, lua: HEAD });
  }

  private sessionKey(conversation: string): string {
    return `${this.opts.prefix}conv:${conversation}`;
  }

  private lockKey(conversation: string): string {
    return `${this.opts.prefix}convlock:${conversation}`;
  }

  async getContextSession(conversation: string): Promise<ContextSession | undefined> {
    const json = await this.deps.redis.get(this.sessionKey(conversation));
    return json === null ? undefined : (JSON.parse(json) as ContextSession);
  }

  async setContextSession(session: ContextSession): Promise<void> {
    const key = this.sessionKey(session.contextId);
    const json = JSON.stringify(session);
    if (this.opts.sessionTtlMs > 0) await this.deps.redis.set(key, json, 'PX', this.opts.sessionTtlMs);
    else await this.deps.redis.set(key, json);
  }

  /** One subscriber per store for every conversation's release channel, in place before any turn waits. */
  private listen(): Promise<void> {
    this.subscribed ??= (async () => {
      const sub = blockingConnection(this.deps.redis);
      sub.on('error', () => undefined);
      this.subscriber = sub;
      sub.on('pmessage', (_pattern: string, channel: string) => {
        for (const wake of this.wakers.get(channel) ?? []) wake();
      });
      await sub.psubscribe(`${this.opts.prefix}convlock:*`);
    })();
    return this.subscribed;
  }

  async lockConversation(conversation: string, signal?: AbortSignal): Promise<ConversationLock> {
    signal?.throwIfAborted();
    await this.listen();
    const redis = this.deps.redis as WithHead;
    const line = this.lockKey(conversation);
    const channel = line;
    const leasePrefix = `${line}:lease:`;
    const token = randomUUID();
    const leaseKey = leasePrefix + token;
    const ticket = await redis.incr(`${line}:ticket`);
    await redis.multi().set(leaseKey, '1', 'PX', this.leaseMs).zadd(line, ticket, token).exec();
    // The lease is renewed while this turn waits and while it holds the lock.
    const renew = setInterval(
      () => void redis.pexpire(leaseKey, this.leaseMs).catch(() => undefined),
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let left = false;
    const leave = async (): Promise<void> => {
      if (left) return;
      left = true;
      clearInterval(renew);
      await redis.multi().zrem(line, token).del(leaseKey).exec();
      await redis.publish(channel, 'released');
    };

    let wake: (() => void) | undefined;
    const wakers = this.wakers.get(channel) ?? new Set<() => void>();
    this.wakers.set(channel, wakers);
    const waker = (): void => wake?.();
    wakers.add(waker);
    const onAbort = (): void => wake?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal?.aborted) throw signal.reason as Error;
        // Woken by a release anywhere, or after a lease's time at most (a holder that died says nothing).
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        if ((await redis.a2aConversationHead(line, token, leasePrefix)) === 1) break;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          woken,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, this.leaseMs);
          }),
        ]);
        clearTimeout(timer);
      }
    } catch (err) {
      await leave();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      wakers.delete(waker);
      if (wakers.size === 0) this.wakers.delete(channel);
    }
    return { release: leave };
  }

  /** Ends the subscriber (the shared client is the caller's). */
  close(): Promise<void> {
    this.subscriber?.disconnect();
    return Promise.resolve();
  }
}
