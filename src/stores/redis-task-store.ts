import { waitForReady } from './redis-ready.js';
import { Task, taskStateToJSON, type ListTasksRequest, type ListTasksResponse } from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import type { Redis } from 'ioredis';
import { assertRedisReady } from '../queue/redis-errors.js';
import { TaskOwnershipError, TaskUnreadableError } from './errors.js';
import { encodePageToken, parseListQuery, statusKey, type ListQuery } from './listing.js';
import {
  TaskIndexKeys,
  afterStatusBound,
  defineTaskIndexCommands,
  indexMember,
  indexRecord,
  type IndexRecord,
  type TaskIndexCommands,
} from './redis-task-index.js';
import { buildTaskIndexes, type IndexBuild } from './redis-task-index-build.js';
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
   * leave the task `working` for good, so it waits (bounded) and is written once Redis answers. A request's own
   * reads go through {@link RedisTaskStore.forRequests}, which never waits.
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
 * with indexes written by the same Lua script as the task: every task in first-save order (a sorted set), the
 * unfinished ones (recovery), the finished ones by age (retention), the task each message created (retried
 * sends) and the listing indexes (src/stores/redis-task-index.ts), so that a page of ListTasks and its total cost
 * O(log n + page size).
 *
 * Reads wait for Redis (up to `saveWaitMs`) when it is away, as the run's saves do: the SDK's result manager
 * reads the task before each save. A request's reads must not: {@link forRequests} gives the same store whose
 * reads fail at once with a RedisUnavailableError (HTTP 503, JSON-RPC -32050 at the edge).
 */
export class RedisTaskStore implements GatewayTaskStore {
  readonly kind = 'redis' as const;
  private readonly resolveScope: ScopeResolver;
  private readonly redis: Redis & TaskIndexCommands;
  private readonly ix: TaskIndexKeys;
  /** The index build of this process (once; again after a failure), shared with the request view. */
  private readonly build: { running?: Promise<IndexBuild> | undefined };
  private readonly failFast: boolean;

  constructor(
    private readonly deps: { redis: Redis },
    private readonly opts: RedisTaskStoreOptions,
    /** Internal: the request view of {@link forRequests}. */
    view?: { of: RedisTaskStore },
  ) {
    this.failFast = view !== undefined;
    this.build = view?.of.build ?? {};
    this.resolveScope = opts.scope ?? anonymousScope;
    this.redis = defineTaskIndexCommands(deps.redis);
    this.ix = new TaskIndexKeys(opts.prefix);
  }

  /**
   * The same store for a request's reads (GetTask, ListTasks, the direct read path): while Redis is away they
   * fail at once with a RedisUnavailableError instead of waiting for it; saves still wait.
   */
  forRequests(): RedisTaskStore {
    return new RedisTaskStore(this.deps, this.opts, { of: this });
  }

  /** Resolves once the connection is ready, or after `saveWaitMs` (the command then fails with the reason). */
  private connected(): Promise<void> {
    return waitForReady(this.deps.redis, this.opts.saveWaitMs ?? 0);
  }

  /** Before a read: a request's read fails at once while Redis is away, the run's waits for it. */
  private readable(): Promise<void> {
    if (!this.failFast) return this.connected();
    assertRedisReady(this.deps.redis);
    return Promise.resolve();
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
  /** The ids of a scope, as the previous version listed them (no longer written; emptied by retention). */
  private legacyScopeKey(scope: { tenant: string; owner: string }): string {
    return `${this.opts.prefix}tasks:scope:${JSON.stringify([scope.tenant, scope.owner])}`;
  }
  private messageKey(scope: { tenant: string; owner: string }, messageId: string): string {
    return `${this.opts.prefix}tasks:msg:${JSON.stringify([scope.tenant, scope.owner, messageId])}`;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = this.resolveScope(context);
    const existing = await this.loadEntry(task.id, this.connected());
    if (existing && !scope.admin && !inScope(existing.entry, scope)) throw new TaskOwnershipError(task.id);
    await this.write(task, existing?.entry ?? scope);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const loaded = await this.loadEntry(taskId, this.readable());
    return loaded && (scope.admin || inScope(loaded.entry, scope)) ? loaded.task : undefined;
  }

  /** The task as stored, in A2A wire JSON, in the caller's scope: the direct read path answers GetTask from it. */
  async loadWireJson(taskId: string, context: ServerCallContext): Promise<string | undefined> {
    return this.loadWireJsonIn(taskId, this.resolveScope(context));
  }

  /** {@link loadWireJson} for a scope already known (the front door's caller). */
  async loadWireJsonIn(taskId: string, scope: StoreScope): Promise<string | undefined> {
    await this.readable();
    const json = await this.deps.redis.get(this.key(taskId));
    if (json === null) return undefined;
    const { owner, wire } = wireOf(taskId, json);
    return scope.admin || inScope(owner, scope) ? wire : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = this.resolveScope(context);
    const query = parseListQuery(params);
    await this.readable();
    await this.indexesReady();
    const base = this.ix.base(scope.admin ? 'all' : scope);
    const { total, page, more } =
      query.contextId !== undefined && query.state !== undefined
        ? await this.pageOfContextInState(base, query.contextId, query)
        : await this.pageOf(
            query.contextId !== undefined
              ? this.ix.byContext(base, query.contextId)
              : query.state !== undefined
                ? this.ix.byState(base, query.state)
                : base,
            query,
          );
    const last = page.at(-1);
    return {
      tasks: page.map(({ task }) => (query.includeArtifacts ? task : { ...task, artifacts: [] })),
      nextPageToken:
        last && more ? encodePageToken({ statusKey: last.entry.statusKey, id: last.task.id }) : '',
      pageSize: query.pageSize,
      totalSize: total,
    };
  }

  /** One page of one index and the index's total (within statusTimestampAfter): one script, one round trip. */
  private async pageOf(
    index: string,
    query: ListQuery,
  ): Promise<{ total: number; page: Loaded[]; more: boolean }> {
    const reply = await this.redis.a2aListPage(
      index,
      query.cursor ? `(${indexMember(query.cursor.statusKey, query.cursor.id)}` : '+',
      query.statusAfter !== undefined ? afterStatusBound(query.statusAfter) : '-',
      query.pageSize + 1,
      this.key(''),
    );
    const page: Loaded[] = [];
    let listed = 0;
    for (let i = 1; i + 1 < reply.length; i += 2) {
      listed++;
      const json = reply[i + 1];
      if (listed <= query.pageSize && typeof json === 'string') page.push(decode(String(reply[i]), json));
    }
    return { total: Number(reply[0]), page, more: listed > query.pageSize };
  }

  /**
   * Filtered by context and state together: the context's index (a conversation's tasks, a handful) read whole
   * and its members' states looked up in the index records; the cost is the context's size, not the store's.
   */
  private async pageOfContextInState(
    base: string,
    contextId: string,
    query: ListQuery,
  ): Promise<{ total: number; page: Loaded[]; more: boolean }> {
    const members = await this.deps.redis.zrange(
      this.ix.byContext(base, contextId),
      '+',
      query.statusAfter !== undefined ? afterStatusBound(query.statusAfter) : '-',
      'BYLEX',
      'REV',
    );
    const ids = members.map((m) => m.slice(m.indexOf(' ') + 1));
    const records = ids.length > 0 ? await this.deps.redis.hmget(this.ix.records, ...ids) : [];
    const want = String(query.state);
    const matching = members.filter((_, i) => {
      const record = records[i];
      return record != null && (JSON.parse(record) as IndexRecord)[2] === want;
    });
    const cursor = query.cursor ? indexMember(query.cursor.statusKey, query.cursor.id) : undefined;
    // Members compare as Redis orders them (by bytes): status keys and ids are ASCII in practice.
    const rest =
      cursor === undefined
        ? matching
        : matching.filter((m) => Buffer.compare(Buffer.from(m), Buffer.from(cursor)) < 0);
    const pageIds = rest.slice(0, query.pageSize).map((m) => m.slice(m.indexOf(' ') + 1));
    return { total: matching.length, page: await this.loadMany(pageIds), more: rest.length > query.pageSize };
  }

  async get(taskId: string): Promise<Task | undefined> {
    return (await this.loadEntry(taskId, this.readable()))?.task;
  }

  async put(task: Task, scope?: StoreScope): Promise<void> {
    const existing = await this.loadEntry(task.id, this.connected());
    await this.write(task, existing?.entry ?? scope ?? DEFAULT_SCOPE);
  }

  async findByMessageId(messageId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    await this.readable();
    const id = await this.deps.redis.get(this.messageKey(scope, messageId));
    if (id === null) return undefined;
    const loaded = await this.loadEntry(id, this.readable());
    return loaded && inScope(loaded.entry, scope) && loaded.task.history?.[0]?.messageId === messageId
      ? loaded.task
      : undefined;
  }

  async listUnfinished(): Promise<Task[]> {
    await this.connected();
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
      const messageId = task.history?.[0]?.messageId;
      await this.redis.a2aDropTask(
        this.key(task.id),
        this.all,
        this.unfinished,
        this.finished,
        this.ix.records,
        messageId ? this.messageKey(entry, messageId) : this.key(task.id),
        this.legacyScopeKey(entry),
        task.id,
        this.ix.root,
      );
      removed++;
    }
    return removed;
  }

  /** One count per state any task was ever in (the size of everyone's index of that state). */
  async countByState(): Promise<Record<string, number>> {
    await this.indexesReady();
    const counts = zeroStateCounts();
    const states = await this.deps.redis.smembers(this.ix.states);
    const all = this.ix.base('all');
    const sizes = await Promise.all(
      states.map((s) => this.deps.redis.zcard(this.ix.byState(all, Number(s)))),
    );
    states.forEach((s, i) => {
      const name = taskStateToJSON(Number(s));
      counts[name] = (counts[name] ?? 0) + (sizes[i] ?? 0);
    });
    return counts;
  }

  /**
   * Indexes the tasks a previous version saved without listing indexes, and forgets the index records of tasks
   * that version removed, when the counts say there are any (every task has one record): run once at start-up
   * (main logs what it did) and awaited by the first listing of this process.
   */
  indexesReady(): Promise<IndexBuild> {
    this.build.running ??= buildTaskIndexes(this.redis, {
      ix: this.ix,
      all: this.all,
      taskKey: (id) => this.key(id),
    }).catch((err: unknown) => {
      this.build.running = undefined;
      throw err;
    });
    return this.build.running;
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

  private async write(task: Task, owner: { tenant: string; owner: string }): Promise<void> {
    const entry: Entry = {
      tenant: owner.tenant,
      owner: owner.owner,
      statusKey: statusKey(task.status?.timestamp),
      savedAt: Date.now(),
      task: Task.toJSON(task),
    };
    const state = stateOf(task);
    const messageId = task.history?.[0]?.messageId;
    await this.connected();
    await this.redis.a2aSaveTask(
      this.key(task.id),
      this.all,
      `${this.all}:seq`,
      this.unfinished,
      this.finished,
      this.ix.records,
      this.ix.states,
      messageId ? this.messageKey(owner, messageId) : this.key(task.id),
      task.id,
      JSON.stringify(entry),
      isTerminal(state) ? '1' : '0',
      entry.statusKey ? Date.parse(entry.statusKey) : entry.savedAt,
      entry.savedAt,
      this.ix.root,
      indexRecord(owner, task.contextId, state, entry.statusKey),
      messageId ? '1' : '0',
    );
  }

  private async loadEntry(id: string, ready: Promise<void>): Promise<Loaded | undefined> {
    await ready;
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

/** How every entry's task field begins: its last field, written after the scope and the list key. */
const TASK_FIELD = ',"task":';

/**
 * The task's wire JSON from an entry's text without parsing the task: the entry is written as
 * `{"tenant":…,"owner":…,"statusKey":…,"savedAt":…,"task":<wire JSON>}`, so the first `,"task":` (a quote inside a
 * string value is always escaped) starts the task, which runs to the entry's closing brace. Only the short head is
 * parsed. Any other text is parsed whole.
 */
function wireOf(id: string, json: string): { owner: { tenant: string; owner: string }; wire: string } {
  const at = json.indexOf(TASK_FIELD);
  if (at > 0 && json.endsWith('}')) {
    try {
      const head = JSON.parse(`${json.slice(0, at)}}`) as Partial<Entry>;
      if (typeof head.tenant === 'string' && typeof head.owner === 'string') {
        return {
          owner: { tenant: head.tenant, owner: head.owner },
          wire: json.slice(at + TASK_FIELD.length, -1),
        };
      }
    } catch {
      // Not the layout this store writes: parsed whole below.
    }
  }
  const entry = parseEntry(id, json);
  return { owner: entry, wire: JSON.stringify(entry.task) };
}

function parseEntry(id: string, json: string): Entry {
  try {
    return JSON.parse(json) as Entry;
  } catch (cause) {
    throw new TaskUnreadableError(id, { cause });
  }
}

function decode(id: string, json: string): Loaded {
  const entry = parseEntry(id, json);
  try {
    return { entry, task: Task.fromJSON(entry.task) };
  } catch (cause) {
    throw new TaskUnreadableError(id, { cause });
  }
}

function inScope(entry: { tenant: string; owner: string }, scope: StoreScope): boolean {
  return entry.tenant === scope.tenant && entry.owner === scope.owner;
}
