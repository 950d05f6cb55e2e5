import type { Response } from 'express';
import { StreamResponse } from '@a2a-js/sdk';
import {
  endsStream,
  type LiveEvents,
  type LoggedEvent,
  type TaskEventLog,
} from '../events/task-event-log.js';

/** What a subscribe's stream is written for: the binding, the task, and (JSON-RPC) the request id as JSON. */
export interface StreamCall {
  binding: 'jsonrpc' | 'rest';
  taskId: string;
  /** The request id as JSON text ('' for REST), and its UTF-8 bytes. */
  rpcId: string;
  rpcIdBytes: Buffer;
}

/** The SDK's SSE response headers, in the order it sets them. */
const SSE_HEADERS: readonly (readonly [string, string])[] = [
  ['Content-Type', 'text/event-stream'],
  ['Cache-Control', 'no-cache'],
  ['Connection', 'keep-alive'],
  ['X-Accel-Buffering', 'no'],
];

/** One response subscribed to a task: where its stream stands. */
export class Subscriber {
  /** The seq of the last event written (or skipped as already known). */
  cursor = 0;
  /** Live events that came while the replay was being read; undefined once the subscriber is live. */
  pending: LoggedEvent[] | undefined = [];
  started = false;
  done = false;

  constructor(
    readonly res: Response,
    readonly call: StreamCall,
  ) {}
}

/**
 * The bytes of one event, serialized once: `StreamResponse.toJSON` and `JSON.stringify` once per event, then one
 * buffer per distinct frame (REST, and JSON-RPC per request id), shared by every subscriber that gets it.
 */
export class Frames {
  private json: string | undefined;
  private rest: { frame: Buffer; chunk?: Buffer } | undefined;
  /** The JSON-RPC frame's bytes before and after the request id. */
  private rpc: { before: Buffer; after: Buffer } | undefined;
  /** Built frames of the first few request ids: most subscribers of a task send the same one. */
  private readonly byId = new Map<string, { frame?: Buffer; chunk?: Buffer }>();

  constructor(
    private readonly id: number | undefined,
    private readonly event: StreamResponse,
  ) {}

  /** The event's SSE frame for a call's binding and request id. */
  for(call: StreamCall): Buffer {
    return call.binding === 'rest' ? this.restFrame().frame : this.splice(call, false);
  }

  /** The frame as one HTTP/1.1 chunk (size line, frame, CRLF): what `res.write` puts on a chunked response. */
  chunk(call: StreamCall): Buffer {
    if (call.binding === 'jsonrpc') return this.splice(call, true);
    const rest = this.restFrame();
    rest.chunk ??= Buffer.concat([
      Buffer.from(`${rest.frame.length.toString(16)}\r\n`, 'latin1'),
      rest.frame,
      CRLF,
    ]);
    return rest.chunk;
  }

  private eventJson(): string {
    this.json ??= JSON.stringify(StreamResponse.toJSON(this.event));
    return this.json;
  }

  private idLine(): string {
    return this.id === undefined ? '' : `id: ${this.id}\n`;
  }

  private restFrame(): { frame: Buffer; chunk?: Buffer } {
    this.rest ??= { frame: Buffer.from(`${this.idLine()}data: ${this.eventJson()}\n\n`, 'utf8') };
    return this.rest;
  }

  /**
   * The SDK writes `JSON.stringify({ jsonrpc, id, result })`: the same bytes are the event's frame cut at the
   * request id, with each subscriber's id (as JSON) put in; one copy per subscriber, no re-encoding.
   */
  private splice(call: StreamCall, chunked: boolean): Buffer {
    const cached = this.byId.get(call.rpcId);
    const hit = chunked ? cached?.chunk : cached?.frame;
    if (hit) return hit;
    this.rpc ??= {
      before: Buffer.from(`${this.idLine()}data: {"jsonrpc":"2.0","id":`, 'utf8'),
      after: Buffer.from(`,"result":${this.eventJson()}}\n\n`, 'utf8'),
    };
    const { before, after } = this.rpc;
    const id = call.rpcIdBytes;
    const length = before.length + id.length + after.length;
    const head = chunked ? `${length.toString(16)}\r\n` : '';
    const out = Buffer.allocUnsafe(head.length + length + (chunked ? CRLF.length : 0));
    let at = out.write(head, 0, 'latin1');
    at += before.copy(out, at);
    at += id.copy(out, at);
    at += after.copy(out, at);
    if (chunked) CRLF.copy(out, at);
    if (cached || this.byId.size < 8) {
      const entry = cached ?? {};
      if (chunked) entry.chunk = out;
      else entry.frame = out;
      this.byId.set(call.rpcId, entry);
    }
    return out;
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * All direct subscribers of one task: one live subscription to the task's event log, and each event, as it
 * comes, written to every subscriber in one synchronous pass.
 */
export class TaskFanout {
  readonly subscribers = new Set<Subscriber>();
  readonly ready: Promise<void>;
  private live: LiveEvents | undefined;
  private closed = false;

  constructor(
    taskId: string,
    log: Pick<TaskEventLog, 'subscribe'>,
    private readonly writer: FrameWriter,
    private readonly onEmpty: () => void,
  ) {
    this.ready = log.subscribe(taskId).then((live) => {
      if (this.closed) {
        live.close();
        return;
      }
      this.live = live;
      // The log's live feed only buffers and does not fail; should it, the subscribers reconnect with their ids.
      this.pump(live).catch(() => {
        for (const sub of this.subscribers) sub.res.destroy();
      });
    });
  }

  remove(sub: Subscriber): void {
    if (!this.subscribers.delete(sub) || this.subscribers.size > 0) return;
    this.closed = true;
    this.live?.close();
    this.onEmpty();
  }

  private async pump(live: LiveEvents): Promise<void> {
    for await (const entry of live) {
      const frames = new Frames(entry.seq, entry.event);
      const ends = endsStream(entry.event);
      for (const sub of this.subscribers) {
        if (!sub.pending) this.writer.send(sub, entry.seq, frames, ends);
        else if (sub.pending.push(entry) > MAX_PENDING) this.writer.cut(sub);
      }
    }
  }
}

/** One event of a subscriber's backlog; the snapshot has no seq of its own. */
export interface BacklogItem {
  seq: number | undefined;
  frames: Frames;
  ends: boolean;
}

/** Live events a subscriber still catching up may have waiting before it is cut off. */
const MAX_PENDING = 10_000;

/** Resolves once the response can take more (or is gone). */
function drained(res: Response): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes frames to subscribers, with the SDK's headers before the first and its end after the last. */
export class FrameWriter {
  constructor(
    private readonly maxBuffered: number,
    private readonly leave: (sub: Subscriber) => void,
  ) {}

  /** Closes the connection without the stream's end: the client resumes after the last id it got. */
  cut(sub: Subscriber): void {
    sub.res.destroy();
    this.leave(sub);
  }

  /** Writes an event after the subscriber's cursor; ends the stream after an event that ends it. */
  send(sub: Subscriber, seq: number, frames: Frames, ends: boolean): void {
    if (sub.done || seq <= sub.cursor) return;
    sub.cursor = seq;
    this.write(sub, frames);
    if (ends) this.end(sub);
  }

  write(sub: Subscriber, frames: Frames): void {
    const res = sub.res;
    if (sub.done) return;
    if (res.destroyed) {
      this.leave(sub);
      return;
    }
    // A subscriber that has not taken what it was sent: cut it off rather than hold its events without bound.
    if (res.writableLength > this.maxBuffered) {
      this.cut(sub);
      return;
    }
    this.start(sub);
    // On a chunked response that owns its socket, the chunk goes to the socket as one buffer built once for all
    // subscribers (the same bytes `res.write` sends, without its four buffered writes and a writev per call).
    const socket = res.socket;
    if (res.chunkedEncoding && socket && !socket.destroyed) socket.write(frames.chunk(sub.call));
    else res.write(frames.for(sub.call));
  }

  /**
   * Writes a subscriber's backlog (the snapshot, the replay, then the live events that came meanwhile) at the pace
   * the client reads it: when the response's buffer is full it waits for `drain`, so a long replay is never cut
   * off, and live events wait in the subscriber's pending list. Then the subscriber is live (or its stream ends).
   */
  async catchUp(sub: Subscriber, backlog: readonly BacklogItem[], endsHere: boolean): Promise<void> {
    const res = sub.res;
    let queue = backlog;
    for (;;) {
      for (const item of queue) {
        if (sub.done) return;
        if (item.seq !== undefined) {
          if (item.seq <= sub.cursor) continue;
          sub.cursor = item.seq;
        }
        this.start(sub);
        if (!res.write(item.frames.for(sub.call))) await drained(res);
        if (item.ends) {
          this.end(sub);
          return;
        }
      }
      if (sub.done) return;
      if (endsHere) {
        this.end(sub);
        return;
      }
      const pending = sub.pending ?? [];
      if (pending.length === 0) {
        sub.pending = undefined;
        return;
      }
      sub.pending = [];
      queue = pending.map((e) => ({
        seq: e.seq,
        frames: new Frames(e.seq, e.event),
        ends: endsStream(e.event),
      }));
    }
  }

  /** The stream's end, as the SDK writes it (headers first when no event was written). */
  end(sub: Subscriber): void {
    if (sub.done) return;
    this.start(sub);
    if (!sub.res.writableEnded) sub.res.end();
    this.leave(sub);
  }

  private start(sub: Subscriber): void {
    if (sub.started) return;
    sub.started = true;
    const res = sub.res;
    // The REST router sets its content type on every answer first: same header order as there.
    if (sub.call.binding === 'rest') res.setHeader('Content-Type', 'application/a2a+json');
    for (const [name, value] of SSE_HEADERS) res.setHeader(name, value);
    res.flushHeaders();
  }
}

/**
 * The tasks that have direct subscribers, each with its {@link TaskFanout}, and the writer they share. A
 * subscriber joins before its task's log is read (so nothing falls between the log and the live events) and
 * leaves when its stream ends, it is cut off or its client goes away; the last to leave ends the live
 * subscription.
 */
export class StreamFanouts {
  readonly writer: FrameWriter;
  private readonly fanouts = new Map<string, TaskFanout>();
  private readonly members = new WeakMap<Subscriber, TaskFanout>();

  constructor(
    private readonly log: Pick<TaskEventLog, 'subscribe'>,
    maxBufferedBytes: number,
  ) {
    this.writer = new FrameWriter(maxBufferedBytes, (sub) => this.leave(sub));
  }

  join(taskId: string, sub: Subscriber): TaskFanout {
    let fanout = this.fanouts.get(taskId);
    if (!fanout) {
      const created: TaskFanout = new TaskFanout(taskId, this.log, this.writer, () => {
        if (this.fanouts.get(taskId) === created) this.fanouts.delete(taskId);
      });
      fanout = created;
      this.fanouts.set(taskId, fanout);
    }
    fanout.subscribers.add(sub);
    this.members.set(sub, fanout);
    return fanout;
  }

  leave(sub: Subscriber): void {
    sub.done = true;
    this.members.get(sub)?.remove(sub);
  }
}
