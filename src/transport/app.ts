import type { RequestListener } from 'node:http';
import { RedisUnavailableError } from '../queue/redis-errors.js';
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { AgentCard } from '@a2a-js/sdk';
import {
  defaultServerCallContextBuilder,
  type A2ARequestHandler,
  type ServerCallContextBuilder,
} from '@a2a-js/sdk/server';
import { jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import type { Authenticator, Principal } from './auth.js';
import type { AuthThrottle } from './auth-throttle.js';
import {
  fixedSecurityHeaders,
  RATE_WINDOW_MS,
  redisRateStore,
  requestRateLimit,
  requireAuth,
  redisUnavailable,
  securityHeaders,
  userBuilder,
  type RateLimitOptions,
} from './security.js';
import type { Logger } from '../observability/logger.js';
import type { AccessLog } from '../observability/access-log.js';
import type { HealthReporter } from '../observability/health.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { TaskQueue } from '../queue/task-queue.js';
import type { GatewayTaskStore, StoreScope } from '../stores/types.js';
import {
  bodyReader,
  clientFaultStatus,
  negotiateVersion,
  refuseUnsupportedJsonRpcVersion,
  restError,
  wellFormedPath,
} from './body.js';
import { requestShape } from './request-shape.js';
import { cardRoute } from './card-route.js';
import { restMediaTypes } from './rest-media.js';
import { sseHeartbeat } from './heartbeat.js';
import type { SseStreams } from './sse-streams.js';
import { legacyV01Handler } from './legacy-v01.js';
import { AnswerCache, directReads } from './direct-reads.js';
import { directStreams, type DirectStreamsDeps } from './direct-streams.js';
import { FRONT_DOOR_SETTING, frontDoor } from './front-door.js';
import { MemoryRateLimiter, StoreRateLimiter } from './memory-rate-limit.js';
import { HOT_LANE_SETTING, hotLane } from './hot-lane.js';
import { forPossibleStreams } from './unary-calls.js';
import { TRANSPORT_STATE_KEY } from './request-handler.js';
import { dashboardAssets } from '../dashboard/assets.js';
import { dashboardApi, type DashboardApiDeps } from './dashboard-api.js';

export interface AppDeps {
  requestHandler: A2ARequestHandler;
  store: GatewayTaskStore;
  scheduler: TaskQueue;
  logger: Logger;
  health: HealthReporter;
  /** One line per request, trace context, HTTP metrics. */
  accessLog: AccessLog;
  /** Served at `/metrics` (behind the key) when given; absent when metrics are off or on a port of their own. */
  metrics?: GatewayMetrics;
  /** Builds the agent card for a public base URL. */
  cardFor: (baseUrl: string) => AgentCard;
  publicUrl: string | undefined;
  /** The card layout for a request that names no A2A version. */
  cardDefaultVersion: '0.3' | '1.0';
  trustProxy: string;
  bodyLimitBytes: number;
  /** The public keys push deliveries are signed with (served at /.well-known/jwks.json). */
  jwks: () => unknown;
  /** SSE comment heartbeat on event streams, in ms (0: none). */
  sseHeartbeatMs: number;
  /** Gives stream events their ids and tells the handler a client's Last-Event-ID. */
  sseStreams: SseStreams;
  /** The tasks' event logs: plain 1.0 subscribes are streamed from them directly (see direct-streams.ts). */
  eventLog?: DirectStreamsDeps['log'];
  /** Unsent bytes a directly streamed subscriber may have before it is cut off. */
  sseMaxBufferedBytes?: number;
  authenticator: Authenticator;
  /** Counts failed authentications per client address; an address over the limit gets 429. */
  authThrottle?: AuthThrottle;
  corsOrigins: readonly string[];
  rateLimit: RateLimitOptions;
  /** The dashboard's read API (its list and live feed); its page and code are served without it. */
  dashboard: Pick<DashboardApiDeps, 'watchEvents' | 'backends'>;
  /** A worker node (`serve --role worker`): health, readiness and metrics only, no A2A API. */
  workerOnly?: boolean;
  /** The connection of the shared stores (tasks on Redis): while it is down, A2A calls are refused at once. */
  sharedRedis?: { readonly status: string };
  /** The store scope of a caller on the default tenant (as the store's scope resolver has it): the front door's. */
  scopeOf?: (principal: Principal) => StoreScope;
}

/** The request listener of each app: its front door, where it has one (see {@link requestListenerOf}). */
const listeners = new WeakMap<Express, RequestListener>();

/**
 * What to hand `http.createServer` for an app made by {@link createApp}: its front door (front-door.ts) when the
 * settings allow one, else the app itself.
 */
export function requestListenerOf(app: Express): RequestListener {
  return listeners.get(app) ?? app;
}

function contextBuilderFor(transport: 'jsonrpc' | 'rest'): ServerCallContextBuilder {
  return (opts) => {
    const context = defaultServerCallContextBuilder(opts);
    context.state.set(TRANSPORT_STATE_KEY, transport);
    return context;
  };
}

/** Express's trust-proxy setting from `TRUST_PROXY`: true/false, a hop count, or address names (loopback, ...). */
function trustProxySetting(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

function healthRoutes(app: Express, deps: AppDeps): void {
  app.get('/health', async (req, res) => {
    // The detailed form names versions and dependencies: with keys configured, only a caller with a key sees it.
    let detailed = req.query.detailed === 'true' || req.query.detailed === '1';
    if (detailed && deps.authenticator.enabled) detailed = (await deps.authenticator.authenticate(req)).ok;
    const { httpStatus, body } = await deps.health.report(detailed);
    res.status(httpStatus).json(body);
  });
  app.get('/ready', async (_req, res) => {
    const { ready, store, shuttingDown, redis } = await deps.health.readiness();
    res
      .status(ready ? 200 : 503)
      .json({ ready, store, shutting_down: shuttingDown, ...(redis !== undefined ? { redis } : {}) });
  });
}

/** The Prometheus exposition, for a route on the main app or a listener of its own. */
export function metricsHandler(metrics: GatewayMetrics): express.RequestHandler {
  return (_req, res, next) => {
    metrics.exposition().then(({ contentType, body }) => {
      res.setHeader('Content-Type', contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    }, next);
  };
}

/** The A2A handlers and what sits just before them, then the 404: the end of every request's way. */
function a2aRoutes(deps: AppDeps): express.Router {
  const router = express.Router();
  // Refuse a send up front when the queue is full, so REST callers get 429 with Retry-After.
  router.post(/^\/(?:v1\/)?(?:[^/]+\/)?message:(?:send|stream)$/, (_req, res, next) => {
    if (!deps.scheduler.isFull()) {
      next();
      return;
    }
    const retry = deps.scheduler.retryAfterSec();
    res.locals.refusal = 'queue_full';
    res.setHeader('Retry-After', String(retry));
    restError(res, 429, 'RESOURCE_EXHAUSTED', `the task queue is full; retry in ${retry} s`);
  });

  router.use(
    dashboardApi({
      ...deps.dashboard,
      requestHandler: deps.requestHandler,
      stats: () => deps.scheduler.stats(),
      logger: deps.logger,
    }),
  );
  router.post('/', legacyV01Handler({ requestHandler: deps.requestHandler, userBuilder }));
  router.post('/', refuseUnsupportedJsonRpcVersion);
  router.use(
    '/',
    jsonRpcHandler({
      requestHandler: deps.requestHandler,
      userBuilder,
      legacyCompat: { enabled: true },
      contextBuilder: contextBuilderFor('jsonrpc'),
    }),
  );
  router.use(
    '/',
    restHandler({
      requestHandler: deps.requestHandler,
      userBuilder,
      legacyCompat: { enabled: true },
      contextBuilder: contextBuilderFor('rest'),
    }),
  );
  router.use((req, res) => {
    restError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });
  return router;
}

function errorHandler(logger: Logger): express.ErrorRequestHandler {
  return (err: unknown, req: Request, res: express.Response, _next: express.NextFunction) => {
    const clientFault = clientFaultStatus(err);
    if (clientFault !== undefined) {
      logger.info({ path: req.path, status: clientFault, reason: (err as Error).message }, 'bad request');
      if (!res.headersSent) restError(res, clientFault, 'INVALID_ARGUMENT', (err as Error).message);
      else res.end();
      return;
    }
    logger.error({ err, path: req.path }, 'unhandled error');
    if (res.headersSent) {
      res.end();
      return;
    }
    restError(res, 500, 'INTERNAL', 'internal error');
  };
}

/**
 * The HTTP surface: health, agent cards, and the A2A bindings (JSON-RPC at `/`, HTTP+JSON beside it), each at
 * 1.0 and 0.3, plus the 0.1 methods of the original brief. Bodies are read once here with the configured limit.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting(deps.trustProxy));

  // Built once and used twice: by the router, and in the same order by the hot lane (see hot-lane.ts).
  const front: RequestHandler[] = [
    deps.accessLog.middleware(),
    (_req, res, next) => {
      res.setHeader('X-Content-Type-Options', 'nosniff');
      next();
    },
    ...securityHeaders(deps.corsOrigins),
    wellFormedPath,
  ];
  const auth = requireAuth(deps.authenticator, deps.logger, deps.authThrottle);
  if (deps.workerOnly) {
    // A worker node runs tasks from the queue: health, readiness and metrics, nothing a caller could send.
    app.use(front);
    healthRoutes(app, deps);
    app.use(auth);
    if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));
    app.use((_req, res) => {
      res.status(404).json({
        error:
          'this is a worker node (serve --role worker): it runs tasks and serves /health, /ready and /metrics only; send A2A requests to an API node',
      });
    });
    return app;
  }
  const shared = deps.sharedRedis;
  const limited = deps.rateLimit.perMinute > 0;
  // In one process the request limit is counted here, by the middleware and the front door alike.
  const limiter =
    limited && !deps.rateLimit.redis
      ? new MemoryRateLimiter(deps.rateLimit.perMinute, RATE_WINDOW_MS)
      : undefined;
  // With Redis the count is there, one limiter for the middleware and the front door.
  const rateRedis = limited ? deps.rateLimit.redis : undefined;
  const sharedRate = rateRedis
    ? new StoreRateLimiter(
        deps.rateLimit.perMinute,
        RATE_WINDOW_MS,
        redisRateStore(rateRedis, deps.rateLimit.redisPrefix),
      )
    : undefined;
  const answers = new AnswerCache();
  const guarded: RequestHandler[] = [
    ...(limited ? [requestRateLimit(deps.rateLimit, limiter, sharedRate)] : []),
    ...(shared
      ? [
          ((req, res, next) => {
            if (shared.status === 'ready') {
              next();
              return;
            }
            redisUnavailable(req, res, new RedisUnavailableError(`connection ${shared.status}`).message);
          }) satisfies RequestHandler,
        ]
      : []),
    ...bodyReader(deps.bodyLimitBytes),
    forPossibleStreams(sseHeartbeat(deps.sseHeartbeatMs)),
    forPossibleStreams(deps.sseStreams.middleware()),
    negotiateVersion,
    requestShape,
    restMediaTypes,
    // Plain GetTask reads are answered here; everything else goes on (see direct-reads.ts).
    directReads({
      store: deps.store,
      answers,
      jsonRpcContext: contextBuilderFor('jsonrpc'),
      restContext: contextBuilderFor('rest'),
    }),
    // Plain 1.0 subscribes, each event serialized once for all its subscribers (embedded stores only).
    ...(deps.eventLog && !shared
      ? [
          directStreams({
            requestHandler: deps.requestHandler,
            log: deps.eventLog,
            jsonRpcContext: contextBuilderFor('jsonrpc'),
            restContext: contextBuilderFor('rest'),
            ...(deps.sseMaxBufferedBytes !== undefined ? { maxBufferedBytes: deps.sseMaxBufferedBytes } : {}),
          }),
        ]
      : []),
  ];
  const tail = a2aRoutes(deps);
  const onError = errorHandler(deps.logger);

  // JSON-RPC calls and REST task reads skip the router's walk; app.disable(HOT_LANE_SETTING) turns that off.
  app.enable(HOT_LANE_SETTING);
  app.use(hotLane({ handlers: [...front, auth, ...guarded], tail, onError }));

  app.use(front);
  healthRoutes(app, deps);
  app.get('/.well-known/jwks.json', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(deps.jwks());
  });
  // agent-card.json follows the A2A-Version header (AGENT_CARD_DEFAULT_VERSION when there is none); agent.json,
  // the 0.1/0.2 path, always answers in the 0.3 layout.
  const cards = { cardFor: deps.cardFor, publicUrl: deps.publicUrl, defaultVersion: deps.cardDefaultVersion };
  app.use('/.well-known/agent-card.json', cardRoute(cards));
  app.use('/.well-known/agent.json', cardRoute({ ...cards, fixedVersion: '0.3' }));

  // The dashboard's page and code are public (they hold no data); `/` and `/dashboard` send a browser there.
  app.use(dashboardAssets());

  // Every route below needs a key once keys exist (the router walk in the security tests checks each one).
  app.use(auth);
  // Scrapes are not counted against the rate limit.
  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));
  app.use(guarded);
  app.use(tail);
  app.use(onError);

  // Plain GetTask before Express: on SQLite in one turn of the event loop (limits and throttle in this process), on
  // Redis once its reads are back; never with CORS (its headers depend on the request). app.disable(FRONT_DOOR_SETTING)
  // turns it off.
  const readWireJson = deps.store.readWireJson?.bind(deps.store);
  const loadWireJsonIn = deps.store.loadWireJsonIn?.bind(deps.store);
  const security = fixedSecurityHeaders();
  const throttle = deps.authThrottle;
  // Embedded: everything it needs answers at once. On Redis: the read, the count and the throttle are asked there.
  const embedded = Boolean(
    readWireJson && !shared && (!limited || limiter) && (!throttle?.enabled || throttle.local),
  );
  const onRedis = Boolean(shared && loadWireJsonIn && (!limited || limiter || sharedRate));
  if (deps.scopeOf && security && deps.corsOrigins.length === 0 && (embedded || onRedis)) {
    app.enable(FRONT_DOOR_SETTING);
    listeners.set(
      app,
      frontDoor({
        app,
        authenticator: deps.authenticator,
        authThrottle: throttle,
        limiter,
        ...(embedded && readWireJson ? { readWireJson } : {}),
        ...(!embedded && shared && loadWireJsonIn
          ? {
              shared: {
                loadWireJson: loadWireJsonIn,
                limiter: sharedRate,
                ready: () => shared.status === 'ready',
              },
            }
          : {}),
        scopeOf: deps.scopeOf,
        accessLog: deps.accessLog,
        answers,
        securityHeaders: security,
        bodyLimitBytes: deps.bodyLimitBytes,
      }),
    );
  }
  return app;
}
