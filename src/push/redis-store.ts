import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import type { ServerCallContext, StoredPushNotificationConfig } from '@a2a-js/sdk/server';
import type { Redis } from 'ioredis';
import type { PushConfigStore } from '../stores/push-config-store.js';
import { anonymousScope, type ScopeResolver } from '../stores/types.js';
import { configIdOrDefault, toRow, toStored, visible, type PushStoreOptions, type Row } from './store.js';

export interface RedisPushStoreOptions extends PushStoreOptions {
  /** Prefix of every key (REDIS_KEY_PREFIX). */
  prefix: string;
}

/** A stored row with its place among the task's configs (an update keeps it). */
interface Entry extends Row {
  at: number;
}

/**
 * Push configs on Redis, shared by every node (the one that sends the push need not be the one that took the
 * config): one hash per task under the key prefix, a field per (tenant, owner, config id). Scoping, ids and wire
 * versions as in the memory and SQLite stores (src/push/store.ts); the task retention removes a task's hash.
 */
export class RedisPushConfigStore implements PushConfigStore {
  readonly kind = 'redis' as const;
  private readonly resolveScope: ScopeResolver;

  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: RedisPushStoreOptions,
  ) {
    this.resolveScope = opts.scope ?? anonymousScope;
  }

  private key(taskId: string): string {
    return `${this.opts.prefix}push:${taskId}`;
  }

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const row = toRow(taskId, context, this.resolveScope(context), config);
    const field = fieldOf(row);
    const key = this.key(taskId);
    const existing = await this.deps.redis.hget(key, field);
    const at = existing ? (JSON.parse(existing) as Entry).at : await this.deps.redis.incr(`${key}:at`);
    await this.deps.redis.hset(key, field, JSON.stringify({ ...row, at } satisfies Entry));
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((stored) => stored.config);
  }

  async loadWithMetadata(
    taskId: string,
    context: ServerCallContext,
  ): Promise<StoredPushNotificationConfig[]> {
    const scope = this.resolveScope(context);
    return (await this.entries(taskId)).filter((e) => visible(e, scope)).map(toStored);
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    const scope = this.resolveScope(context);
    const id = configIdOrDefault(taskId, configId);
    const gone = (await this.entries(taskId)).filter((e) => e.configId === id && visible(e, scope));
    if (gone.length > 0) await this.deps.redis.hdel(this.key(taskId), ...gone.map(fieldOf));
  }

  async deleteTask(taskId: string): Promise<number> {
    const key = this.key(taskId);
    const [[, n]] = (await this.deps.redis.multi().hlen(key).del(key, `${key}:at`).exec()) as [
      [Error | null, number],
    ];
    return n;
  }

  /** The shared client is the caller's to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async entries(taskId: string): Promise<Entry[]> {
    const all = await this.deps.redis.hvals(this.key(taskId));
    return all.map((json) => JSON.parse(json) as Entry).sort((a, b) => a.at - b.at);
  }
}

function fieldOf(row: Pick<Row, 'tenant' | 'owner' | 'configId'>): string {
  return JSON.stringify([row.tenant, row.owner, row.configId]);
}
