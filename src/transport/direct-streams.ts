import type { Request, RequestHandler, Response } from 'express';
import { TaskState, type Task } from '@a2a-js/sdk';
import type { A2ARequestHandler, ServerCallContext, ServerCallContextBuilder } from '@a2a-js/sdk/server';
import { endsStream, type LoggedEvent, type TaskEventLog } from '../events/task-event-log.js';
import { isTerminal } from '../stores/states.js';
import { parseLastEventId, positionOf, replayAfter } from './event-stream.js';
import { lastEventIdOf } from './sse-streams.js';
import { userBuilder } from './security.js';
import { Frames, StreamFanouts, Subscriber, type BacklogItem, type StreamCall } from './stream-fanout.js';

/** Unsent bytes a subscriber may have before its connection is cut (default for {@link DirectStreamsDeps}). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

const NO_ID = Buffer.alloc(0);
const REST_SUBSCRIBE = /^\/tasks\/([^/:]+):subscribe$/;
const REST_TYPES = new Set(['application/json', 'application/a2a+json']);

export interface DirectStreamsDeps {
  /** The request handler the SDK's bindings call (task reads go through it: scope, ownership, errors). */
  requestHandler: Pick<A2ARequestHandler, 'getTask'>;
  log: Pick<TaskEventLog, 'subscribe' | 'read' | 'reconcile' | 'lastSeq'>;
  /** The contexts the SDK's handlers build for each binding. */
  jsonRpcContext: ServerCallContextBuilder;
  restContext: ServerCallContextBuilder;
  /**
   * Unsent bytes (in the response and its socket) past which a subscriber that does not read is cut off: its
   * connection is closed without the stream's end, so it reconnects with `Last-Event-ID` and loses nothing.
   */
  maxBufferedBytes?: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mediaType(req: Request): string | undefined {
  return req.header('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
}

/** JSON-RPC `SubscribeToTask` with nothing but `params.id` (and `lastEventId`) and a string or integer id. */
function plainJsonRpcSubscribe(req: Request): StreamCall | undefined {
  const type = mediaType(req);
  if (type !== undefined && type !== 'application/json') return undefined;
  const body: unknown = req.body;
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || body.method !== 'SubscribeToTask') return undefined;
  const rpcId = body.id;
  if (!(typeof rpcId === 'string' || (typeof rpcId === 'number' && Number.isSafeInteger(rpcId))))
    return undefined;
  const params = body.params;
  if (!isPlainObject(params)) return undefined;
  for (const key in params) if (key !== 'id' && key !== 'lastEventId') return undefined;
  const taskId = params.id;
  if (typeof taskId !== 'string' || taskId.trim() === '') return undefined;
  const json = JSON.stringify(rpcId);
  return { binding: 'jsonrpc', taskId, rpcId: json, rpcIdBytes: Buffer.from(json, 'utf8') };
}

/** REST `GET`/`POST /tasks/{id}:subscribe` with no tenant, no body and no query but `lastEventId`. */
function plainRestSubscribe(req: Request): StreamCall | undefined {
  const type = mediaType(req);
  if (type !== undefined && !REST_TYPES.has(type)) return undefined;
  if (req.method === 'POST') {
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0'))
      return undefined;
  }
  const match = REST_SUBSCRIBE.exec(req.path);
  if (!match?.[1]) return undefined;
  const query = req.url.indexOf('?');
  if (query >= 0 && !/^lastEventId=\d*$/.test(req.url.slice(query + 1))) return undefined;
  try {
    const taskId = decodeURIComponent(match[1]);
    return taskId.trim() === '' ? undefined : { binding: 'rest', taskId, rpcId: '', rpcIdBytes: NO_ID };
  } catch {
    return undefined;
  }
}

/**
 * A direct stream path for plain 1.0 subscribes (JSON-RPC `SubscribeToTask` with only an id, REST
 * `GET|POST /tasks/{id}:subscribe`, with or without `Last-Event-ID`): the same stream the SDK's path writes (same
 * headers, event ids, replay, end), but each event is serialized once for all subscribers of a task and written
 * to each of them in one pass, without a chain of async generators per subscriber. Anything else, and every call
 * that ends in an error (unknown task, a finished task without `Last-Event-ID`, a bad id or one past the log's
 * end), goes on to the SDK's handlers before a byte is written. Mounted after the direct read path.
 */
export function directStreams(deps: DirectStreamsDeps): RequestHandler {
  const fanouts = new StreamFanouts(deps.log, deps.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
  const { writer } = fanouts;
  const leave = (sub: Subscriber): void => fanouts.leave(sub);

  /** Serves the call; false when it is left to the SDK's path (nothing written). */
  const serve = async (req: Request, res: Response, call: StreamCall): Promise<boolean> => {
    let after: number | undefined;
    try {
      after = parseLastEventId(lastEventIdOf(req));
    } catch {
      return false;
    }
    const builder = call.binding === 'rest' ? deps.restContext : deps.jsonRpcContext;
    const context: ServerCallContext = builder({
      extensions: [],
      user: await userBuilder(req),
      headers: req.headers,
      requestedVersion: '1.0',
    });
    const request = { tenant: '', id: call.taskId };
    // Existence and ownership first, before anything is held open (as the SDK's path does).
    await deps.requestHandler.getTask(request, context);
    const sub = new Subscriber(res, call);
    // Live events are subscribed to before the log is read and deduplicated by seq: nothing falls in between.
    const fanout = fanouts.join(call.taskId, sub);
    const onClose = (): void => leave(sub);
    res.once('close', onClose);
    let task: Task;
    let finished: boolean;
    let replay: LoggedEvent[];
    let snapshot: Frames | undefined;
    try {
      await fanout.ready;
      task = await deps.requestHandler.getTask(request, context);
      finished = isTerminal(task.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
      // A task can end outside its event bus (failed at a restart, canceled while idle): log that end first.
      if (finished) await deps.log.reconcile(task);
      if (after === undefined) {
        // A finished task is refused: by the SDK's path, which words the error.
        if (finished) throw new Error('left to the SDK path');
        const logged = await deps.log.read(task.id, 0);
        sub.cursor = positionOf(task, logged);
        replay = logged.filter((e) => e.seq > sub.cursor);
        snapshot = new Frames(sub.cursor > 0 ? sub.cursor : undefined, {
          payload: { $case: 'task', value: task },
        });
      } else {
        sub.cursor = after;
        // An id past the log's end is refused: by the SDK's path, which words the error.
        replay = await replayAfter(deps.log, task.id, after);
      }
    } catch {
      res.off('close', onClose);
      leave(sub);
      return false;
    }
    // Gone while its reads were waited for: the close came before the listener.
    if (res.destroyed) leave(sub);
    if (sub.done) return true;
    // The snapshot and the replay, then what came meanwhile, at the client's pace; then live events.
    const backlog: BacklogItem[] = [];
    if (snapshot) backlog.push({ seq: undefined, frames: snapshot, ends: false });
    for (const entry of replay)
      backlog.push({ seq: entry.seq, frames: new Frames(entry.seq, entry.event), ends: false });
    const last = replay.at(-1);
    // The stream the client lost ended here (or the task is over): close it as that stream would have closed.
    const endsHere = finished || (last !== undefined && endsStream(last.event));
    writer.catchUp(sub, backlog, endsHere).catch(() => res.destroy());
    return true;
  };

  return (req, res, next) => {
    if (req.headers['a2a-version'] !== '1.0' || req.headers['a2a-extensions'] !== undefined) {
      next();
      return;
    }
    let call: StreamCall | undefined;
    if (req.method === 'POST' && req.path === '/') call = plainJsonRpcSubscribe(req);
    else if (req.method === 'GET' || req.method === 'POST') call = plainRestSubscribe(req);
    if (!call) {
      next();
      return;
    }
    serve(req, res, call).then(
      (served) => {
        if (!served) next();
      },
      () => next(),
    );
  };
}
