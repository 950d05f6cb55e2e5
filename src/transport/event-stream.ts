import { TaskState, taskStateToJSON, type StreamResponse, type Task } from '@a2a-js/sdk';
import { RequestMalformedError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import type { A2ARequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import type { SubscribeToTaskRequest } from '@a2a-js/sdk';
import { EVENT_TAP_KEY, EventTap } from '../events/event-bus.js';
import {
  endsStream,
  sameStatus,
  statusOf,
  type LoggedEvent,
  type TaskEventLog,
} from '../events/task-event-log.js';
import { isTerminal } from '../stores/states.js';
import type { SseStreams } from './sse-streams.js';

export interface EventStreamDeps {
  log: TaskEventLog;
  streams: SseStreams;
}

/** `Last-Event-ID` as a seq: undefined when absent; a bad value is refused, naming what was expected. */
export function parseLastEventId(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const text = raw.trim();
  if (!/^\d{1,15}$/.test(text)) {
    throw new RequestMalformedError(
      `Last-Event-ID: expected the id of an event of this task's stream (a whole number), got "${text.slice(0, 40)}"`,
    );
  }
  return Number(text);
}

/**
 * The logged events after `Last-Event-ID`. An id past the log's last event is refused, naming the ids the log
 * has: no client can have seen that event, and a stream from there would skip every event still to come (the
 * task's end too) and never close. The log's end is read from the store now, so on Redis it is where every node's
 * writes have got to; an id inside the log has events after it or is the end, so only an empty replay reads it.
 */
export async function replayAfter(
  log: Pick<TaskEventLog, 'read' | 'lastSeq'>,
  taskId: string,
  after: number,
): Promise<LoggedEvent[]> {
  const replay = await log.read(taskId, after);
  if (replay.length > 0 || after === 0) return replay;
  const last = await log.lastSeq(taskId);
  if (after > last) {
    throw new RequestMalformedError(
      `Last-Event-ID: ${after} is past the last event of task ${taskId} (${last}); expected a whole number from 0 to ${last}`,
    );
  }
  return replay;
}

/** The seq of the logged event whose status the snapshot shows; else the log's end (0 for an empty log). */
export function positionOf(task: Task, logged: readonly LoggedEvent[]): number {
  for (let i = logged.length - 1; i >= 0; i--) {
    const entry = logged[i];
    if (entry && sameStatus(statusOf(entry.event), task.status)) return entry.seq;
  }
  return logged.at(-1)?.seq ?? 0;
}

/**
 * Resubscribe from the task's event log. With `Last-Event-ID`, every logged event after it, then live ones
 * (also for a finished task, whose log is replayed and the stream closed); an id past the log's end is refused,
 * running task or finished (see {@link replayAfter}). Without it, as the spec says: the current task first (with
 * the id of the event it reflects), then what happens next; a finished task is refused. Live events are
 * subscribed to before the log is read and deduplicated by seq, so nothing falls in between.
 */
async function* resubscribe(
  inner: A2ARequestHandler,
  deps: EventStreamDeps,
  params: SubscribeToTaskRequest,
  context: ServerCallContext,
): AsyncGenerator<StreamResponse, void, undefined> {
  const stream = deps.streams.of(context);
  const after = parseLastEventId(stream?.lastEventId);
  const request = { tenant: params.tenant, id: params.id };
  // Existence and ownership first (another key's task is "not found"), before anything is held open.
  await inner.getTask(request, context);
  const live = await deps.log.subscribe(params.id, stream?.signal);
  try {
    const task = await inner.getTask(request, context);
    const state = task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED;
    const finished = isTerminal(state);
    // A task can end outside its event bus (failed at a restart, canceled while idle): log that end first.
    if (finished) await deps.log.reconcile(task);
    let cursor: number;
    let replay: LoggedEvent[];
    if (after === undefined) {
      if (finished) {
        throw new UnsupportedOperationError(
          `task ${task.id} has ended (${taskStateToJSON(state)}) and cannot be subscribed to; send Last-Event-ID: 0 to replay its events`,
        );
      }
      const logged = await deps.log.read(task.id, 0);
      cursor = positionOf(task, logged);
      replay = logged.filter((e) => e.seq > cursor);
      stream?.setNextId(cursor > 0 ? cursor : undefined);
      yield { payload: { $case: 'task', value: task } };
    } else {
      cursor = after;
      replay = await replayAfter(deps.log, task.id, after);
    }
    for (const entry of replay) {
      stream?.setNextId(entry.seq);
      yield entry.event;
      cursor = entry.seq;
    }
    // The stream the client lost ended here (or the task is over): close it as that stream would have closed.
    const last = replay.at(-1);
    if (finished || (last && endsStream(last.event))) return;
    for await (const entry of live) {
      if (entry.seq <= cursor) continue;
      stream?.setNextId(entry.seq);
      yield entry.event;
      cursor = entry.seq;
      if (endsStream(entry.event)) return;
    }
  } finally {
    live.close();
  }
}

/**
 * Wraps the request handler so that streams carry event ids: a send stream gives each event the seq the task's
 * event log gave it, resubscribe replays the log after `Last-Event-ID`, and a cancel that ended a task outside
 * its event bus is logged too.
 */
export function withEventLog(inner: A2ARequestHandler, deps: EventStreamDeps): A2ARequestHandler {
  return {
    getAgentCard: () => inner.getAgentCard(),
    getAuthenticatedExtendedAgentCard: (p, c) => inner.getAuthenticatedExtendedAgentCard(p, c),
    sendMessage: (p, c) => inner.sendMessage(p, c),
    sendMessageStream: async function* (params, context) {
      const stream = deps.streams.of(context);
      const tap = new EventTap();
      context.state.set(EVENT_TAP_KEY, tap);
      try {
        for await (const response of inner.sendMessageStream(params, context)) {
          stream?.setNextId(await tap.next());
          yield response;
        }
      } finally {
        tap.close();
        context.state.delete(EVENT_TAP_KEY);
      }
    },
    getTask: (p, c) => inner.getTask(p, c),
    cancelTask: async (p, c) => {
      const task = await inner.cancelTask(p, c);
      await deps.log.reconcile(task);
      return task;
    },
    createTaskPushNotificationConfig: (p, c) => inner.createTaskPushNotificationConfig(p, c),
    getTaskPushNotificationConfig: (p, c) => inner.getTaskPushNotificationConfig(p, c),
    listTaskPushNotificationConfigs: (p, c) => inner.listTaskPushNotificationConfigs(p, c),
    deleteTaskPushNotificationConfig: (p, c) => inner.deleteTaskPushNotificationConfig(p, c),
    resubscribe: (p, c) => resubscribe(inner, deps, p, c),
    listTasks: (p, c) => inner.listTasks(p, c),
  };
}
