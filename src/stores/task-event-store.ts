import type { StreamResponse } from '@a2a-js/sdk';

/** An event of a task with its place in the task's stream (the SSE event id). */
export interface LoggedEvent {
  seq: number;
  event: StreamResponse;
}

/** One entry of a task's event stream: a Task snapshot, status update or artifact update, numbered per task. */
export interface TaskEventRecord extends LoggedEvent {
  /** Per task, from 1, strictly increasing; the SSE event id. */
  seq: number;
  /** Progress that may go when the stream is over its bound: a `working` update that changes no state. */
  droppable: boolean;
}

/** A live subscription: events appended after it began, in seq order, until `close` (or its signal aborts). */
export interface LiveEvents extends AsyncIterable<LoggedEvent> {
  close(): void;
}

/**
 * The task event stream port: each task's events, numbered, kept for replay (a client that lost its stream
 * resumes after the last seq it saw) and followed live. The seq is chosen by the writer (the task event log)
 * and checked by the store. "Subscribe, then read from a seq, then skip what was read" sees every event exactly
 * once, because an event is stored before its subscribers hear of it. Contract suite: `taskEventStoreContract`
 * in test/contracts/task-event-store.ts.
 */
export interface TaskEventStore {
  /**
   * Appends an event to the task's stream. `seq` must be above every seq the task has (else it rejects and the
   * stream is left as it was). When the task then has more than `limit` events, its oldest droppable ones are
   * removed until it has `limit` (never a non-droppable one, nor the one just appended: the last seq stored is
   * the last one handed out, which a resume is checked against and the sequence goes on from). Subscribers hear
   * of it once it is stored.
   */
  appendTaskEvent(taskId: string, record: TaskEventRecord, limit: number): Promise<void>;
  /** The task's stored events with a seq above `afterSeq`, in seq order (copies). */
  readTaskEvents(taskId: string, afterSeq: number): Promise<TaskEventRecord[]>;
  /** The task's last stored event, if any (where its sequence goes on from). */
  lastTaskEvent(taskId: string): Promise<TaskEventRecord | undefined>;
  /**
   * The task's events appended from the moment the promise resolves, buffered until read, in seq order (a
   * networked store resolves once its subscription is in place, so nothing appended after that is missed).
   * `signal` ends the subscription (a client that went away), as `close()` does.
   */
  subscribeTaskEvents(taskId: string, signal?: AbortSignal): Promise<LiveEvents>;
}
