import type { CachedProbe } from './cached-probe.js';
import type { RedisHealth, RedisProbe } from './redis-probe.js';

/** A backend as the detailed health shows it: found on PATH or not, and its version. */
export interface BackendHealth {
  name: string;
  type: string;
  found: boolean;
  version: string | undefined;
  credentials: string;
  skills: readonly string[];
}

export interface HealthDeps {
  version: string;
  startedAt: number;
  queue: () => { running: number; queued: number; maxConcurrent: number; maxQueued: number };
  store: { readonly kind: string; ping(): Promise<boolean> };
  isShuttingDown: () => boolean;
  /** Present when Redis is enabled: its being down makes the gateway `degraded`. */
  redis?: RedisProbe;
  /** The configured backends with their versions (probed once, cached). */
  backends?: CachedProbe<readonly BackendHealth[]>;
  /** How task processes are contained and confined (detected once at start-up). */
  containment?: () => unknown;
  /** Whether task processes are sandboxed (bubblewrap) or why not (probed once at start-up). */
  sandbox?: () => unknown;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'shutting_down';

/** How long a detailed health request waits for the first backend version probe before answering without it. */
const BACKEND_PROBE_WAIT_MS = 3000;

/**
 * `/health` and `/health?detailed=true`. The store is required (down: `unhealthy`, HTTP 503); Redis, when enabled,
 * is a dependency whose loss the gateway reports as `degraded` (HTTP 200: tasks in flight go on). The detailed
 * form adds each dependency's state, the backends with their versions, the queue and the process.
 */
export class HealthReporter {
  constructor(private readonly deps: HealthDeps) {}

  /**
   * Ready for traffic: the store answers, Redis (when enabled) answers, and the gateway is not shutting down. A
   * node whose Redis is away is taken out of rotation rather than refusing the requests sent to it.
   */
  async readiness(): Promise<{ ready: boolean; store: boolean; shuttingDown: boolean; redis?: boolean }> {
    const [store, redis] = await Promise.all([
      this.deps.store.ping().catch(() => false),
      this.deps.redis?.check(),
    ]);
    const shuttingDown = this.deps.isShuttingDown();
    const redisOk = redis?.ok ?? true;
    return {
      ready: store && redisOk && !shuttingDown,
      store,
      shuttingDown,
      ...(redis ? { redis: redis.ok } : {}),
    };
  }

  async report(detailed: boolean): Promise<{ httpStatus: number; body: Record<string, unknown> }> {
    const { deps } = this;
    const [storeOk, redis] = await Promise.all([deps.store.ping().catch(() => false), deps.redis?.check()]);
    const stats = deps.queue();
    const uptimeSec = Math.floor((Date.now() - deps.startedAt) / 1000);
    const status: HealthStatus = deps.isShuttingDown()
      ? 'shutting_down'
      : !storeOk
        ? 'unhealthy'
        : redis && !redis.ok
          ? 'degraded'
          : 'healthy';
    const body: Record<string, unknown> = {
      status,
      version: deps.version,
      active_tasks: stats.running,
      max_concurrent_tasks: stats.maxConcurrent,
      queued_tasks: stats.queued,
      max_queued_tasks: stats.maxQueued,
      uptime: `${uptimeSec}s`,
      uptime_seconds: uptimeSec,
      store: { kind: deps.store.kind, ok: storeOk },
      ...(redis ? { redis: { ok: redis.ok } } : {}),
    };
    if (detailed) Object.assign(body, await this.details(redis));
    return { httpStatus: storeOk ? 200 : 503, body };
  }

  private async details(redis: RedisHealth | undefined): Promise<Record<string, unknown>> {
    const { deps } = this;
    const stats = deps.queue();
    const backends = await deps.backends?.within(BACKEND_PROBE_WAIT_MS).catch(() => undefined);
    return {
      redis: redis
        ? {
            enabled: true,
            ok: redis.ok,
            ...(redis.latencySeconds !== undefined
              ? { latency_ms: Math.round(redis.latencySeconds * 10_000) / 10 }
              : {}),
            ...(redis.error ? { error: redis.error } : {}),
          }
        : { enabled: false },
      queue: {
        running: stats.running,
        queued: stats.queued,
        max_concurrent: stats.maxConcurrent,
        max_queued: stats.maxQueued,
        full: stats.running >= stats.maxConcurrent && stats.queued >= stats.maxQueued,
      },
      backends:
        backends === undefined
          ? { probing: true }
          : backends.map((b) => ({
              name: b.name,
              type: b.type,
              found: b.found,
              ...(b.version ? { version: b.version } : {}),
              credentials: b.credentials,
              skills: b.skills,
            })),
      ...(deps.containment ? { containment: deps.containment() } : {}),
      ...(deps.sandbox ? { sandbox: deps.sandbox() } : {}),
      process: {
        pid: process.pid,
        node: process.version,
        rss_bytes: process.memoryUsage.rss(),
      },
    };
  }
}
