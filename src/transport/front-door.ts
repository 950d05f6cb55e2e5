import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Express } from 'express';
import type { AccessLog } from '../observability/access-log.js';
import type { RequestShape } from '../observability/routes.js';
import { traceContextFor, traceparentOf } from '../observability/trace-context.js';
import type { StoreScope } from '../stores/types.js';
import type { Authenticator, Principal } from './auth.js';
import type { AuthThrottle } from './auth-throttle.js';
import { etagFor, plainJsonRpcGet, plainRestGet, type Answer, type AnswerCache } from './direct-reads.js';
import {
  countedBefore,
  type MemoryRateLimiter,
  type RateLimitHit,
  type StoreRateLimiter,
} from './memory-rate-limit.js';
import { rateKeyOf } from './security.js';

/** The Express setting that turns the front door off (`app.disable(FRONT_DOOR_SETTING)`): the app serves all. */
export const FRONT_DOOR_SETTING = 'a2a front door';

/** Largest JSON-RPC body the front door reads itself; a plain GetTask is a hundred bytes or so. */
const MAX_BODY_BYTES = 16 * 1024;

const JSON_RPC_SHAPE: RequestShape = {
  route: '/',
  a2aMethod: 'GetTask',
  a2aVersion: '1.0',
  taskId: undefined,
};
const REST_SHAPE: RequestShape = {
  route: '/tasks/{id}',
  a2aMethod: 'GetTask',
  a2aVersion: '1.0',
  taskId: undefined,
};

type HeaderValue = string | number | readonly string[];

export interface FrontDoorDeps {
  /** Everything the front door does not answer goes here, as if the front door were not there. */
  app: Express;
  authenticator: Authenticator;
  authThrottle: AuthThrottle | undefined;
  /** The request limit in this process; undefined when requests are not limited (or counted in Redis). */
  limiter: MemoryRateLimiter | undefined;
  /** The store's synchronous read of a task's wire JSON in a scope (SQLite). */
  readWireJson?: (taskId: string, scope: StoreScope) => string | undefined;
  /**
   * A store that must wait (Redis): its read, the request limit counted there (undefined when requests are not
   * limited or are counted in this process), and whether its connection is up now (when it is not, the app
   * answers, naming Redis).
   */
  shared?: {
    loadWireJson: (taskId: string, scope: StoreScope) => Promise<string | undefined>;
    limiter: StoreRateLimiter | undefined;
    ready: () => boolean;
  };
  /** The store scope of a caller, on the default tenant. */
  scopeOf: (principal: Principal) => StoreScope;
  accessLog: AccessLog;
  /** The answers kept, shared with the direct read path. */
  answers: AnswerCache;
  /** The headers every response gets (security.ts, fixedSecurityHeaders). */
  securityHeaders: ReadonlyArray<readonly [string, HeaderValue]>;
  /** BODY_LIMIT: a body over it is the app's to refuse. */
  bodyLimitBytes: number;
}

function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** A caller whose principal and request-limit key are known without waiting for anything, or undefined. */
interface Caller {
  principal: Principal;
  rateKey: string;
  /** The client's address, when the failed-authentication throttle must be asked about it (it counts in Redis). */
  throttleCheck: string | undefined;
}

/** What the front door answers: the stored task, and the request's count when it is limited. */
interface Found {
  answer: Answer;
  hit: RateLimitHit | undefined;
}

/**
 * The way in for the most frequent request, a plain GetTask on A2A 1.0 (JSON-RPC `GetTask` with only an id at
 * `POST /`, REST `GET /tasks/{id}` without a query), answered before Express: the caller's key is one matched
 * before and no failed authentication is being throttled. On SQLite, with the request limit counted in this
 * process, it is answered in one turn of the event loop. On Redis the throttle, the read and the count are asked
 * of Redis together (one trip, auto-pipelined), and a request handed to the app carries its count with it. The
 * answer is the bytes, status and headers the app sends for the same request (security headers,
 * `traceresponse`, `RateLimit`/`RateLimit-Policy`, the content type with its charset, `ETag`), and the request
 * gets the same access-log line and metrics. Every other request goes to the app untouched, and so does any
 * request whose answer would differ from the plain one (no key or a new one, a throttled address, a caller at its
 * limit, a task not found, Redis away or failing, a conditional GET, a tenant, an extension, another version); a
 * JSON-RPC body the front door read goes with it (`req.body`, which the body reader takes as read).
 * `test/integration/front-door.test.ts` sends every kind of request both ways and compares the answers, on SQLite
 * and on Redis.
 */
export function frontDoor(deps: FrontDoorDeps): FrontDoor {
  const { app, authenticator, authThrottle, limiter, accessLog, answers, securityHeaders, shared } = deps;
  const maxBody = Math.min(MAX_BODY_BYTES, deps.bodyLimitBytes);
  let answered = 0;

  const callerOf = (req: IncomingMessage): Caller | undefined => {
    const headers = req.headers;
    if (headers['a2a-version'] !== '1.0' || headers['a2a-extensions'] !== undefined) return undefined;
    // The client's address is the socket's unless a proxy names another, which only the app works out (TRUST_PROXY).
    const proxied = headers['x-forwarded-for'] !== undefined;
    const ip = req.socket.remoteAddress;
    let throttleCheck: string | undefined;
    if (authThrottle?.enabled) {
      if (authThrottle.local) {
        if (proxied ? !authThrottle.nobodyThrottled() : authThrottle.mayBeThrottled({ ip })) return undefined;
      } else {
        // Counted in Redis: asked with the read, by address; behind a proxy only the app knows the address.
        if (!shared || proxied || ip === undefined) return undefined;
        throttleCheck = ip;
      }
    }
    const principal = authenticator.knownPrincipal({ header: (name) => headerOf(headers, name) });
    if (!principal) return undefined;
    // Without keys the limit counts per client address.
    if (principal.kind === 'anonymous' && proxied) return undefined;
    return { principal, rateKey: rateKeyOf(principal, ip), throttleCheck };
  };

  /** The stored task, answered and counted, or undefined when the app must answer (SQLite: synchronous). */
  const foundNow = (caller: Caller, taskId: string): Found | undefined => {
    if (!deps.readWireJson || limiter?.exhausted(caller.rateKey)) return undefined;
    const stored = deps.readWireJson(taskId, deps.scopeOf(caller.principal));
    if (stored === undefined) return undefined;
    return { answer: answers.answerFor(taskId, stored), hit: limiter?.take(caller.rateKey) };
  };

  /**
   * {@link foundNow} on a store that must wait (Redis), undefined also when Redis is away or fails. The throttle,
   * the read and the count go to Redis together (one trip, auto-pipelined); a request handed to the app then
   * carries its count (`countedBefore`), which the app's limit takes instead of counting it again. (An address
   * found throttled has its request counted, which the app alone would not have done: it is refused either way.)
   */
  const foundLater = async (
    req: IncomingMessage,
    caller: Caller,
    taskId: string,
  ): Promise<Found | undefined> => {
    if (!shared?.ready() || limiter?.exhausted(caller.rateKey)) return undefined;
    const ip = caller.throttleCheck;
    const counting = shared.limiter?.take(caller.rateKey);
    counting?.then(
      (hit) => countedBefore.set(req, hit),
      () => undefined,
    );
    const [throttled, stored, counted] = await Promise.all([
      ip !== undefined && authThrottle ? authThrottle.retryAfter({ ip }) : undefined,
      shared.loadWireJson(taskId, deps.scopeOf(caller.principal)),
      counting,
    ]);
    if (throttled !== undefined || stored === undefined || counted?.refused) return undefined;
    countedBefore.delete(req);
    return { answer: answers.answerFor(taskId, stored), hit: counted ?? limiter?.take(caller.rateKey) };
  };

  /** Answers with what was found, or hands the request to the app; on Redis once the reads are back. */
  const answerOr = (
    req: IncomingMessage,
    caller: Caller,
    taskId: string,
    toApp: () => void,
    reply: (found: Found) => void,
  ): void => {
    if (!shared) {
      const found = foundNow(caller, taskId);
      if (found) reply(found);
      else toApp();
      return;
    }
    foundLater(req, caller, taskId).then(
      (found) => (found ? reply(found) : toApp()),
      () => toApp(),
    );
  };

  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    started: bigint,
    reply: {
      shape: RequestShape;
      taskId: string;
      contentType: string;
      key: string;
      body: string;
      found: Found;
    },
  ): void => {
    const trace = traceContextFor(headerOf(req.headers, 'traceparent'));
    res.statusCode = 200;
    res.setHeader('traceresponse', traceparentOf(trace));
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    const hit = reply.found.hit;
    if (hit) {
      res.setHeader('RateLimit', hit.rateLimit);
      res.setHeader('RateLimit-Policy', hit.policy);
    }
    res.setHeader('Content-Type', reply.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(reply.body));
    const etag = etagFor(app.get('etag fn'), reply.found.answer, reply.key, reply.body);
    if (etag) res.setHeader('ETag', etag);
    res.end(reply.body);
    answered += 1;
    accessLog.answered({
      method: req.method ?? 'GET',
      shape: { ...reply.shape, taskId: reply.taskId.slice(0, 128) },
      status: 200,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      keyId: caller.principal.kind === 'anonymous' ? undefined : caller.principal.id,
      traceId: trace.traceId,
    });
  };

  const restRead = (req: IncomingMessage, res: ServerResponse, started: bigint): boolean => {
    const headers = req.headers;
    // A conditional GET may be answered 304 by the app's freshness check.
    if (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) return false;
    const url = req.url ?? '';
    const taskId = plainRestGet(headerOf(headers, 'content-type'), url, url);
    if (taskId === undefined) return false;
    const caller = callerOf(req);
    if (!caller) return false;
    if (!shared) {
      // Known now: a request the front door does not answer goes to the app from the listener.
      const found = foundNow(caller, taskId);
      if (!found) return false;
      restReply(req, res, caller, started, taskId, found);
      return true;
    }
    answerOr(
      req,
      caller,
      taskId,
      () => {
        app(req, res);
      },
      (found) => restReply(req, res, caller, started, taskId, found),
    );
    return true;
  };

  const restReply = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Caller,
    started: bigint,
    taskId: string,
    found: Found,
  ): void =>
    respond(req, res, caller, started, {
      shape: REST_SHAPE,
      taskId,
      contentType: 'application/a2a+json; charset=utf-8',
      key: '',
      body: found.answer.json,
      found,
    });

  /** Reads a small JSON-RPC body, then answers it or hands it to the app with the body read. */
  const jsonRpcCall = (req: IncomingMessage, res: ServerResponse, started: bigint): boolean => {
    const headers = req.headers;
    const length = Number(headers['content-length']);
    if (!(length > 0 && length <= maxBody) || headers['transfer-encoding'] !== undefined) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const type = headerOf(headers, 'content-type');
    if (type !== undefined && type.split(';', 1)[0]?.trim().toLowerCase() !== 'application/json')
      return false;
    const caller = callerOf(req);
    if (!caller) return false;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      let call: ReturnType<typeof plainJsonRpcGet>;
      try {
        call = plainJsonRpcGet(type, JSON.parse(raw.toString('utf8')));
      } catch {
        call = undefined;
      }
      const toApp = (): void => {
        // The app's body reader takes a Buffer body as the request's, read.
        (req as IncomingMessage & { body?: unknown }).body = raw;
        app(req, res);
      };
      if (!call) {
        toApp();
        return;
      }
      const { taskId, rpcId } = call;
      answerOr(req, caller, taskId, toApp, (found) => {
        const id = JSON.stringify(rpcId);
        respond(req, res, caller, started, {
          shape: JSON_RPC_SHAPE,
          taskId,
          contentType: 'application/json; charset=utf-8',
          key: id,
          body: `{"jsonrpc":"2.0","id":${id},"result":${found.answer.json}}`,
          found,
        });
      });
    });
    return true;
  };

  const listener: RequestListener = (req, res) => {
    if (app.enabled(FRONT_DOOR_SETTING)) {
      const started = process.hrtime.bigint();
      const taken =
        req.method === 'GET'
          ? restRead(req, res, started)
          : req.method === 'POST' && req.url === '/' && jsonRpcCall(req, res, started);
      if (taken) return;
    }
    app(req, res);
  };
  return Object.assign(listener, { answeredCount: () => answered });
}

/** The front door's request listener, and how many requests it answered itself. */
export type FrontDoor = RequestListener & { answeredCount(): number };
