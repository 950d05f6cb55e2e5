import type { Task } from '@a2a-js/sdk';
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

export interface RetentionCutoffs {
  /** Remove `completed` tasks whose status timestamp is older than this. */
  completedBefore: Date;
  /** Remove `failed`, `canceled` and `rejected` tasks older than this. */
  otherTerminalBefore: Date;
}

/**
 * The tasks port: the SDK's scoped `TaskStore` contract (save/load/list with filters and keyset paging) plus
 * what the gateway itself needs without a caller (recovery, retention, health). Every method returns copies;
 * nothing outside a store mutates a stored task. Contract suite: `taskStoreContract` in
 * test/contracts/task-store.ts.
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
  /**
   * Remove finished tasks older than the cutoffs; returns how many were removed. A store that also keeps the
   * task event streams removes those of the tasks it removes in the same step; a separate event store expires
   * its streams by itself.
   */
  purgeFinished(cutoffs: RetentionCutoffs): Promise<number>;
  /** Number of stored tasks per A2A state name (e.g. `TASK_STATE_WORKING`). */
  countByState(): Promise<Record<string, number>>;
  /**
   * The task as it is stored, A2A 1.0 wire JSON text, in the caller's scope (as `load`), without decoding it: the
   * direct read path answers GetTask from it. Optional: a store without it is read through the SDK's path.
   */
  loadWireJson?(taskId: string, context: ServerCallContext): Promise<string | undefined>;
  /** {@link loadWireJson} for a known scope, synchronous: only a store that reads without waiting has it. */
  readWireJson?(taskId: string, scope: StoreScope): string | undefined;
  /** {@link loadWireJson} for a known scope, for a store that must wait (Redis): the front door reads with it. */
  loadWireJsonIn?(taskId: string, scope: StoreScope): Promise<string | undefined>;
  /** Cheap liveness check for /health and /ready. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
