import { TaskState, type StreamResponse, type Task, type TaskStatus } from '@a2a-js/sdk';
import type { AgentExecutionEvent } from '@a2a-js/sdk/server';
import type { Logger } from '../observability/logger.js';
import { isTerminal } from '../stores/states.js';
import type { LiveEvents, LoggedEvent, TaskEventStore } from '../stores/task-event-store.js';

export type { LiveEvents, LoggedEvent } from '../stores/task-event-store.js';

export interface TaskEventLogOptions {
  /** Most events kept per task; past it the oldest progress updates go (state changes and artifacts stay). */
  limit: number;
  /** Most tasks whose log position is kept in memory between their events (default 10 000). */
  maxTracked?: number;
}

/** Where one task's log stands in this process. */
interface Position {
  /** Appends run one after another, so seq order is publish order. */
  chain: Promise<void>;
  pending: number;
  /** The last seq handed out; undefined until read from the store. */
  last: number | undefined;
  /** The status of the last logged event that carries one. */
  status: TaskStatus | undefined;
}

/** The status an event carries (a Task snapshot or a status update); artifacts carry none. */
export function statusOf(event: StreamResponse): TaskStatus | undefined {
  const payload = event.payload;
  if (payload?.$case === 'task') return payload.value.status;
  if (payload?.$case === 'statusUpdate') return payload.value.status;
  return undefined;
}

/** Terminal, or paused for input: where a task's event stream closes. */
export function endsStream(event: StreamResponse): boolean {
  const state = statusOf(event)?.state;
  return state !== undefined && (isTerminal(state) || state === TaskState.TASK_STATE_INPUT_REQUIRED);
}

/** The same status: the same message when both carry one, else the same state at the same time. */
export function sameStatus(a: TaskStatus | undefined, b: TaskStatus | undefined): boolean {
  if (!a || !b) return false;
  if (a.message?.messageId && b.message?.messageId) return a.message.messageId === b.message.messageId;
  return a.state === b.state && a.timestamp === b.timestamp;
}

/** The wire form of a task event (a bare message, which belongs to no task, has none). */
export function toStreamResponse(event: AgentExecutionEvent): StreamResponse | undefined {
  switch (event.kind) {
    case 'task':
      return { payload: { $case: 'task', value: event.data } };
    case 'statusUpdate':
      return { payload: { $case: 'statusUpdate', value: event.data } };
    case 'artifactUpdate':
      return { payload: { $case: 'artifactUpdate', value: event.data } };
    case 'message':
      // A bare message answers a send without a task; there is no task log to put it in.
      return undefined;
    default: {
      const never: never = event;
      return never;
    }
  }
}

/**
 * Every task's events (Task snapshots, status and artifact updates), numbered per task and kept in the task
 * store, so a client that lost its stream can resume after the last event it saw. Events are numbered in the
 * order they are published; each is written before live subscribers hear of it, so "subscribe, then read the
 * log, then drop what was already read" sees every event exactly once.
 *
 * `working` updates that change no state are progress: when a task has more than `limit` events the oldest of
 * them go first. State changes and artifacts are never dropped.
 */
export class TaskEventLog {
  private readonly positions = new Map<string, Position>();
  /** Seq of each event published on a bus, by the event object, for the stream that yields it. */
  private readonly seqs = new WeakMap<object, Promise<number | undefined>>();
  /** Observers of every task's events (the dashboard's live list). */
  private readonly watchers = new Set<(taskId: string, event: LoggedEvent) => void>();
  private readonly maxTracked: number;

  constructor(
    private readonly deps: { store: TaskEventStore; logger: Logger },
    private readonly opts: TaskEventLogOptions,
  ) {
    this.maxTracked = opts.maxTracked ?? 10_000;
  }

  /** Logs an event published on a task's bus. Called synchronously in publish order. */
  record(taskId: string, event: AgentExecutionEvent): void {
    const response = toStreamResponse(event);
    if (!response) return;
    this.seqs.set(
      event,
      this.enqueue(taskId, () => response),
    );
  }

  /** The seq the log gives (or gave) an event passed to {@link record}; undefined for one it does not log. */
  seqOf(event: AgentExecutionEvent): Promise<number | undefined> {
    return this.seqs.get(event) ?? Promise.resolve(undefined);
  }

  /**
   * Logs the status a task reached outside its event bus (marked failed at start-up, canceled while no
   * execution was running) when the log does not end with it already. Only terminal states are logged so.
   */
  reconcile(task: Task): Promise<number | undefined> {
    const status = task.status;
    if (!status || !isTerminal(status.state)) return Promise.resolve(undefined);
    return this.enqueue(task.id, (last) => {
      if (last?.state === status.state) return undefined;
      return {
        payload: {
          $case: 'statusUpdate',
          value: { taskId: task.id, contextId: task.contextId, status, metadata: undefined },
        },
      };
    });
  }

  /** Logged events of a task after `afterSeq`, in order. */
  read(taskId: string, afterSeq: number): Promise<LoggedEvent[]> {
    return this.deps.store
      .readTaskEvents(taskId, afterSeq)
      .then((records) => records.map(({ seq, event }) => ({ seq, event })));
  }

  /**
   * The seq of the task's last stored event (0 when it has none), read from the store: on Redis, the end of the
   * log whichever node wrote it. The newest event is never trimmed, so no client can have seen a higher id.
   */
  async lastSeq(taskId: string): Promise<number> {
    return (await this.deps.store.lastTaskEvent(taskId))?.seq ?? 0;
  }

  /** Resolves once every event published so far, of every task, is written (for shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.positions.values()].map((p) => p.chain));
  }

  /**
   * Calls `listener` with every event of every task once it is logged, until the returned function is called.
   * For observers that follow all tasks (the dashboard's live list); a listener must not throw or block.
   */
  watch(listener: (taskId: string, event: LoggedEvent) => void): () => void {
    this.watchers.add(listener);
    return () => {
      this.watchers.delete(listener);
    };
  }

  /**
   * Events appended once the promise resolves, buffered until read. Subscribe before reading the log and skip seqs already
   * read: nothing falls between the two. `signal` ends the subscription (a client that went away).
   */
  subscribe(taskId: string, signal?: AbortSignal): Promise<LiveEvents> {
    return this.deps.store.subscribeTaskEvents(taskId, signal);
  }

  /**
   * Runs `build` after every earlier append of the task and logs what it returns (nothing when it returns
   * undefined); `build` sees the status the log ends with. Resolves with the seq, or undefined when nothing was
   * logged or the write failed (the failure is logged: a stream goes on without an id rather than breaking).
   */
  private enqueue(
    taskId: string,
    build: (lastStatus: TaskStatus | undefined) => StreamResponse | undefined,
  ): Promise<number | undefined> {
    const position = this.position(taskId);
    position.pending += 1;
    const appended = position.chain
      .then(async () => {
        if (position.last === undefined) await this.load(taskId, position);
        const event = build(position.status);
        if (!event) return undefined;
        const seq = (position.last ?? 0) + 1;
        position.last = seq;
        const status = statusOf(event);
        // A `working` update after a `working` one only tells progress: the first to go when over the bound.
        const droppable =
          status?.state === TaskState.TASK_STATE_WORKING &&
          position.status?.state === TaskState.TASK_STATE_WORKING &&
          status.message?.metadata?.event !== 'needs_input';
        if (status) position.status = status;
        // The store hands it to the task's live subscribers once it is stored.
        await this.deps.store.appendTaskEvent(taskId, { seq, droppable, event }, this.opts.limit);
        for (const watcher of this.watchers) watcher(taskId, { seq, event });
        return seq;
      })
      .catch((err: unknown) => {
        this.deps.logger.error({ err, taskId }, 'could not log a task event');
        return undefined;
      })
      .finally(() => {
        position.pending -= 1;
        this.forget(taskId, position);
      });
    position.chain = appended.then(() => undefined);
    return appended;
  }

  /** Where the task's log stands in the store: its last seq and the last status it logged. */
  private async load(taskId: string, position: Position): Promise<void> {
    const last = await this.deps.store.lastTaskEvent(taskId);
    position.last = last?.seq ?? 0;
    position.status = last ? statusOf(last.event) : undefined;
    if (last && !position.status) {
      const all = await this.deps.store.readTaskEvents(taskId, 0);
      position.status = all.map((r) => statusOf(r.event)).findLast((s) => s !== undefined);
    }
  }

  private position(taskId: string): Position {
    let position = this.positions.get(taskId);
    if (!position) {
      position = {
        chain: Promise.resolve(),
        pending: 0,
        last: undefined,
        status: undefined,
      };
      this.positions.set(taskId, position);
      if (this.positions.size > this.maxTracked) this.evictIdle();
    }
    return position;
  }

  /** A finished task's position is dropped once nothing waits on it; the store still has its events. */
  private forget(taskId: string, position: Position): void {
    const done = position.status !== undefined && isTerminal(position.status.state);
    if (done && position.pending === 0 && this.positions.get(taskId) === position)
      this.positions.delete(taskId);
  }

  /** Positions of paused tasks are read back from the store when needed again, so idle ones can go. */
  private evictIdle(): void {
    for (const [taskId, position] of this.positions) {
      if (this.positions.size <= this.maxTracked / 2) return;
      if (position.pending === 0) this.positions.delete(taskId);
    }
  }
}
