import type { StreamResponse, Task } from '@a2a-js/sdk';
import type { ServerCallContext, TaskStore } from '@a2a-js/sdk/server';

/** Who a stored task belongs to. Tasks are visible only within their (tenant, owner) scope unless `admin`. */
export interface StoreScope {
  tenant: string;
  owner: string;
  admin: boolean;
}

/** Derives the scope of a call. The default treats every caller as one anonymous owner. */
export type ScopeResolver = (context: ServerCallContext) => StoreScope;

export const anonymousScope: ScopeResolver = (context) => ({
  tenant: context.tenant ?? '',
  owner: context.user?.isAuthenticated ? context.user.userName : 'anonymous',
  admin: false,
});

/** The backend session a context is bound to, so a follow-up turn resumes it. */
export interface ContextSession {
  contextId: string;
  backend: string;
  sessionId: string;
  workdir?: string;
  updatedAt: string;
}

export interface RetentionCutoffs {
  /** Remove `completed` tasks whose status timestamp is older than this. */
  completedBefore: Date;
  /** Remove `failed`, `canceled` and `rejected` tasks older than this. */
  otherTerminalBefore: Date;
}

/** One entry of a task's event log: a Task snapshot, status update or artifact update, numbered per task. */
export interface TaskEventRecord {
  /** Per task, from 1, strictly increasing; the SSE event id. */
  seq: number;
  /** Progress that may go when the log is over its bound: a `working` update that changes no state. */
  droppable: boolean;
  event: StreamResponse;
}

/**
 * The gateway's task store: the SDK's scoped `TaskStore` contract (save/load/list) plus what the gateway
 * itself needs without a caller (recovery, retention, health). Every method returns copies; nothing outside
 * a store mutates a stored task. One contract suite (test/helpers/task-store-contract.ts) runs against every
 * implementation.
 */
export interface GatewayTaskStore extends TaskStore {
  readonly kind: 'memory' | 'sqlite' | 'redis';
  /** A task by id whatever its owner, for the gateway's own bookkeeping. */
  get(taskId: string): Promise<Task | undefined>;
  /** Save a task from the gateway itself, keeping its owner (or `owner` when it is new). */
  put(task: Task, scope?: StoreScope): Promise<void>;
  /**
   * The task the caller's own scope (tenant and owner, admin or not) created with this message, if any: a send
   * retried with the same messageId gets that task rather than a second one.
   */
  findByMessageId(messageId: string, context: ServerCallContext): Promise<Task | undefined>;
  /** Every task not in a terminal state (submitted, working, input-required, auth-required, unspecified). */
  listUnfinished(): Promise<Task[]>;
  /** Remove finished tasks (and their event logs) older than the cutoffs; returns how many were removed. */
  purgeFinished(cutoffs: RetentionCutoffs): Promise<number>;
  /** Number of stored tasks per A2A state name (e.g. `TASK_STATE_WORKING`). */
  countByState(): Promise<Record<string, number>>;
  /**
   * Appends an event to the task's log. `seq` must be above every seq the task has. When the task then has more
   * than `limit` events, its oldest droppable ones are removed until it has `limit` (never a non-droppable one).
   */
  appendTaskEvent(taskId: string, record: TaskEventRecord, limit: number): Promise<void>;
  /** The task's logged events with a seq above `afterSeq`, in seq order. */
  readTaskEvents(taskId: string, afterSeq: number): Promise<TaskEventRecord[]>;
  /** The task's last logged event, if any (where its sequence goes on from). */
  lastTaskEvent(taskId: string): Promise<TaskEventRecord | undefined>;
  getContextSession(contextId: string): Promise<ContextSession | undefined>;
  setContextSession(session: ContextSession): Promise<void>;
  /** Cheap liveness check for /health and /ready. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
