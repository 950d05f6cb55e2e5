import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DefaultRequestHandler, ServerCallContext } from '@a2a-js/sdk/server';
import { Redis } from 'ioredis';
import { createBackends } from './agents/registry.js';
import { USAGE_LIMIT_DEFAULT_WAIT_MS, UsageLimits } from './agents/usage-limit.js';
import type { GatewayConfig } from './config/load.js';
import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from './observability/logger.js';
import {
  checkWebhookRegistration,
  GatewayPushSender,
  MemoryPushConfigStore,
  PushDispatcher,
  PushSigner,
  slackNotifier,
  SqlitePushConfigStore,
} from './push/index.js';
import { ProcessRegistry } from './runner/registry.js';
import { resolveLimits } from './runner/limits.js';
import { Containment } from './runner/containment.js';
import { createTaskRunner } from './runner/task-runner.js';
import { Sandboxes, sandboxPolicy } from './runner/sandbox.js';
import type { ProcessRunner } from './runner/types.js';
import { SecretRedactor } from './observability/redact.js';
import { runDetached } from './service/detached-run.js';
import { failTask, markNode, settleUnfinished } from './service/recovery.js';
import { BullMqQueue, type OrphanedJob, type RemoteRunner } from './queue/bullmq-queue.js';
import type { RunEvent } from './run/run-events.js';
import { RunAbort } from './agents/types.js';
import { TaskState } from '@a2a-js/sdk';
import { isTerminal } from './stores/states.js';
import { waitForReady } from './stores/redis-ready.js';
import { randomUUID } from 'node:crypto';
import { QuestionRelay, relayedQuestion } from './queue/question-relay.js';
import { RedisTaskStore } from './stores/redis-task-store.js';
import { REDIS_COMMAND_TIMEOUT_MS, STORE_CONNECTION } from './stores/redis-connection.js';
import { RedisEventStore } from './stores/redis-event-store.js';
import { RedisConversationStore } from './stores/redis-conversation-store.js';
import { RedisPushConfigStore } from './push/redis-store.js';
import type { A2ARequestHandler } from '@a2a-js/sdk/server';
import type { ConversationStore, PushConfigStore, TaskEventStore } from './stores/types.js';
import { MemoryJobStore, type JobStore } from './queue/job-store.js';
import { SqliteJobStore } from './queue/sqlite-job-store.js';
import type { TaskJob } from './queue/job.js';
import { Conversations } from './service/conversations.js';
import { Workspaces } from './service/workspaces.js';
import { GatewayExecutor } from './service/executor.js';
import { TaskRun } from './run/task-run.js';
import { InputRequests } from './service/input-required.js';
import { QuestionBoard } from './service/questions.js';
import { TaskPlanner } from './service/planner.js';
import { InProcessQueue } from './queue/in-process-queue.js';
import type { TaskQueue } from './queue/task-queue.js';
import { BUILTIN_SKILLS } from './skills/catalog.js';
import { findingsOfArtifacts } from './skills/findings.js';
import { WorkspaceError } from './workspace/errors.js';
import { requireRemote } from './workspace/push.js';
import { MemoryTaskStore } from './stores/memory-store.js';
import { openGatewayDatabase } from './stores/sqlite-database.js';
import { SqliteTaskStore } from './stores/sqlite-store.js';
import type { GatewayTaskStore, ScopeResolver, StoreScope } from './stores/types.js';
import { Authenticator, GatewayUser, mayUseSkill, principalOf, type Principal } from './transport/auth.js';
import { buildAgentCard } from './transport/agent-card.js';
import { createApp, requestListenerOf } from './transport/app.js';
import { principalOfRequest } from './transport/security.js';
import { diagnose } from './cli/doctor.js';
import { AccessLog } from './observability/access-log.js';
import { CachedProbe } from './observability/cached-probe.js';
import { HealthReporter } from './observability/health.js';
import { GatewayMetrics } from './observability/metrics.js';
import { serveMetrics, type MetricsServer } from './observability/metrics-server.js';
import { withTaskIdsLogged } from './observability/observed-handler.js';
import { RedisProbe } from './observability/redis-probe.js';
import { TaskMetrics } from './observability/task-metrics.js';
import { AuthThrottle } from './transport/auth-throttle.js';
import { backendStatuses } from './service/backend-status.js';
import { LoggingEventBusManager } from './events/event-bus.js';
import { TaskEventLog, toStreamResponse } from './events/task-event-log.js';
import { withEventLog } from './transport/event-stream.js';
import { SseStreams } from './transport/sse-streams.js';
import { startGrpcBinding, type GrpcBinding } from './transport/grpc.js';
import { withAdmission } from './transport/request-handler.js';
import { withRedisGuard } from './transport/redis-guard.js';
import { delegating } from './service/handler-delegate.js';
import { VERSION } from './version.js';

/** How long a task's save waits for Redis to come back before it fails (see RedisTaskStore's saveWaitMs). */
const REDIS_SAVE_WAIT_MS = 120_000;

export const INTERRUPTED_REASON = 'interrupted: gateway restarted';
export const SHUTDOWN_REASON = 'interrupted: the gateway shut down before the task finished';

export interface GatewayOptions {
  config: GatewayConfig;
  /** The environment children inherit from (through each backend's allowlist). */
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  logDestination?: DestinationStream;
}

export interface Gateway {
  readonly config: GatewayConfig;
  readonly logger: Logger;
  readonly store: GatewayTaskStore;
  /** The task queue (the in-process one here). */
  readonly scheduler: TaskQueue;
  /** Where tasks work (tests look for leftovers). */
  readonly workspaces: Workspaces;
  /** The Express app (for tests that walk its routes). */
  readonly app: Express;
  /** Listens on the configured host and port; resolves with the bound URL. */
  start(): Promise<string>;
  /** Where `/metrics` is served when it has a port of its own (METRICS_PORT), once started. */
  metricsUrl(): string | undefined;
  /** Drains running tasks (bounded by SHUTDOWN_TIMEOUT), records the rest, closes the server and the store. */
  stop(): Promise<void>;
}

/**
 * A cancel reaches the task's job wherever it runs: the node that took the task hears it through its executor,
 * any other node through the queue (after the SDK has checked the caller may cancel it).
 */
function withQueueCancel(inner: A2ARequestHandler, queue: Pick<TaskQueue, 'cancel'>): A2ARequestHandler {
  return delegating(inner, {
    cancelTask: async (p, c) => {
      const task = await inner.cancelTask(p, c);
      queue.cancel(task.id, 'canceled by request');
      return task;
    },
  });
}

/** The gateway's own secrets: never in a child's environment, whatever a backend's passEnv says. */
export const GATEWAY_SECRET_ENV = [
  'API_KEY',
  'API_KEYS_FILE',
  'REDIS_URL',
  'JWT_JWKS_URL',
  'SLACK_WEBHOOK_URL',
];

function withoutGatewaySecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of GATEWAY_SECRET_ENV) delete copy[name];
  return copy;
}

/** Secrets the gateway knows, so no log line, error message or artifact carries them. */
function knownSecrets(config: GatewayConfig, env: NodeJS.ProcessEnv): string[] {
  const secrets: string[] = [];
  if (env.API_KEY) secrets.push(env.API_KEY);
  const pw = /^[a-z]+:\/\/[^:@/]*:([^@/]+)@/i.exec(config.redis.url)?.[1];
  if (pw) secrets.push(pw);
  for (const [key, value] of Object.entries(env)) {
    if (value && /(^|_)(API_KEY|API_KEYS|TOKEN|SECRET|PASSWORD)$/i.test(key)) secrets.push(value);
  }
  return secrets;
}

/**
 * The composition root: builds the store, backends, scheduler, executor and HTTP app from one frozen config.
 * Reading this function top to bottom shows the whole data path.
 */
export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const redactor = new SecretRedactor(knownSecrets(config, env));
  const logger = createLogger({
    level: config.logLevel,
    redactor,
    ...(opts.logDestination ? { destination: opts.logDestination } : {}),
  });

  if (config.bindNotice) logger.warn(config.bindNotice);
  // A task belongs to the key that created it; another key is told "task not found"; admin keys see all.
  const scopeOf = (principal: Principal, tenant = ''): StoreScope => ({
    tenant,
    owner: principal.id,
    admin: principal.admin,
  });
  const scope: ScopeResolver = (ctx) => scopeOf(principalOf(ctx.user), ctx.tenant ?? '');
  const onRedis = config.store === 'redis';
  const role = config.role;
  const redis = config.redis.enabled
    ? // Rate-limit counts and failed-authentication counts: many requests' commands, one write a turn.
      new Redis(config.redis.url, {
        lazyConnect: false,
        maxRetriesPerRequest: 2,
        enableAutoPipelining: true,
        commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      })
    : undefined;
  redis?.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis error'));
  // The shared stores' connection fails a command at once while Redis is away (see STORE_CONNECTION).
  const shared = onRedis ? new Redis(config.redis.url, STORE_CONNECTION) : undefined;
  shared?.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis store connection error'));
  const prefix = config.redis.keyPrefix;
  // One embedded store serves three ports: tasks, their event streams and conversation bindings.
  // With SQLite, one connection to one file serves every SQLite store (tasks, events, conversations, jobs, push).
  // On Redis each port has its store there, shared by every node.
  const db = config.store === 'sqlite' ? openGatewayDatabase({ file: config.dbFile }) : undefined;
  const embedded = onRedis
    ? undefined
    : db
      ? new SqliteTaskStore({ db, scope })
      : new MemoryTaskStore({ scope });
  const redisStore = shared
    ? new RedisTaskStore({ redis: shared }, { prefix, scope, saveWaitMs: REDIS_SAVE_WAIT_MS })
    : undefined;
  const store: GatewayTaskStore = redisStore ?? (embedded as GatewayTaskStore);
  // A request's own reads (GetTask, ListTasks) fail at once while Redis is away; the run's reads and saves (the
  // executor, the SDK's result manager) wait for it.
  const requestStore: GatewayTaskStore = redisStore?.forRequests() ?? store;
  const eventStore: TaskEventStore = shared
    ? new RedisEventStore(
        { redis: shared },
        {
          prefix,
          finishedTtlMs: Math.max(config.retention.completedHours, config.retention.failedHours) * 3_600_000,
          writeWaitMs: REDIS_SAVE_WAIT_MS,
        },
      )
    : (embedded as TaskEventStore);
  const conversationStore: ConversationStore = shared
    ? new RedisConversationStore(
        { redis: shared },
        { prefix, sessionTtlMs: config.retention.failedHours * 3_600_000 },
      )
    : (embedded as ConversationStore);
  // Every task's events, numbered and kept with the tasks, so a stream can be resumed (Last-Event-ID).
  const eventLog = new TaskEventLog({ store: eventStore, logger }, { limit: config.taskEventLogLimit });
  // Acknowledged jobs are kept until their task ends: after a crash, the ones not started are still owed.
  // (On Redis the job in BullMQ is that record.)
  const jobs: JobStore = db ? new SqliteJobStore({ db }) : new MemoryJobStore();
  const recovery = { store, events: eventLog, jobs, logger };
  const owed = onRedis
    ? []
    : await settleUnfinished(recovery, {
        reason: INTERRUPTED_REASON,
        retryOnRestart: (skill) => config.skills[skill]?.retryOnRestart === true,
      });

  // Children run in their own sessions and outlive a crash; end what a previous process left running.
  const processes = new ProcessRegistry(join(config.dataDir, 'run'));
  const reaped = await processes.reapLeftovers(config.killGraceMs);
  if (reaped.length > 0) logger.warn({ reaped }, 'ended processes a previous gateway left running');

  const limits = await resolveLimits(config.taskLimits, env.PATH);
  // Everything a task starts ends with it: found at start-up, the strongest tier this machine allows.
  const containment = await Containment.detect(config.containment, env.PATH);
  logger.info({ containment: containment.report }, `process containment: ${containment.tier}`);
  // Each task's processes confined to its workspace and config home (bubblewrap), probed once here.
  const sandboxes = await Sandboxes.detect(
    config.sandbox.setting,
    Object.values(config.backends).flatMap((b) => ('sandbox' in b && b.sandbox ? [b.sandbox] : [])),
    sandboxPolicy(config, logger),
    env.PATH,
  );
  if (sandboxes.report.mode === 'off' && config.sandbox.setting === 'auto') logger.warn(sandboxes.describe());
  else logger.info({ sandbox: sandboxes.report }, sandboxes.describe());
  const runnerFor = (name: string): ProcessRunner => {
    const backend = config.backends[name];
    const sandbox = sandboxes.for(backend && 'sandbox' in backend ? backend.sandbox : undefined);
    return createTaskRunner({ registry: processes, limits, containment, sandbox });
  };
  const backends = createBackends(config.backends, {
    baseEnv: withoutGatewaySecrets(env),
    killGraceMs: config.killGraceMs,
    run: createTaskRunner({ registry: processes, limits, containment, sandbox: sandboxes.for(undefined) }),
    runFor: runnerFor,
  });
  const gitEnv = withoutGatewaySecrets(env);
  const planner = new TaskPlanner({
    config,
    skills: BUILTIN_SKILLS,
    // A follow-up that names a finding gets its request from the review task's result.
    findingsOf: async (taskId) => findingsOfArtifacts((await store.get(taskId))?.artifacts),
    // push / pull_request are refused before a task exists when the repository has no such remote.
    checkRemote: (workdir, remote) =>
      requireRemote(workdir, remote, { env: gitEnv }).then(
        () => undefined,
        (err: unknown) => (err instanceof WorkspaceError ? err.message : String(err)),
      ),
  });
  const conversations = new Conversations(config.dataDir, conversationStore);
  // Jobs taken, and the ends of orphaned jobs recorded, only once this node is put together (`wired()` below).
  let wired!: () => void;
  const wiring = new Promise<void>((resolve) => {
    wired = resolve;
  });
  // A worker node (and a node of role all on Redis) runs the jobs any node queued, with the protocol-free run.
  const runOnWorker: RemoteRunner = async (task, signal, emit) => {
    if (!task.job) throw new Error(`task ${task.taskId} came without its job`);
    // The queue's worker may take a job while this node is still being put together (jobs waited in Redis).
    await wiring;
    let end: RunEvent | undefined;
    const job = task.job;
    const result = await taskRun.run(job, {
      signal,
      sink: (event) => {
        if (event.type === 'finished') end = event;
        emit(event);
      },
      // A question goes to the API node that took the task, which asks the caller; the answer comes back here.
      askFor: (skill) =>
        config.skills[skill]?.permissions === 'ask' && questionRelay
          ? async (question, askSignal) => {
              const id = randomUUID();
              emit(relayedQuestion(id, question));
              return questionRelay.wait(job.taskId, id, config.inputTimeoutMs + 60_000, askSignal ?? signal);
            }
          : undefined,
    });
    if (!result.ended) throw new RunAbort('shutdown', SHUTDOWN_REASON);
    return end;
  };
  const questionRelay = shared ? new QuestionRelay({ redis: shared }, { prefix }) : undefined;
  const bull = onRedis
    ? new BullMqQueue(
        {
          logger,
          ...(role === 'api' ? {} : { runRemote: runOnWorker }),
          onOrphan: async (orphan) => {
            await wiring;
            await adoptOrphan(orphan);
          },
        },
        {
          url: config.redis.url,
          prefix: `${prefix}bull`,
          maxConcurrent: role === 'api' ? 0 : config.maxConcurrentTasks,
          maxQueued: config.maxQueuedTasks,
          stallTimeoutMs: config.workerStallTimeoutMs,
          nodeId: config.nodeId,
        },
      )
    : undefined;
  const scheduler: TaskQueue =
    bull ??
    new InProcessQueue({
      maxConcurrent: config.maxConcurrentTasks,
      maxQueued: config.maxQueuedTasks,
    });
  // Observability: metrics read the queue and the task event stream; every request gets one access-log line.
  const startedAt = Date.now();
  const redisProbe = redis ? new RedisProbe(redis) : undefined;
  const metrics = config.metrics.enabled
    ? new GatewayMetrics({
        queue: () => scheduler.stats(),
        startedAt,
        openStreams: (): number => accessLog.openStreams(),
        ...(redisProbe ? { redis: () => redisProbe.check() } : {}),
      })
    : undefined;
  const accessLog: AccessLog = new AccessLog({
    logger,
    metrics,
    keyOf: (req) => {
      const principal = principalOfRequest(req);
      return principal.kind === 'anonymous' ? undefined : principal.id;
    },
  });
  const workspaces = new Workspaces({
    dataDir: config.dataDir,
    git: { env: withoutGatewaySecrets(env) },
    logger,
    nonGit: config.workspace.nonGit,
    branchRetentionMs: config.workspace.branchRetentionHours * 3_600_000,
    repositories: config.repositories,
  });
  // Tasks a crashed gateway left are recorded as interrupted; so are their worktrees, which go now.
  await workspaces.recover();
  // Skills configured with `permissions: ask` may stop on a question; the task waits in input-required.
  const inputRequests = new InputRequests({
    board: new QuestionBoard({ timeoutMs: config.inputTimeoutMs }),
    store,
    logger,
    mayAsk: (skill) => config.skills[skill]?.permissions === 'ask',
    redact: (text) => redactor.redact(text),
    maxWaitMs: config.maxTaskTimeoutSec * 1000 + config.killGraceMs + 5000,
    notify: async (event, call, task) => {
      const response = toStreamResponse(event);
      if (response) await pushSender.send(response, call, task);
    },
  });
  // The task run is protocol-free (a job in, run events out); the executor adapts it to A2A.
  const taskRun = new TaskRun({
    planner,
    backends,
    conversations,
    workspaces,
    logger,
    redact: (text) => redactor.redact(text),
    templateFallback: config.workspace.templateFallback,
    // The gateway's own test runs, pushes and gh filter this through their allowlists.
    toolEnv: gitEnv,
    testRunner: createTaskRunner({
      registry: processes,
      limits,
      containment,
      sandbox: sandboxes.for(undefined),
    }),
    usageLimits: new UsageLimits({
      maxWaitMs: config.usageLimitWaitMaxMs,
      defaultWaitMs: USAGE_LIMIT_DEFAULT_WAIT_MS,
    }),
  });
  const executor = new GatewayExecutor({
    inputRequests,
    planner,
    scheduler,
    run: taskRun,
    store,
    logger,
    conversations,
    ownerOf: (ctx) => principalOf(ctx.context.user).id,
    tenantOf: (ctx) => ctx.context.tenant ?? '',
    jobs,
    redact: (text) => redactor.redact(text),
    // On Redis every run goes through BullMQ to a worker (this node's own, when its role is all).
    ...(bull ? { remote: bull, taskMeta: markNode(config.nodeId) } : {}),
    ...(questionRelay ? { questions: questionRelay } : {}),
  });
  const authenticator = new Authenticator(
    config.auth.keys.map((k) => ({ id: k.id, digest: Buffer.from(k.sha256, 'hex'), scopes: k.scopes })),
    config.auth.jwt,
  );

  // The gRPC binding's port once it is bound (GRPC_PORT=0 lets the OS choose).
  let grpcPort = config.grpc.port;
  const grpcAddressFor = (baseUrl: string): string | undefined => {
    if (grpcPort === undefined) return undefined;
    if (config.grpc.publicAddress) return config.grpc.publicAddress;
    return `${new URL(baseUrl).hostname}:${grpcPort}`;
  };
  const cardFor = (baseUrl: string) =>
    buildAgentCard({
      baseUrl,
      ...(grpcPort !== undefined ? { grpcAddress: grpcAddressFor(baseUrl) } : {}),
      skills: planner.enabledSkills(),
      backendFor: (s) => planner.backendFor(s),
      backendInfo: (name) => {
        const b = backends.get(name);
        return b ? { type: b.type, ...(b.resume ? { resume: b.resume } : {}) } : undefined;
      },
      streaming: true,
      pushNotifications: true,
      authRequired: authenticator.enabled,
    });
  // The base URL the card names when no request says otherwise (PUBLIC_URL, else where the gateway listens).
  const defaultBaseUrl = config.publicUrl ?? `http://${config.host}:${config.port}`;
  const baseCard = cardFor(defaultBaseUrl);
  // The extended card shows an authenticated caller the skills its key may use.
  const extendedCard = (ctx: ServerCallContext) => {
    const principal = principalOf(ctx.user);
    return Promise.resolve({
      ...baseCard,
      skills: baseCard.skills.filter((s) => mayUseSkill(principal, s.id)),
    });
  };
  // Push: configs kept with the tasks (same SQLite file), deliveries signed, retried and SSRF-guarded.
  const pushLogger = logger.child({ component: 'push' });
  const signer = config.push.signingKeyFile
    ? await PushSigner.fromFile(config.push.signingKeyFile, { issuer: config.publicUrl ?? 'a2a-gateway' })
    : await PushSigner.generate({ issuer: config.publicUrl ?? 'a2a-gateway' });
  const dispatcher = new PushDispatcher(
    { logger: pushLogger, ...(metrics ? { onOutcome: (o) => metrics.pushed(o) } : {}) },
    {
      guard: { allow: config.push.allowlist },
      signer,
      maxAttempts: config.push.maxAttempts,
      ...(config.push.hmacSecret ? { hmacSecret: config.push.hmacSecret } : {}),
    },
  );
  const pushStore: PushConfigStore & { close(): Promise<void> } = shared
    ? new RedisPushConfigStore({ redis: shared }, { prefix, scope })
    : db
      ? new SqlitePushConfigStore({ db, scope })
      : new MemoryPushConfigStore({ scope });
  const pushSender = new GatewayPushSender({
    store: pushStore,
    dispatcher,
    logger: pushLogger,
    onTaskEnd: config.push.slackWebhookUrl
      ? [slackNotifier(config.push.slackWebhookUrl, { dispatcher })]
      : [],
  });
  const buses = new LoggingEventBusManager(eventLog, metrics ? [new TaskMetrics(metrics).observe] : []);
  const sdkHandler = new DefaultRequestHandler(
    baseCard,
    store,
    executor,
    buses,
    pushStore,
    pushSender,
    authenticator.enabled ? extendedCard : undefined,
  );
  // The SDK's GetTask and ListTasks on the request view of the store (the same handler when it is the store).
  const sdkReads =
    requestStore === store ? sdkHandler : new DefaultRequestHandler(baseCard, requestStore, executor, buses);
  const sdkCalls = delegating(sdkHandler, {
    getTask: (p, c) => sdkReads.getTask(p, c),
    listTasks: (p, c) => sdkReads.listTasks(p, c),
  });
  let shuttingDown = false;
  const sseStreams = new SseStreams();
  // Failed authentications counted per client address, on every binding.
  const authThrottle = new AuthThrottle(
    {
      limit: config.auth.failureLimit,
      windowSec: config.auth.failureWindowSec,
      redisPrefix: config.redis.keyPrefix,
      ...(redis ? { redis } : {}),
    },
    logger,
  );
  const admitted = withAdmission(withEventLog(sdkCalls, { log: eventLog, streams: sseStreams }), {
    planner,
    scheduler,
    isShuttingDown: () => shuttingDown,
    activeTasksOf: (owner) => executor.activeFor(owner),
    maxTasksPerKey: config.maxTasksPerKey,
    contextSkill: (owner, contextId) => conversations.lastSkill(owner, contextId),
    checkWebhook: (url) => Promise.resolve(checkWebhookRegistration(url, { allow: config.push.allowlist })),
    findByMessageId: (messageId, ctx) => store.findByMessageId(messageId, ctx),
    onRefused: (context, reason) => accessLog.refuse(context, reason),
    // A reply to a question waits on the API node that took the task (its run's bus is there).
    ...(onRedis
      ? {
          replyElsewhere: (task: { id: string; metadata?: Record<string, unknown> }) => {
            const node = task.metadata?.node;
            return typeof node === 'string' && node !== config.nodeId
              ? `task ${task.id} waits for its reply on API node ${node}, which took it; send the reply there (route replies by task id: docs/scale-out.md)`
              : undefined;
          },
        }
      : {}),
  });
  const requestHandler = withTaskIdsLogged(
    bull && shared ? withRedisGuard(withQueueCancel(admitted, bull), shared) : admitted,
    accessLog,
  );
  const app = createApp({
    requestHandler,
    store: requestStore,
    scheduler,
    logger,
    cardFor,
    publicUrl: config.publicUrl,
    cardDefaultVersion: config.agentCardDefaultVersion,
    trustProxy: config.trustProxy,
    bodyLimitBytes: config.bodyLimitBytes,
    sseHeartbeatMs: config.sseHeartbeatMs,
    sseStreams,
    eventLog,
    sseMaxBufferedBytes: config.sseMaxBufferedBytes,
    jwks: () => signer.jwks(),
    authenticator,
    authThrottle,
    corsOrigins: config.corsOrigins,
    dashboard: {
      watchEvents: (listener) => eventLog.watch(listener),
      backends: () => backendStatuses(backends, planner),
    },
    rateLimit: {
      perMinute: config.rateLimitPerMinute,
      redisPrefix: config.redis.keyPrefix,
      ...(redis ? { redis } : {}),
    },
    accessLog,
    workerOnly: role === 'worker',
    scopeOf: (principal) => scopeOf(principal),
    ...(shared ? { sharedRedis: shared } : {}),
    ...(metrics && config.metrics.port === undefined ? { metrics } : {}),
    health: new HealthReporter({
      version: VERSION,
      startedAt,
      queue: () => scheduler.stats(),
      store,
      isShuttingDown: () => shuttingDown,
      containment: () => containment.report,
      sandbox: () => sandboxes.report,
      ...(redisProbe ? { redis: redisProbe } : {}),
      // Each CLI's --version runs once per 10 minutes at most, and only when someone asks for the details.
      backends: new CachedProbe(() => diagnose(config, BUILTIN_SKILLS, env), 600_000),
    }),
  });

  /**
   * On Redis, at start (once Redis answers): tasks saved by an earlier version are indexed for listing, and the
   * unfinished tasks of nodes that are gone are settled from their jobs (an ended job's result is recorded; a job
   * Redis does not have fails the task with the reason).
   */
  const sweep = async (): Promise<void> => {
    if (!bull || !shared) return;
    while (shared.status !== 'ready') {
      if (stopping) return;
      await waitForReady(shared, 2000);
    }
    if (redisStore) {
      // Tasks saved by a version without the listing indexes get them (once; listing waits for it).
      const built = await redisStore.indexesReady();
      if (built.indexed > 0 || built.dropped > 0 || built.unreadable > 0)
        logger.info(built, 'built the listing indexes of tasks saved by an earlier version');
    }
    const unfinished = await store.listUnfinished();
    const lost = new Set(
      await bull.sweepOrphans(
        unfinished.map((t) => ({
          taskId: t.id,
          node: typeof t.metadata?.node === 'string' ? t.metadata.node : undefined,
        })),
      ),
    );
    for (const task of unfinished) if (lost.has(task.id)) await failTask(recovery, task, INTERRUPTED_REASON);
    if (lost.size > 0)
      logger.warn({ count: lost.size }, `marked tasks of nodes that are gone failed: ${INTERRUPTED_REASON}`);
  };

  const purge = async (): Promise<void> => {
    const now = Date.now();
    const removed = await store.purgeFinished({
      completedBefore: new Date(now - config.retention.completedHours * 3_600_000),
      otherTerminalBefore: new Date(now - config.retention.failedHours * 3_600_000),
    });
    const dirs = await conversations.purge(config.retention.failedHours * 3_600_000);
    const branches = await workspaces.prune(now);
    if (removed > 0 || dirs > 0 || branches > 0)
      logger.info(
        { removed, dirs, branches },
        'removed expired tasks, conversation directories and task branches',
      );
  };
  // On Redis the first purge waits for Redis (a node may start while it is away).
  if (!onRedis) await purge();
  const purgeTimer = setInterval(
    () => void purge().catch((err: unknown) => logger.error({ err }, 'purge failed')),
    3_600_000,
  );
  purgeTimer.unref();

  let server: Server | undefined;
  let grpcBinding: GrpcBinding | undefined;
  let metricsServer: MetricsServer | undefined;
  let stopping: Promise<void> | undefined;

  /** Starts the gRPC binding when GRPC_PORT is set, and puts the port it bound in the card. */
  const startGrpc = async (): Promise<void> => {
    if (config.grpc.port === undefined) return;
    grpcBinding = await startGrpcBinding(
      { requestHandler, authenticator, authThrottle, sseStreams, logger },
      { host: config.host, port: config.grpc.port, maxMessageBytes: config.bodyLimitBytes },
    );
    grpcPort = grpcBinding.port;
    const bound = grpcAddressFor(defaultBaseUrl);
    for (const i of baseCard.supportedInterfaces) if (i.protocolBinding === 'GRPC' && bound) i.url = bound;
  };

  const listen = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = createServer(requestListenerOf(app));
      s.once('error', reject);
      s.listen(config.port, config.host, () => {
        s.off('error', reject);
        const addr = s.address() as AddressInfo;
        const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        const url = `http://${host}:${addr.port}`;
        logger.info(
          { url, store: store.kind, maxConcurrentTasks: config.maxConcurrentTasks },
          'a2a-gateway listening',
        );
        resolve(url);
      });
      server = s;
    });

  const start = async (): Promise<string> => {
    if (metrics && config.metrics.port !== undefined) {
      metricsServer = await serveMetrics(metrics, config.metrics.host, config.metrics.port);
      logger.info({ url: `${metricsServer.url}/metrics` }, 'metrics listening');
    }
    await startGrpc();
    return listen();
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      shuttingDown = true;
      clearInterval(purgeTimer);
      const { running, queued } = scheduler.stats();
      logger.info(
        { running, queued, timeoutMs: config.shutdownTimeoutMs },
        'shutting down: draining running tasks (waiting ones are kept for the next start)',
      );
      const { aborted } = await scheduler.drain(
        config.shutdownTimeoutMs,
        config.killGraceMs + 2000,
        SHUTDOWN_REASON,
      );
      if (aborted > 0) logger.warn({ aborted }, 'drain time was up: stopped the remaining tasks');
      // The SDK persists the terminal events just after each executor settles; give it a bounded moment.
      const deadline = Date.now() + 3000;
      while (executor.activeCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      await grpcBinding?.close(1000);
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
          setTimeout(() => s.closeAllConnections(), 1000).unref();
        });
      }
      await metricsServer?.close();
      // Tasks that never started stay owed (their jobs are kept); the rest end with the reason.
      // With Redis away they cannot be recorded now; the next start settles them (they are still there).
      await settleUnfinished(recovery, { reason: SHUTDOWN_REASON, retryOnRestart: () => false }).catch(
        (err: unknown) => logger.warn({ err }, 'could not record the unfinished tasks; the next start will'),
      );
      await Promise.allSettled(resumed);
      await dispatcher.close();
      await pushStore.close();
      await eventLog.idle();
      await store.close();
      if (conversationStore instanceof RedisConversationStore) await conversationStore.close();
      await containment.close();
      await jobs.close();
      // Last: the stores above share it.
      db?.close();
      shared?.disconnect();
      redis?.disconnect();
      logger.info('a2a-gateway stopped');
    })();
    return stopping;
  };

  // The tasks acknowledged before the restart and not started (or allowed to run again) run now, in order.
  const resumeContext = (job: TaskJob): ServerCallContext =>
    new ServerCallContext({
      user: new GatewayUser({ id: job.owner, kind: 'key', scopes: new Set(['*']), admin: true }),
      tenant: job.tenant,
    });
  const resumed = owed.map((job) =>
    runDetached(job.taskId, resumeContext(job), { buses, store, push: pushSender, logger }, (bus) =>
      executor.resume(job, bus),
    ).catch((err: unknown) => logger.error({ err, taskId: job.taskId }, 'a resumed task failed to run')),
  );

  const adoptOrphan = async (orphan: OrphanedJob): Promise<void> => {
    // Ended meanwhile (its node was alive after all, or another path recorded it): nothing to record.
    const now = await store.get(orphan.taskId);
    if (!now || isTerminal(now.status?.state ?? TaskState.TASK_STATE_UNSPECIFIED)) return;
    await runDetached(
      orphan.taskId,
      resumeContext(orphan.job),
      { buses, store, push: pushSender, logger },
      (bus) => {
        executor.publishOrphanEnd(bus, orphan.job, orphan.returnValue, orphan.error);
        return Promise.resolve();
      },
    );
  };
  wired();
  void sweep()
    .then(() => purge())
    .catch((err: unknown) => logger.error({ err }, 'settling the tasks of nodes that are gone failed'));

  return {
    config,
    logger,
    store,
    scheduler,
    workspaces,
    app,
    start,
    stop,
    metricsUrl: () => metricsServer?.url,
  };
}
