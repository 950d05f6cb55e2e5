import { waitForReady } from './redis-ready.js';
import { Task, taskStateToJSON, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { Redis } from 'ioredis';
import { TaskOwnershipError, TaskUnreadableError } from './errors.js';
import { compareForList, encodePageToken, isAfterCursor, parseListQuery, statusKey } from './listing.js';
import { COMPLETED_STATES, OTHER_TERMINAL_STATES, isTerminal, stateOf, zeroStateCounts } from './states.js';
import {
  anonymousScope,
  type GatewayTaskStore,
  type RetentionCutoffs,
  type StoreScope,
} from './task-store.js';
import type { ScopeResolver } from './task-store.js';

export interface RedisTaskStoreOptions {
  /** Prefix of every key (REDIS_KEY_PREFIX). */
  prefix: string;
  scope?: ScopeResolver;
  /**
   * How long a read or save of one task waits for Redis to come back when it is away (0: fails at once). A run's
   * events are saved as they happen, with no caller to retry them: a save that failed during an outage would
   * leave the task `working` for good, so it waits (bounded) and is written once Redis answers. (Requests are
   * refused at the edge while Redis is away, so no caller waits on this.)
   */
  saveWaitMs?: number;
}

/** One stored task: its scope, its list key and first-save place, and the task in A2A wire JSON. */
interface Entry {
  tenant: string;
  owner: string;
  statusKey: string;
  /** Store clock (ms) of the last save: the age of a finished task that carries no status timestamp. */
  savedAt: number;
  task: unknown;
}

interface Loaded {
  entry: Entry;
  task: Task;
}

const DEFAULT_SCOPE: StoreScope = { tenant: '', owner: 'anonymous', admin: false };
const BATCH = 500;

/**
 * The tasks port on Redis, shared by every API and worker node: each task as JSON under `<prefix>task:<id>`,
 * with indexes kept in the same transaction as the task: every task in first-save order (a sorted set), the
 * unfinished ones (recovery), the finished ones by age (retention), the ids of each (tenant, owner) scope
 * (listing) and the task each message created (retried sends). Listing reads the caller's scope and filters,
 * orders and pages as the other stores do (src/stores/listing.ts).
 */
export class RedisTaskStore implements GatewayTaskStore {
  readonly kind = 'redis' as const;
  private readonly resolveScope: ScopeResolver;

  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: RedisTaskStoreOptions,
  ) {
    this.resolveScope = opts.scope ?? anonymousScope;
  }

  /** Resolves once the connection is ready, or after `saveWaitMs` (the command then fails with the reason). */
  private connected(): Promise<void> {
    return waitForReady(this.deps.redis, this.opts.saveWaitMs ?? 0);
  }

  private key(id: string): string {
    return `${this.opts.prefix}task:${id}`;
  }
  private get all(): string {
    return `${this.opts.prefix}tasks`;
  }
  private get unfinished(): string {
    return `${this.opts.prefix}tasks:unfinished`;
  }
  private get finished(): string {
    return `${this.opts.prefix}tasks:finished`;
  }
  private scopeKey(scope: { tenant: string; owner: string }): string {
    return `${this.opts.prefix}tasks:scope:${JSON.stringify([scope.tenant, scope.owner])}`;
  }
  private messageKey(scope: { tenant: string; owner: string }, messageId: string): string {
    return `${this.opts.prefix}tasks:msg:${JSON.stringify([scope.tenant, scope.owner, messageId])}`;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = this.resolveScope(context);
    const existing = await this.loadEntry(task.id);
    if (existing && !scope.admin && !inScope(existing.entry, scope)) throw new TaskOwnershipError(task.id);
    await this.write(task, existing?.entry ?? scope, existing === undefined);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const loaded = await this.loadEntry(taskId);
    return loaded && (scope.admin || inScope(loaded.entry, scope)) ? loaded.task : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = this.resolveScope(context);
    const query = parseListQuery(params);
    const ids = scope.admin
      ? await this.deps.redis.zrange(this.all, '0', '-1')
      : await this.deps.redis.smembers(this.scopeKey(scope));
    const matching = (await this.loadMany(ids))
      .filter(
        ({ entry, task }) =>
          (query.contextId === undefined || task.contextId === query.contextId) &&
          (query.state === undefined || stateOf(task) === query.state) &&
          (query.statusAfter === undefined || entry.statusKey > query.statusAfter),
      )
      .sort((a, b) => compareForList(cursorOf(a), cursorOf(b)));
    const { cursor } = query;
    const rest = cursor ? matching.filter((l) => isAfterCursor(cursorOf(l), cursor)) : matching;
    const page = rest.slice(0, query.pageSize);
    const last = page.at(-1);
    return {
      tasks: page.map(({ task }) => (query.includeArtifacts ? task : { ...task, artifacts: [] })),
      nextPageToken: last && rest.length > page.length ? encodePageToken(cursorOf(last)) : '',
      pageSize: query.pageSize,
      totalSize: matching.length,
    };
  }

  async get(taskId: string): Promise<Task | undefined> {
    return (await this.loadEntry(taskId))?.task;
  }

  async put(task: Task, scope?: StoreScope): Promise<void> {
    const existing = await this.loadEntry(task.id);
    await this.write(task, existing?.entry ?? scope ?? DEFAULT_SCOPE, existing === undefined);
  }

  async findByMessageId(messageId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const id = await this.deps.redis.get(this.messageKey(scope, messageId));
    if (id === null) return undefined;
    const loaded = await this.loadEntry(id);
    return loaded && inScope(loaded.entry, scope) && loaded.task.history?.[0]?.messageId === messageId
      ? loaded.task
      : undefined;
  }

  async listUnfinished(): Promise<Task[]> {
    const ids = await this.deps.redis.zrange(this.unfinished, '0', '-1');
    return (await this.loadMany(ids)).filter(({ task }) => !isTerminal(stateOf(task))).map((l) => l.task);
  }

  async purgeFinished(cutoffs: RetentionCutoffs): Promise<number> {
    const completedBefore = cutoffs.completedBefore.toISOString();
    const otherBefore = cutoffs.otherTerminalBefore.toISOString();
    const latest = Math.max(cutoffs.completedBefore.getTime(), cutoffs.otherTerminalBefore.getTime());
    const ids = await this.deps.redis.zrangebyscore(this.finished, '-inf', `(${latest}`);
    let removed = 0;
    for (const { entry, task } of await this.loadMany(ids)) {
      const state = stateOf(task);
      const cutoff = COMPLETED_STATES.includes(state)
        ? completedBefore
        : OTHER_TERMINAL_STATES.includes(state)
          ? otherBefore
          : undefined;
      const age = entry.statusKey || new Date(entry.savedAt).toISOString();
      if (cutoff === undefined || age >= cutoff) continue;
      const multi = this.deps.redis
        .multi()
        .del(this.key(task.id))
        .zrem(this.all, task.id)
        .zrem(this.unfinished, task.id)
        .zrem(this.finished, task.id)
        .srem(this.scopeKey(entry), task.id);
      const messageId = task.history?.[0]?.messageId;
      if (messageId) multi.del(this.messageKey(entry, messageId));
      await multi.exec();
      removed++;
    }
    return removed;
  }

  async countByState(): Promise<Record<string, number>> {
    const counts = zeroStateCounts();
    for (const { task } of await this.loadMany(await this.deps.redis.zrange(this.all, '0', '-1'))) {
      const name = taskStateToJSON(stateOf(task));
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  /** A PING within a second; a client that lost its connection (reconnecting) is down at once. */
  async ping(): Promise<boolean> {
    const status = this.deps.redis.status;
    if (status === 'reconnecting' || status === 'end' || status === 'close') return false;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(''), 1000);
    });
    try {
      return (await Promise.race([this.deps.redis.ping().catch(() => ''), late])) === 'PONG';
    } finally {
      clearTimeout(timer);
    }
  }

  /** The shared client is the caller's to close. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async write(task: Task, owner: { tenant: string; owner: string }, isNew: boolean): Promise<void> {
    const entry: Entry = {
      tenant: owner.tenant,
      owner: owner.owner,
      statusKey: statusKey(task.status?.timestamp),
      savedAt: Date.now(),
      task: Task.toJSON(task),
    };
    const redis = this.deps.redis;
    const order = isNew ? await redis.incr(`${this.all}:seq`) : undefined;
    const multi = redis.multi().set(this.key(task.id), JSON.stringify(entry));
    if (order !== undefined) multi.zadd(this.all, 'NX', order, task.id).sadd(this.scopeKey(owner), task.id);
    if (isTerminal(stateOf(task))) {
      const ageMs = entry.statusKey ? Date.parse(entry.statusKey) : entry.savedAt;
      multi.zrem(this.unfinished, task.id).zadd(this.finished, ageMs, task.id);
    } else {
      multi.zrem(this.finished, task.id);
      if (order !== undefined) multi.zadd(this.unfinished, 'NX', order, task.id);
      else multi.zadd(this.unfinished, 'NX', (await redis.zscore(this.all, task.id)) ?? Date.now(), task.id);
    }
    const messageId = task.history?.[0]?.messageId;
    if (messageId) multi.set(this.messageKey(owner, messageId), task.id, 'NX');
    await multi.exec();
  }

  private async loadEntry(id: string): Promise<Loaded | undefined> {
    await this.connected();
    const json = await this.deps.redis.get(this.key(id));
    return json === null ? undefined : decode(id, json);
  }

  /** The tasks of these ids that still exist (an index may name one that retention just removed), in order. */
  private async loadMany(ids: string[]): Promise<Loaded[]> {
    const out: Loaded[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const slice = ids.slice(i, i + BATCH);
      const values = await this.deps.redis.mget(...slice.map((id) => this.key(id)));
      values.forEach((json, j) => {
        if (json !== null) out.push(decode(slice[j] ?? '', json));
      });
    }
    return out;
  }
}

function decode(id: string, json: string): Loaded {
  try {
    const entry = JSON.parse(json) as Entry;
    return { entry, task: Task.fromJSON(entry.task) };
  } catch (cause) {
    throw new TaskUnreadableError(id, { cause });
  }
}

function inScope(entry: { tenant: string; owner: string }, scope: StoreScope): boolean {
  return entry.tenant === scope.tenant && entry.owner === scope.owner;
}

function cursorOf({ entry, task }: Loaded): { statusKey: string; id: string } {
  return { statusKey: entry.statusKey, id: task.id };
}
