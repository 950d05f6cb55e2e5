import express, { type Request, type RequestHandler, type Response } from 'express';
import cors from 'cors';
import helmet from 'helmet';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';
import type { RefusalReason } from '../observability/metrics.js';
import { ANONYMOUS, GatewayUser, type Authenticator, type AuthResult, type Principal } from './auth.js';
import type { AuthThrottle } from './auth-throttle.js';
import { jsonRpcError, restError } from './body.js';
import { RedisRateStore } from './redis-rate-store.js';
import {
  memoryRateLimit,
  storeRateLimit,
  StoreRateLimiter,
  type MemoryRateLimiter,
} from './memory-rate-limit.js';
import { REDIS_RETRY_AFTER_SEC, WIRE } from './wire-errors.js';
import { isRedisDown, redisUnavailableOf } from './redis-guard.js';

/** Paths anyone may read: probes and the public agent card. Everything else needs a key once keys exist. */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/health',
  '/ready',
  '/.well-known/agent-card.json',
  '/.well-known/agent.json',
  '/.well-known/jwks.json',
]);

const principals = new WeakMap<Request, Principal>();

/** The caller of a request, as the auth middleware established it (anonymous when auth is off). */
export function principalOfRequest(req: Request): Principal {
  return principals.get(req) ?? ANONYMOUS;
}

/** The SDK's user builder: the principal wrapped as a `User`, so task ownership follows the key. */
export const userBuilder = (req: Request): Promise<GatewayUser> =>
  Promise.resolve(new GatewayUser(principalOfRequest(req)));

/** The headers a middleware that only sets and removes fixed headers sets and removes, in its order. */
interface FixedHeaders {
  set: Array<[string, HeaderValue]>;
  removed: string[];
}

/** Runs the middleware once against a recorder: its fixed headers, or undefined if it does more than that. */
function recordHeaders(middleware: RequestHandler): FixedHeaders | undefined {
  const recorded: FixedHeaders = { set: [], removed: [] };
  let passed = false;
  const recorder = {
    setHeader: (name: string, value: HeaderValue) => recorded.set.push([name, value]),
    removeHeader: (name: string) => recorded.removed.push(name),
  };
  void middleware({ headers: {} } as Request, recorder as unknown as Response, (err?: unknown) => {
    passed = err === undefined;
  });
  // Anything but a synchronous pass with headers only: use the middleware itself.
  return passed ? recorded : undefined;
}

/**
 * A middleware that only sets and removes fixed headers (helmet's, with static directives), replayed from one run
 * at start-up: helmet rebuilds its Content-Security-Policy value and walks a dozen middlewares on every request.
 */
function fixedHeaders(middleware: RequestHandler): RequestHandler {
  const recorded = recordHeaders(middleware);
  if (!recorded) return middleware;
  const { set, removed } = recorded;
  return (_req, res, next) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

function helmetHeaders(): RequestHandler {
  return helmet({ crossOriginResourcePolicy: { policy: 'same-site' } });
}

/**
 * The security headers every response gets (`X-Content-Type-Options` and helmet's), as name and value pairs, for
 * code that answers a fresh response without the middlewares (front-door.ts; what helmet removes is never set
 * there); undefined if they are not fixed.
 */
export function fixedSecurityHeaders(): ReadonlyArray<readonly [string, HeaderValue]> | undefined {
  const recorded = recordHeaders(helmetHeaders());
  return recorded ? [['X-Content-Type-Options', 'nosniff'], ...recorded.set] : undefined;
}

type HeaderValue = string | number | readonly string[];

/** Standard security headers (helmet) on every response, and CORS only for the configured origins. */
export function securityHeaders(corsOrigins: readonly string[]): RequestHandler[] {
  const handlers: RequestHandler[] = [fixedHeaders(helmetHeaders())];
  if (corsOrigins.length > 0) {
    handlers.push(
      cors({
        origin: [...corsOrigins],
        methods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowedHeaders: [
          'Content-Type',
          'Authorization',
          'X-API-Key',
          'A2A-Version',
          'A2A-Extensions',
          'Last-Event-ID',
        ],
        exposedHeaders: ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'A2A-Extensions'],
        maxAge: 600,
      }),
    );
  }
  return handlers;
}

/** Most of a refused caller's body read to find its JSON-RPC id: enough for any real request's envelope. */
const REFUSED_BODY_LIMIT = 64 * 1024;
const readRefusedBody = express.raw({ type: () => true, limit: REFUSED_BODY_LIMIT });

/**
 * The JSON-RPC id of a request refused before its body was read, so the error answers the right call; null when
 * the body is too large, not JSON, or has no usable id.
 */
function jsonRpcIdOf(req: Request, res: Response): Promise<string | number | null> {
  const idOf = (body: unknown): string | number | null => {
    const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
    return typeof id === 'string' || typeof id === 'number' ? id : null;
  };
  const parsedIdOf = (raw: Buffer): string | number | null => {
    try {
      return idOf(JSON.parse(raw.toString('utf8')));
    } catch {
      return null;
    }
  };
  // Read already: by the front door (a Buffer), or parsed by the body reader.
  if (Buffer.isBuffer(req.body)) return Promise.resolve(parsedIdOf(req.body));
  if (req.body !== undefined) return Promise.resolve(idOf(req.body));
  return new Promise((resolve) => {
    readRefusedBody(req, res, (err?: unknown) => {
      resolve(err || !Buffer.isBuffer(req.body) ? null : parsedIdOf(req.body));
    });
  });
}

/**
 * Requires a valid key on every path but the public ones, once keys (or JWT) are configured. A refused request
 * gets 401 with a JSON body (a JSON-RPC error on `POST /`) and never reaches the A2A handlers. With a throttle,
 * each failure counts against the client's address, and an address over the limit gets 429 with Retry-After.
 */
export function requireAuth(auth: Authenticator, logger: Logger, throttle?: AuthThrottle): RequestHandler {
  const authenticate = async (req: Request, res: Response): Promise<AuthResult | undefined> => {
    const wait = await throttle?.retryAfter(req);
    if (wait !== undefined) {
      logger.warn(
        { path: req.path, method: req.method, ip: req.ip },
        'request refused: too many failed authentications',
      );
      const message = `too many failed authentications from this address; retry in ${wait} s`;
      // An authentication refusal, not the request rate limiter's 429 (what the status alone would say).
      (res.locals as { refusal?: RefusalReason }).refusal = 'auth';
      res.setHeader('Retry-After', String(wait));
      if (req.path === '/' && req.method === 'POST') {
        const id = await jsonRpcIdOf(req, res);
        res.status(WIRE.busy.http).json({
          jsonrpc: '2.0',
          id,
          error: {
            code: WIRE.busy.code,
            message,
            data: { reason: 'AUTH_THROTTLED', retryAfterSeconds: wait },
          },
        });
      } else restError(res, WIRE.busy.http, 'RESOURCE_EXHAUSTED', message);
      return undefined;
    }
    const result = await auth.authenticate(req);
    if (!result.ok) await throttle?.failed(req);
    return result;
  };
  return (req, res, next) => {
    if (!auth.enabled || (PUBLIC_PATHS.has(req.path) && req.method !== 'POST')) {
      next();
      return;
    }
    authenticate(req, res).then(
      (result) => {
        if (!result) return;
        if (result.ok) {
          principals.set(req, result.principal);
          next();
          return;
        }
        logger.info(
          { path: req.path, method: req.method, ip: req.ip },
          `unauthenticated request refused: ${result.reason}`,
        );
        res.setHeader('WWW-Authenticate', 'Bearer realm="a2a-gateway", charset="UTF-8"');
        if (req.path === '/' && req.method === 'POST') {
          void jsonRpcIdOf(req, res).then((id) =>
            jsonRpcError(
              res,
              WIRE.unauthenticated.http,
              WIRE.unauthenticated.code,
              `Unauthorized: ${result.reason}`,
              id,
            ),
          );
        } else restError(res, WIRE.unauthenticated.http, 'UNAUTHENTICATED', result.reason);
      },
      (err: unknown) => next(err),
    );
  };
}

/** The request limit's window: `RATE_LIMIT_PER_MINUTE` counts over one minute. */
export const RATE_WINDOW_MS = 60_000;
/** Where the request counts live under REDIS_KEY_PREFIX. */
export const RATE_KEY_PREFIX = 'rl:';

/** The request rate limit's key of a caller: its key's id, or its address (IPv6 by /56) without keys. */
export function rateKeyOf(principal: Principal, ip: string | undefined): string {
  return principal.kind === 'anonymous' ? `ip:${ipKeyGenerator(ip ?? '')}` : `key:${principal.id}`;
}

export interface RateLimitOptions {
  perMinute: number;
  redis?: Redis;
  redisPrefix: string;
}

/**
 * Per key (or per client address without keys) request limit over a one-minute window. With Redis the count is
 * shared by every gateway process on it. Over the limit: 429 with `Retry-After`, and a JSON-RPC error body on
 * the JSON-RPC endpoint. With Redis away the count cannot be kept: 503 naming Redis, at once, until it is back.
 */
export function requestRateLimit(
  opts: RateLimitOptions,
  memoryLimiter?: MemoryRateLimiter,
  sharedLimiter?: StoreRateLimiter,
): RequestHandler {
  const redis = opts.redis;
  const skip = (req: Request): boolean => PUBLIC_PATHS.has(req.path) && req.method !== 'POST';
  const keyOf = (req: Request): string => rateKeyOf(principalOfRequest(req), req.ip);
  const refuse = (req: Request, res: Response): void => {
    const retry = res.getHeader('Retry-After') ?? '60';
    const message = `rate limit exceeded: at most ${opts.perMinute} requests a minute; retry in ${String(retry)} s`;
    if (req.path === '/' && req.method === 'POST') {
      res.status(WIRE.busy.http).json({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: WIRE.busy.code,
          message,
          data: { reason: 'RATE_LIMITED', retryAfterSeconds: Number(retry) },
        },
      });
    } else {
      restError(res, WIRE.busy.http, 'RESOURCE_EXHAUSTED', message);
    }
  };
  // In one process the count lives here, at a fraction of express-rate-limit's cost per request (same answers).
  if (!redis)
    return memoryRateLimit(
      { limit: opts.perMinute, windowMs: RATE_WINDOW_MS, skip, keyOf, refuse },
      memoryLimiter,
    );
  // Counted in Redis, shared with the front door when it counts there too (same keys, windows and headers).
  const limiter =
    sharedLimiter ??
    new StoreRateLimiter(opts.perMinute, RATE_WINDOW_MS, redisRateStore(redis, opts.redisPrefix));
  return storeRateLimit(
    {
      skip,
      keyOf,
      refuse,
      // The store failed: with Redis away that is Redis's doing, told as such (not a 500).
      onStoreError: (err, req, res, next) => {
        if (isRedisDown(err) || redis.status !== 'ready') {
          redisUnavailable(req, res, redisUnavailableOf(err, redis.status).message);
          return;
        }
        next(err);
      },
    },
    limiter,
  );
}

/** The request counts' store in Redis (under `<prefix>rl:`), its scripts loading. */
export function redisRateStore(redis: Redis, prefix: string): RedisRateStore {
  const store = new RedisRateStore(redis, `${prefix}${RATE_KEY_PREFIX}`);
  void store.init({ windowMs: RATE_WINDOW_MS } as Parameters<RedisRateStore['init']>[0]);
  return store;
}

/** 503 naming Redis: a JSON-RPC error on the JSON-RPC endpoint, a REST error elsewhere, with `Retry-After`. */
export function redisUnavailable(req: Request, res: Response, message: string): void {
  res.locals.refusal = 'redis_unavailable';
  res.setHeader('Retry-After', String(REDIS_RETRY_AFTER_SEC));
  if (req.path === '/' && req.method === 'POST') {
    // The error answers the call it refuses: its id, read from the body (up to 64 KB) when it can be.
    void jsonRpcIdOf(req, res).then((id) =>
      res.status(WIRE.unavailable.http).json({
        jsonrpc: '2.0',
        id,
        error: {
          code: WIRE.unavailable.code,
          message,
          data: { reason: 'REDIS_UNAVAILABLE', retryAfterSeconds: REDIS_RETRY_AFTER_SEC },
        },
      }),
    );
  } else {
    restError(res, WIRE.unavailable.http, 'UNAVAILABLE', message);
  }
}
