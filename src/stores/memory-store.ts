/* eslint-disable @typescript-eslint/require-await -- the work is synchronous; `async` keeps the TaskStore
   contract's promises and turns every throw into a rejection rather than an exception at the call site. */
import {
  StreamResponse,
  taskStateToJSON,
  type ListTasksRequest,
  type ListTasksResponse,
  type Task,
} from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import { ConversationLocks } from './conversation-locks.js';
import { TaskOwnershipError } from './errors.js';
import { LiveFeed } from './live-feed.js';
import { cloneTask } from './task-copy.js';
import { compareForList, encodePageToken, isAfterCursor, parseListQuery, statusKey } from './listing.js';
import { COMPLETED_STATES, OTHER_TERMINAL_STATES, isTerminal, stateOf, zeroStateCounts } from './states.js';
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

interface Entry {
  tenant: string;
  owner: string;
  statusKey: string;
  /** Store clock (ms) of the last save: the age of a finished task that carries no status timestamp. */
  savedAt: number;
  task: Task;
}

const DEFAULT_SCOPE: StoreScope = { tenant: '', owner: 'anonymous', admin: false };

/**
 * A task store held in this process's memory: for tests and throwaway runs, since every task is gone when the
 * process exits. It follows the same contract as the durable stores, including scoping by (tenant, owner),
 * ordering and keyset paging, and hands out deep copies only.
 */
export class MemoryTaskStore implements EmbeddedStore {
  readonly kind = 'memory' as const;
  private readonly resolveScope: ScopeResolver;
  // One map keyed by task id (ids are global, as in the SQL and Redis stores); Map order is first-save
  // order, which listUnfinished keeps.
  private readonly tasks = new Map<string, Entry>();
  private readonly sessions = new Map<string, ContextSession>();
  private readonly events = new Map<string, TaskEventRecord[]>();
  private readonly feed = new LiveFeed();
  private readonly locks = new ConversationLocks();
  private closed = false;

  constructor(opts: { scope?: ScopeResolver } = {}) {
    this.resolveScope = opts.scope ?? anonymousScope;
  }

  async save(task: Task, context: ServerCallContext): Promise<void> {
    const scope = this.resolveScope(context);
    const existing = this.tasks.get(task.id);
    if (existing && !scope.admin && !inScope(existing, scope)) throw new TaskOwnershipError(task.id);
    this.write(task, existing ?? scope);
  }

  async load(taskId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    const entry = this.tasks.get(taskId);
    return entry && (scope.admin || inScope(entry, scope)) ? cloneTask(entry.task) : undefined;
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const scope = this.resolveScope(context);
    const query = parseListQuery(params);
    const matching = [...this.tasks.values()]
      .filter(
        (e) =>
          (scope.admin || inScope(e, scope)) &&
          (query.contextId === undefined || e.task.contextId === query.contextId) &&
          (query.state === undefined || stateOf(e.task) === query.state) &&
          (query.statusAfter === undefined || e.statusKey > query.statusAfter),
      )
      .sort((a, b) => compareForList(cursorOf(a), cursorOf(b)));
    const { cursor } = query;
    const rest = cursor ? matching.filter((e) => isAfterCursor(cursorOf(e), cursor)) : matching;
    const page = rest.slice(0, query.pageSize);
    const last = page.at(-1);
    return {
      tasks: page.map((e) => {
        // Copy only what is returned: skipping the artifacts keeps large outputs out of the clone.
        if (query.includeArtifacts) return cloneTask(e.task);
        return cloneTask({ ...e.task, artifacts: [] });
      }),
      nextPageToken: last && rest.length > page.length ? encodePageToken(cursorOf(last)) : '',
      pageSize: query.pageSize,
      totalSize: matching.length,
    };
  }

  async get(taskId: string): Promise<Task | undefined> {
    const entry = this.tasks.get(taskId);
    return entry ? cloneTask(entry.task) : undefined;
  }

  async put(task: Task, scope?: StoreScope): Promise<void> {
    this.write(task, this.tasks.get(task.id) ?? scope ?? DEFAULT_SCOPE);
  }

  async findByMessageId(messageId: string, context: ServerCallContext): Promise<Task | undefined> {
    const scope = this.resolveScope(context);
    for (const entry of this.tasks.values()) {
      if (inScope(entry, scope) && entry.task.history?.[0]?.messageId === messageId)
        return cloneTask(entry.task);
    }
    return undefined;
  }

  async listUnfinished(): Promise<Task[]> {
    return [...this.tasks.values()].filter((e) => !isTerminal(stateOf(e.task))).map((e) => cloneTask(e.task));
  }

  async purgeFinished(cutoffs: RetentionCutoffs): Promise<number> {
    const completedBefore = cutoffs.completedBefore.toISOString();
    const otherBefore = cutoffs.otherTerminalBefore.toISOString();
    let removed = 0;
    for (const [id, entry] of this.tasks) {
      const state = stateOf(entry.task);
      const cutoff = COMPLETED_STATES.includes(state)
        ? completedBefore
        : OTHER_TERMINAL_STATES.includes(state)
          ? otherBefore
          : undefined;
      const age = entry.statusKey || new Date(entry.savedAt).toISOString();
      if (cutoff !== undefined && age < cutoff) {
        this.tasks.delete(id);
        this.events.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async countByState(): Promise<Record<string, number>> {
    const counts = zeroStateCounts();
    for (const entry of this.tasks.values()) {
      const name = taskStateToJSON(stateOf(entry.task));
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  async appendTaskEvent(taskId: string, record: TaskEventRecord, limit: number): Promise<void> {
    let log = this.events.get(taskId);
    if (!log) {
      log = [];
      this.events.set(taskId, log);
    }
    const last = log.at(-1);
    if (last && record.seq <= last.seq) throw new Error(`task ${taskId} already has event ${record.seq}`);
    log.push(copyRecord(record));
    let excess = log.length - limit;
    // The newest stays: it is where the task's ids have got to (a client may hold it).
    for (let i = 0; excess > 0 && i < log.length - 1;) {
      if (log[i]?.droppable) {
        log.splice(i, 1);
        excess--;
      } else i++;
    }
    this.feed.publish(taskId, { seq: record.seq, event: record.event });
  }

  async readTaskEvents(taskId: string, afterSeq: number): Promise<TaskEventRecord[]> {
    return (this.events.get(taskId) ?? []).filter((r) => r.seq > afterSeq).map(copyRecord);
  }

  async lastTaskEvent(taskId: string): Promise<TaskEventRecord | undefined> {
    const last = this.events.get(taskId)?.at(-1);
    return last ? copyRecord(last) : undefined;
  }

  async getContextSession(contextId: string): Promise<ContextSession | undefined> {
    const session = this.sessions.get(contextId);
    return session ? structuredClone(session) : undefined;
  }

  async setContextSession(session: ContextSession): Promise<void> {
    this.sessions.set(session.contextId, structuredClone(session));
  }

  async subscribeTaskEvents(taskId: string, signal?: AbortSignal): Promise<LiveEvents> {
    return this.feed.subscribe(taskId, signal);
  }

  lockConversation(conversation: string, signal?: AbortSignal): Promise<ConversationLock> {
    return this.locks.lock(conversation, signal);
  }

  async ping(): Promise<boolean> {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private write(task: Task, owner: { tenant: string; owner: string }): void {
    this.tasks.set(task.id, {
      tenant: owner.tenant,
      owner: owner.owner,
      statusKey: statusKey(task.status?.timestamp),
      savedAt: Date.now(),
      task: cloneTask(task),
    });
  }
}

function inScope(entry: Entry, scope: StoreScope): boolean {
  return entry.tenant === scope.tenant && entry.owner === scope.owner;
}

function cursorOf(entry: Entry): { statusKey: string; id: string } {
  return { statusKey: entry.statusKey, id: entry.task.id };
}

/** A deep copy through the wire form, as the durable stores keep it (raw parts stay Buffers). */
function copyRecord(record: TaskEventRecord): TaskEventRecord {
  return { ...record, event: StreamResponse.fromJSON(StreamResponse.toJSON(record.event)) };
}
