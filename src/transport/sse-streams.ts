import type { Request, RequestHandler } from 'express';
import { STATE_HEADERS_KEY, type ServerCallContext } from '@a2a-js/sdk/server';

/**
 * One HTTP response's view for the code that produces its events: the id the next event carries, the id the
 * client last saw, and whether the client is still there.
 */
export interface SseStream {
  /** The `id:` line the next `data:` event written gets (undefined: none). */
  setNextId(id: number | undefined): void;
  /** `Last-Event-ID` as the client sent it (header, or a `lastEventId` query or JSON-RPC param). */
  readonly lastEventId: string | undefined;
  /** Aborted when the response closes (the client went away, or the stream ended). */
  readonly signal: AbortSignal;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A scalar id as text; anything else is no id. */
function idText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** `Last-Event-ID` as the client sent it: the header, else a `lastEventId` query or JSON-RPC param. */
export function lastEventIdOf(req: Request): string | undefined {
  const body: unknown = req.body;
  const params = isObject(body) && isObject(body.params) ? body.params : {};
  const query: unknown = req.query;
  return (
    req.get('last-event-id') ??
    (isObject(query) ? idText(query.lastEventId) : undefined) ??
    idText(params.lastEventId) ??
    (isObject(params.metadata) ? idText(params.metadata.lastEventId) : undefined)
  );
}

/**
 * Gives SSE events ids whatever binding writes them (JSON-RPC 1.0 and 0.3, REST, the 0.1 shim). The SDK's
 * transports write each event as one `data:` chunk, right after the request handler yields it; the handler
 * wrapper sets the id of the event it is about to yield, and the wrapped `res.write` puts the `id:` line in
 * front of the next `data:` chunk. Comments (heartbeats) and `event: error` chunks pass unchanged.
 *
 * The handler finds a call's stream through the request headers object, which the SDK keeps in the call context.
 */
export class SseStreams {
  private readonly byHeaders = new WeakMap<object, SseStream>();

  /**
   * Gives a call that did not come through {@link middleware} (a gRPC call) its stream: `headers` is the object the
   * call's context keeps under the SDK's headers key.
   */
  attach(headers: object, stream: SseStream): void {
    this.byHeaders.set(headers, stream);
  }

  /** The stream of a call, if it came in over HTTP through {@link middleware}. */
  of(context: ServerCallContext): SseStream | undefined {
    const headers: unknown = context.state.get(STATE_HEADERS_KEY);
    return isObject(headers) ? this.byHeaders.get(headers) : undefined;
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'POST') {
        next();
        return;
      }
      const lastEventId = lastEventIdOf(req);
      const aborted = new AbortController();
      let nextId: number | undefined;
      this.byHeaders.set(req.headers, {
        setNextId: (id) => {
          nextId = id;
        },
        lastEventId,
        signal: aborted.signal,
      });
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (nextId !== undefined && typeof chunk === 'string' && chunk.startsWith('data:')) {
          const id = nextId;
          nextId = undefined;
          return write(`id: ${id}\n${chunk}`, ...rest);
        }
        return write(chunk, ...rest);
      }) as typeof res.write;
      res.on('close', () => aborted.abort());
      next();
    };
  }
}
