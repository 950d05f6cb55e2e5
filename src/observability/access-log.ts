import type { Request, RequestHandler, Response } from 'express';
import { STATE_HEADERS_KEY, type ServerCallContext } from '@a2a-js/sdk/server';
import type { Logger } from './logger.js';
import type { GatewayMetrics, RefusalReason } from './metrics.js';
import { describeRequest, type RequestShape } from './routes.js';
import { traceContextFor, traceparentOf, type TraceContext } from './trace-context.js';

/** What the code handling a request adds to its access-log line. */
export interface RequestRecord {
  readonly trace: TraceContext;
  /** The task the request created or named. */
  taskId: string | undefined;
  /** Why the request was refused, when it was and the status code does not say. */
  refusal: RefusalReason | undefined;
}

export interface AccessLogDeps {
  logger: Logger;
  /** Absent when metrics are off: the log line is still written. */
  metrics?: GatewayMetrics | undefined;
  /** The id of the key the request was made with (never the key). */
  keyOf: (req: Request) => string | undefined;
}

/** Probes and scrapes: logged at debug when they succeed, so they do not drown the log. */
const QUIET_ROUTES: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics']);
const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/**
 * A refusal the status code says by itself. 429 is the rate limiter's unless the code that refused said otherwise
 * (`res.locals.refusal`, or {@link AccessLog.refuse} for an A2A call).
 */
function refusalOfStatus(status: number): RefusalReason | undefined {
  if (status === 401) return 'auth';
  if (status === 403) return 'forbidden';
  if (status === 413) return 'body_size';
  if (status === 400) return 'validation';
  if (status === 429) return 'rate_limit';
  return undefined;
}

/**
 * One log line per request, written when the response ends (or the client goes away): method, route template,
 * A2A method and version, task id, status, duration, key id and trace id. The same moment feeds the HTTP metrics
 * and the refusal counts. Each request gets its W3C trace context here: the caller's `traceparent` is accepted and
 * replaced in the request by the gateway's own hop, so the handlers (and the CLI a task runs) carry it on.
 */
export class AccessLog {
  private readonly records = new WeakMap<object, RequestRecord>();
  private readonly inFlight = new Set<Response>();

  constructor(private readonly deps: AccessLogDeps) {}

  /**
   * The record of the request a call came in on, found through its headers object (which the SDK keeps in the
   * call context's state).
   */
  recordOf(headers: unknown): RequestRecord | undefined {
    return typeof headers === 'object' && headers !== null ? this.records.get(headers) : undefined;
  }

  /** The record of the request an A2A call came in on. */
  recordOfCall(context: ServerCallContext): RequestRecord | undefined {
    return this.recordOf(context.state.get(STATE_HEADERS_KEY));
  }

  /** Notes why an A2A call was refused (its HTTP status alone may not say: JSON-RPC errors are 200). */
  refuse(context: ServerCallContext, reason: RefusalReason): void {
    const record = this.recordOfCall(context);
    if (record) record.refusal = reason;
  }

  /** Server-sent event streams open now. */
  openStreams(): number {
    let n = 0;
    for (const res of this.inFlight) {
      const type = res.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/event-stream')) n += 1;
    }
    return n;
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      const started = process.hrtime.bigint();
      // As the client asked: later handlers may rewrite the URL (the dashboard's static files do).
      const path = req.path;
      const trace = traceContextFor(req.header('traceparent'));
      req.headers.traceparent = traceparentOf(trace);
      res.setHeader('traceresponse', traceparentOf(trace));
      const record: RequestRecord = { trace, taskId: undefined, refusal: undefined };
      this.records.set(req.headers, record);
      this.inFlight.add(res);
      let done = false;
      const end = (): void => {
        if (done) return;
        done = true;
        this.inFlight.delete(res);
        this.write(req, path, res, record, Number(process.hrtime.bigint() - started) / 1e9);
      };
      res.on('finish', end);
      res.on('close', end);
      next();
    };
  }

  private write(req: Request, path: string, res: Response, record: RequestRecord, seconds: number): void {
    const shape = describeRequest(req.method, path, req.body, req.header('a2a-version'));
    const status = res.statusCode;
    const locals = res.locals as { refusal?: RefusalReason };
    this.line({
      method: req.method,
      shape: record.taskId ? { ...shape, taskId: record.taskId } : shape,
      status,
      seconds,
      keyId: this.deps.keyOf(req),
      traceId: record.trace.traceId,
      refusal: record.refusal ?? locals.refusal ?? refusalOfStatus(status),
      aborted: !res.writableFinished,
    });
  }

  /**
   * The line and the metrics of a request answered without the middlewares (front-door.ts): the same fields,
   * names and counts the middleware writes.
   */
  answered(line: AnsweredRequest): void {
    this.line({ ...line, refusal: undefined, aborted: false });
  }

  private line(entry: AnsweredRequest & { refusal: RefusalReason | undefined; aborted: boolean }): void {
    const { method, shape, status, seconds, refusal, aborted } = entry;
    const metrics = this.deps.metrics;
    if (metrics) {
      const known = METHODS.has(method) ? method : 'other';
      metrics.httpRequests.labels(known, shape.route, String(status)).inc();
      metrics.httpDuration.labels(known, shape.route).observe(seconds);
      if (shape.a2aMethod) metrics.a2aRequests.labels(shape.a2aMethod, shape.a2aVersion ?? 'other').inc();
      if (refusal) metrics.refused(refusal);
    }
    const quiet = QUIET_ROUTES.has(shape.route) && status < 400;
    this.deps.logger[quiet ? 'debug' : 'info'](
      {
        method,
        route: shape.route,
        ...(shape.a2aMethod ? { a2aMethod: shape.a2aMethod, a2aVersion: shape.a2aVersion } : {}),
        ...(shape.taskId ? { taskId: shape.taskId } : {}),
        status,
        durationMs: Math.round(seconds * 10_000) / 10,
        keyId: entry.keyId,
        traceId: entry.traceId,
        ...(refusal ? { refusal } : {}),
        ...(aborted ? { aborted: true } : {}),
      },
      'request',
    );
  }
}

/** A request as its access-log line names it. */
export interface AnsweredRequest {
  method: string;
  shape: RequestShape;
  status: number;
  seconds: number;
  /** The id of the key the request was made with (never the key). */
  keyId: string | undefined;
  traceId: string;
}
