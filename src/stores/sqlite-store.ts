/* eslint-disable @typescript-eslint/require-await -- the work is synchronous; `async` keeps the TaskStore
   contract's promises and turns every throw into a rejection rather than an exception at the call site. */
import {
  StreamResponse,
  Task,
  taskStateToJSON,
  type ListTasksRequest,
  type ListTasksResponse,
} from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import Database from 'better-sqlite3';
import { ConversationLocks } from './conversation-locks.js';
import { TaskOwnershipError, TaskUnreadableError } from './errors.js';
import { encodePageToken, parseListQuery, statusKey } from './listing.js';
import { LiveFeed } from './live-feed.js';
import { openGatewayDatabase, type GatewayDatabaseOptions } from './sqlite-database.js';
import {
  COMPLETED_STATES,
  OTHER_TERMINAL_STATES,
  TERMINAL_STATES,
  stateOf,
  zeroStateCounts,
} from './states.js';
import { TextCache } from './text-cache.js';
import {
  anonymousScope,
  type ContextSession,
  type ConversationLock,
  type EmbeddedStore,
  type LiveEvents,
  type RetentionCutoffs,
  type ScopeResolver,
  type StoreScope,
  type TaskEventRecord,
} from './types.js';

/**
 * Options of {@link SqliteTaskStore}: the file to open (its directory is created when missing; `:memory:` gives a
 * private, non-durable store), or a connection opened by {@link openGatewayDatabase} and shared with the other
 * SQLite stores, which the store then does not close.
 */
export type SqliteTaskStoreOptions = (GatewayDatabaseOptions | { db: Database.Database }) & {
  scope?: ScopeResolver;
};

interface TaskRow {
  id: string;
  json: string;
}

interface EventRow {
  seq: number;
  droppable: number;
  json: string;
}

interface SessionRow {
  contextId: string;
  backend: string;
  sessionId: string;
  workdir: string | null;
  updatedAt: string;
}

type Params = Record<string, string | number | null>;

const DEFAULT_SCOPE: StoreScope = { tenant: '', owner: 'anonymous', admin: false };

/**
 * What {@link SqliteTaskStore.readWireJson} keeps, least recently read first out: up to 2,000 tasks' wire JSON,
 * 32 M characters in all, none over 256 K (a task that large is read from the file each time).
 */
const WIRE_CACHE_LIMITS = { maxEntries: 2000, maxChars: 32 * 1024 * 1024, maxEntryChars: 256 * 1024 };

interface WireRow {
  tenant: string;
  owner: string;
  json: string;
}

/**
 * What one connection keeps of the tasks table between writes, shared by every task store on it (a write through
 * one store must drop what another one kept; `PRAGMA data_version` only tells about other connections' commits):
 * recently read tasks' wire JSON, and the totals of recent list queries.
 */
interface WireCache {
  rows: TextCache<WireRow>;
  /** `totalSize` of list queries by their SQL and arguments: counting a key's 100,000 tasks takes ~10 ms. */
  counts: Map<string, number>;
  dataVersion: number | undefined;
  /** `PRAGMA data_version`, prepared once with `pluck` set (toggling it per read costs as much as the read). */
  readonly dataVersionOf: Database.Statement;
}

/** How many list totals are kept (each is one number; a full cache is emptied). */
const COUNT_CACHE_ENTRIES = 1000;
const wireCaches = new WeakMap<Database.Database, WireCache>();

function wireCacheOf(db: Database.Database): WireCache {
  let cache = wireCaches.get(db);
  if (!cache) {
    cache = {
      rows: new TextCache<WireRow>(WIRE_CACHE_LIMITS, (row) => row.json.length),
      counts: new Map(),
      dataVersion: undefined,
      dataVersionOf: db.prepare('PRAGMA data_version').pluck(),
    };
    wireCaches.set(db, cache);
  }
  return cache;
}

const INSERT_TASK = `
  INSERT INTO tasks (id, tenant, owner, context_id, state, status_ts, created_at, updated_at, json, message_id)
  VALUES (@id, @tenant, @owner, @contextId, @state, @statusTs, @now, @now, @json, @messageId)
  ON CONFLICT (id) DO UPDATE SET
    context_id = excluded.context_id, state = excluded.state, status_ts = excluded.status_ts,
    updated_at = excluded.updated_at, json = excluded.json`;
// The owner columns are never in the update: an existing task keeps its owner whoever saves it.
const UPSERT_KEEP_OWNER = INSERT_TASK;
// The WHERE turns a save over another scope's task into a no-op (0 changes), checked atomically.
const UPSERT_SAME_OWNER = `${INSERT_TASK} WHERE tasks.tenant = excluded.tenant AND tasks.owner = excluded.owner`;

// Integers from our own enum, so inlining them is safe and keeps the statements static.
const COMPLETED_SQL = COMPLETED_STATES.join(', ');
const OTHER_TERMINAL_SQL = OTHER_TERMINAL_STATES.join(', ');
/**
 * Tasks in `states` older than the cutoff `@param`. A finished task without a status timestamp ages from its last
 * save rather than counting as infinitely old. Written as two terms a `(state, status_ts)` index can answer as
 * ranges (`status_ts > ''` is `<> ''` for text), so retention does not read every finished task's row.
 */
const OLDER_THAN = (states: string, param: string): string =>
  `(state IN (${states}) AND status_ts > '' AND status_ts < @${param})
   OR (state IN (${states}) AND status_ts = '' AND updated_at < @${param})`;

/**
 * `state NOT IN (terminal states)` as ranges between them (the same rows, integers or not), which the state
 * index answers: recovery at start-up then reads the few unfinished tasks, not all 100,000 finished ones.
 */
const UNFINISHED_SQL = (() => {
  const sorted = [...TERMINAL_STATES].sort((a, b) => a - b);
  const terms = [`state < ${sorted[0]}`];
  for (let i = 1; i < sorted.length; i++) terms.push(`(state > ${sorted[i - 1]} AND state < ${sorted[i]})`);
  terms.push(`state > ${sorted.at(-1)}`);
  return terms.join(' OR ');
})();

/**
 * The embedded durable task store: one SQLite file in WAL mode, tasks kept as A2A wire JSON next to the
 * columns that list, recovery and retention query. A save is committed before its promise resolves; with the
 * default `synchronous = NORMAL` it survives a crash or SIGKILL of the process (only power loss or an OS crash
 * can take the last commits; choose `synchronous: 'full'` for that). Several processes may open the same file.
 *
 * better-sqlite3 is synchronous; the methods are async only to fit the `TaskStore` contract.
 */
export class SqliteTaskStore implements EmbeddedStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  /** Whether close() closes the connection (it opened it itself). */
  private readonly ownsDb: boolean;
  private closed = false;
  private readonly resolveScope: ScopeResolver;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly feed = new LiveFeed();
  private readonly locks = new ConversationLocks();
  /**
   * The stored JSON of recently read tasks, so a task polled again and again is not read and copied out of SQLite
   * each time. Kept exact: this store drops a task's entry when it writes the task, and the whole cache when
   * another connection (another process on the same file) has committed since (`PRAGMA data_version`).
   */
  private readonly wireCache: WireCache;

  constructor(opts: SqliteTaskStoreOptions) {
    this.resolveScope = opts.scope ?? anonymousScope;
    this.ownsDb = !('db' in opts);
    this.db = 'db' in opts ? opts.db : openGatewayDatabase(opts);
    this.wireCache = wireCacheOf(this.db);
  }

  private get wire(): TextCache<WireRow> {
    return this.wireCache.rows;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = this.resolveScope(context);
    this.forget(task.id);
    const result = this.statement(scope.admin ? UPSERT_KEEP_OWNER : UPSERT_SAME_OWNER).run(
      toRow(task, scope),
    );
    if (result.changes === 0) throw new TaskOwnershipError(task.id);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const row = scope.admin
      ? this.statement('SELECT id, json FROM tasks WHERE id = ?').get(taskId)
      : this.statement('SELECT id, json FROM tasks WHERE id = ? AND tenant = ? AND owner = ?').get(
          taskId,
          scope.tenant,
          scope.owner,
        );
    return row ? fromRow(row as TaskRow) : undefined;
  }

  async loadWireJson(taskId: string, context: ServerCallContext): Promise<string | undefined> {
    return this.readWireJson(taskId, this.resolveScope(context));
  }

  /**
   * {@link loadWireJson} for a scope already known, without a promise: better-sqlite3 is synchronous, and the
   * front door (src/transport/front-door.ts) answers a plain GetTask in one turn of the event loop.
   */
  readWireJson(taskId: string, scope: StoreScope): string | undefined {
    this.dropForeignWrites();
    let row = this.wire.get(taskId);
    if (!row) {
      row = this.statement('SELECT tenant, owner, json FROM tasks WHERE id = ?').get(taskId) as
        WireRow | undefined;
      if (!row) return undefined;
      this.wire.set(taskId, row);
    }
    // The same rule as the SQL of load(): another scope's task is not found.
    if (!scope.admin && (row.tenant !== scope.tenant || row.owner !== scope.owner)) return undefined;
    return row.json;
  }

  /** Forgets what was kept when another connection has written the file since the last look. */
  private dropForeignWrites(): void {
    this.assertOpen();
    const version = this.wireCache.dataVersionOf.get() as number;
    if (version !== this.wireCache.dataVersion) {
      this.forget();
      this.wireCache.dataVersion = version;
    }
  }

  /** Before a write: drops the task's kept JSON (every task's, without an id) and every list total. */
  private forget(taskId?: string): void {
    if (taskId === undefined) this.wire.clear();
    else this.wire.delete(taskId);
    this.wireCache.counts.clear();
  }

  /** The total of a list query, counted once until the next write. */
  private countOf(sql: string, args: Params): number {
    this.dropForeignWrites();
    const key = `${sql}\u0000${JSON.stringify(args)}`;
    const counts = this.wireCache.counts;
    const kept = counts.get(key);
    if (kept !== undefined) return kept;
    const { n } = this.statement(sql).get(args) as { n: number };
    if (counts.size >= COUNT_CACHE_ENTRIES) counts.clear();
    counts.set(key, n);
    return n;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = this.resolveScope(context);
    const query = parseListQuery(params);
    const where: string[] = [];
    const args: Params = {};
    if (!scope.admin) {
      where.push('tenant = @tenant', 'owner = @owner');
      Object.assign(args, { tenant: scope.tenant, owner: scope.owner });
    }
    if (query.contextId !== undefined) {
      where.push('context_id = @contextId');
      args.contextId = query.contextId;
    }
    if (query.state !== undefined) {
      where.push('state = @state');
      args.state = query.state;
    }
    if (query.statusAfter !== undefined) {
      where.push('status_ts > @statusAfter');
      args.statusAfter = query.statusAfter;
    }
    const pageWhere = [...where];
    const pageArgs: Params = { ...args, limit: query.pageSize + 1 };
    if (query.cursor) {
      pageWhere.push('(status_ts, id) < (@cursorTs, @cursorId)');
      Object.assign(pageArgs, { cursorTs: query.cursor.statusKey, cursorId: query.cursor.id });
    }
    // Dropping artifacts in SQL keeps large outputs from being decoded only to be thrown away.
    const json = query.includeArtifacts ? 'json' : `json_remove(json, '$.artifacts') AS json`;
    const countSql = `SELECT COUNT(*) AS n FROM tasks ${whereClause(where)}`;
    const pageSql = `SELECT id, status_ts AS statusTs, ${json} FROM tasks ${whereClause(pageWhere)}
      ORDER BY status_ts DESC, id DESC LIMIT @limit`;
    // One read transaction, so the total and the page come from the same snapshot (a kept total is one no write
    // has changed since).
    const { total, rows } = this.db.transaction(() => ({
      total: this.countOf(countSql, args),
      rows: this.statement(pageSql).all(pageArgs) as (TaskRow & { statusTs: string })[],
    }))();
    const page = rows.slice(0, query.pageSize);
    const last = page.at(-1);
    return {
      tasks: page.map(fromRow),
      nextPageToken:
        last && rows.length > page.length ? encodePageToken({ statusKey: last.statusTs, id: last.id }) : '',
      pageSize: query.pageSize,
      totalSize: total,
    };
  }

  async get(taskId: string): Promise<Task | undefined> {
    const row = this.statement('SELECT id, json FROM tasks WHERE id = ?').get(taskId);
    return row ? fromRow(row as TaskRow) : undefined;
  }

  async put(task: Task, scope?: StoreScope): Promise<void> {
    this.forget(task.id);
    this.statement(UPSERT_KEEP_OWNER).run(toRow(task, scope ?? DEFAULT_SCOPE));
  }

  async findByMessageId(messageId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const row = this.statement(
      'SELECT id, json FROM tasks WHERE tenant = ? AND owner = ? AND message_id = ? ORDER BY rowid LIMIT 1',
    ).get(scope.tenant, scope.owner, messageId);
    return row ? fromRow(row as TaskRow) : undefined;
  }

  /** Unfinished tasks in the order they were first saved, so recovery can resume the oldest first. */
  async listUnfinished(): Promise<Task[]> {
    const rows = this.statement(
      `SELECT id, json FROM tasks INDEXED BY tasks_state WHERE ${UNFINISHED_SQL} ORDER BY rowid`,
    ).all() as TaskRow[];
    return rows.map(fromRow);
  }

  async purgeFinished(cutoffs: RetentionCutoffs): Promise<number> {
    const expired = `${OLDER_THAN(COMPLETED_SQL, 'completedBefore')} OR ${OLDER_THAN(OTHER_TERMINAL_SQL, 'otherBefore')}`;
    const args = {
      completedBefore: cutoffs.completedBefore.toISOString(),
      otherBefore: cutoffs.otherTerminalBefore.toISOString(),
    };
    this.forget();
    // One transaction, so a task never loses its events without going itself (or the reverse).
    return this.db.transaction(() => {
      this.statement(`DELETE FROM task_events WHERE task_id IN (SELECT id FROM tasks WHERE ${expired})`).run(
        args,
      );
      return this.statement(`DELETE FROM tasks WHERE ${expired}`).run(args).changes;
    })();
  }

  async appendTaskEvent(taskId: string, record: TaskEventRecord, limit: number): Promise<void> {
    const insert = (): void => {
      this.statement('INSERT INTO task_events (task_id, seq, droppable, json) VALUES (?, ?, ?, ?)').run(
        taskId,
        record.seq,
        record.droppable ? 1 : 0,
        JSON.stringify(StreamResponse.toJSON(record.event)),
      );
    };
    // Seqs start at 1, so a log cannot be over its bound before its seq is: most tasks never need the count.
    if (record.seq <= limit) insert();
    else this.trimmedInsert(taskId, record.seq, insert, limit);
    this.feed.publish(taskId, { seq: record.seq, event: record.event });
  }

  /** Inserts, then drops the oldest droppable events over `limit` (not the one inserted), in one transaction. */
  private trimmedInsert(taskId: string, seq: number, insert: () => void, limit: number): void {
    this.db.transaction(() => {
      insert();
      const { n } = this.statement('SELECT COUNT(*) AS n FROM task_events WHERE task_id = ?').get(taskId) as {
        n: number;
      };
      if (n <= limit) return;
      this.statement(
        `DELETE FROM task_events WHERE task_id = @taskId AND seq IN (
           SELECT seq FROM task_events WHERE task_id = @taskId AND droppable = 1 AND seq < @seq
           ORDER BY seq LIMIT @excess)`,
      ).run({ taskId, seq, excess: n - limit });
    })();
  }

  async readTaskEvents(taskId: string, afterSeq: number): Promise<TaskEventRecord[]> {
    const rows = this.statement(
      'SELECT seq, droppable, json FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq',
    ).all(taskId, afterSeq) as EventRow[];
    return rows.map((row) => eventFromRow(taskId, row));
  }

  async lastTaskEvent(taskId: string): Promise<TaskEventRecord | undefined> {
    const row = this.statement(
      'SELECT seq, droppable, json FROM task_events WHERE task_id = ? ORDER BY seq DESC LIMIT 1',
    ).get(taskId) as EventRow | undefined;
    return row ? eventFromRow(taskId, row) : undefined;
  }

  /** Every known state is present, at 0 when no task is in it. */
  async countByState(): Promise<Record<string, number>> {
    const rows = this.statement('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state').all() as {
      state: number;
      n: number;
    }[];
    const counts = zeroStateCounts();
    for (const { state, n } of rows) {
      const name = taskStateToJSON(state);
      counts[name] = (counts[name] ?? 0) + n;
    }
    return counts;
  }

  async getContextSession(contextId: string): Promise<ContextSession | undefined> {
    const row = this.statement(
      `SELECT context_id AS contextId, backend, session_id AS sessionId, workdir, updated_at AS updatedAt
         FROM context_sessions WHERE context_id = ?`,
    ).get(contextId) as SessionRow | undefined;
    if (!row) return undefined;
    const { workdir, ...session } = row;
    return workdir === null ? session : { ...session, workdir };
  }

  async setContextSession(session: ContextSession): Promise<void> {
    this.statement(
      `INSERT INTO context_sessions (context_id, backend, session_id, workdir, updated_at)
       VALUES (@contextId, @backend, @sessionId, @workdir, @updatedAt)
       ON CONFLICT (context_id) DO UPDATE SET backend = excluded.backend, session_id = excluded.session_id,
         workdir = excluded.workdir, updated_at = excluded.updated_at`,
    ).run({
      contextId: session.contextId,
      backend: session.backend,
      sessionId: session.sessionId,
      workdir: session.workdir ?? null,
      updatedAt: session.updatedAt,
    });
  }

  async subscribeTaskEvents(taskId: string, signal?: AbortSignal): Promise<LiveEvents> {
    return this.feed.subscribe(taskId, signal);
  }

  lockConversation(conversation: string, signal?: AbortSignal): Promise<ConversationLock> {
    return this.locks.lock(conversation, signal);
  }

  async ping(): Promise<boolean> {
    if (this.closed || !this.db.open) return false;
    try {
      return this.statement('SELECT 1 AS ok').get() !== undefined;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.statements.clear();
    if (this.ownsDb) this.forget();
    if (this.ownsDb && this.db.open) this.db.close();
  }

  /** A shared connection outlives a closed store: the store refuses as its own closed connection would. */
  private assertOpen(): void {
    if (this.closed) throw new TypeError('The database connection is not open');
  }

  private statement(sql: string): Database.Statement {
    this.assertOpen();
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function whereClause(conditions: readonly string[]): string {
  return conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
}

function toRow(task: Task, scope: { tenant: string; owner: string }): Params {
  return {
    id: task.id,
    tenant: scope.tenant,
    owner: scope.owner,
    contextId: task.contextId,
    state: stateOf(task),
    statusTs: statusKey(task.status?.timestamp),
    now: new Date().toISOString(),
    json: JSON.stringify(Task.toJSON(task)),
    messageId: task.history?.[0]?.messageId ?? null,
  };
}

function fromRow(row: TaskRow): Task {
  try {
    return Task.fromJSON(JSON.parse(row.json));
  } catch (cause) {
    throw new TaskUnreadableError(row.id, { cause });
  }
}

function eventFromRow(taskId: string, row: EventRow): TaskEventRecord {
  try {
    return {
      seq: row.seq,
      droppable: row.droppable === 1,
      event: StreamResponse.fromJSON(JSON.parse(row.json)),
    };
  } catch (cause) {
    throw new TaskUnreadableError(taskId, { cause });
  }
}
