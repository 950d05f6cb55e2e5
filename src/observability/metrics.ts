import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Where the gauges read their values at scrape time (nothing is sampled between scrapes). */
export interface MetricsSources {
  /** The task queue: running and waiting tasks and their bounds. */
  queue: () => { running: number; queued: number; maxConcurrent: number; maxQueued: number };
  /** When the gateway started (ms since the epoch). */
  startedAt: number;
  /** SSE streams open now. */
  openStreams: () => number;
  /** A PING to Redis, when Redis is enabled: up or not, and how long it took. */
  redis?: () => Promise<{ ok: boolean; latencySeconds: number | undefined }>;
}

/** Why a request was refused, as the `reason` label of `a2a_gateway_refusals_total`. */
export const REFUSAL_REASONS = [
  'auth',
  'forbidden',
  'rate_limit',
  'queue_full',
  'too_many_tasks',
  'body_size',
  'validation',
  'shutting_down',
  'redis_unavailable',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** How one push delivery attempt ended. */
export const PUSH_OUTCOMES = ['delivered', 'retried', 'failed', 'dropped'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

/** The terminal states `a2a_gateway_tasks_total` counts. */
export const TASK_END_STATUSES = ['completed', 'failed', 'canceled', 'rejected'] as const;

/** Durations of coding tasks: seconds to an hour. */
const TASK_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** HTTP requests (streams included, which last as long as their task). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Waiting for a slot, or for a CLI to say its first word. */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * Every metric the gateway exports, in a registry of its own (two gateways in one process keep separate counts).
 * Counters and histograms are fed by the task event observer and the access log; gauges are read from
 * {@link MetricsSources} when Prometheus scrapes, so they cost nothing between scrapes.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  readonly tasksTotal: Counter<'status'>;
  readonly tasksCompleted: Counter;
  readonly tasksFailed: Counter;
  readonly tasksSubmitted: Counter<'skill' | 'backend'>;
  readonly taskDuration: Histogram<'skill' | 'backend' | 'status'>;
  readonly queueWait: Histogram<'skill'>;
  readonly firstEvent: Histogram<'skill' | 'backend'>;
  readonly toolInvocations: Counter<'tool' | 'skill'>;
  readonly tokens: Counter<'backend' | 'model' | 'kind'>;
  readonly cost: Counter<'backend' | 'model'>;
  readonly inputRequired: Counter<'skill'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly a2aRequests: Counter<'method' | 'version'>;
  readonly refusals: Counter<'reason'>;
  readonly pushDeliveries: Counter<'outcome'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.tasksTotal = new Counter({
      name: 'a2a_gateway_tasks_total',
      help: 'Tasks that ended, by terminal status (each turn of a task that is continued counts once).',
      labelNames: ['status'],
      registers,
    });
    for (const status of TASK_END_STATUSES) this.tasksTotal.labels(status).inc(0);
    this.tasksCompleted = new Counter({
      name: 'a2a_gateway_tasks_completed_total',
      help: 'Tasks that ended completed.',
      registers,
    });
    this.tasksFailed = new Counter({
      name: 'a2a_gateway_tasks_failed_total',
      help: 'Tasks that ended failed.',
      registers,
    });
    this.tasksSubmitted = new Counter({
      name: 'a2a_gateway_tasks_submitted_total',
      help: 'Tasks (and continued turns) accepted, by skill and backend.',
      labelNames: ['skill', 'backend'],
      registers,
    });
    this.taskDuration = new Histogram({
      name: 'a2a_gateway_task_duration_seconds',
      help: 'Run time of a task from its start in a slot to its end, by skill, backend and terminal status.',
      labelNames: ['skill', 'backend', 'status'],
      buckets: TASK_BUCKETS,
      registers,
    });
    this.queueWait = new Histogram({
      name: 'a2a_gateway_queue_wait_seconds',
      help: 'Time a task waited between its submission and its start in a slot.',
      labelNames: ['skill'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.firstEvent = new Histogram({
      name: 'a2a_gateway_time_to_first_event_seconds',
      help: "Time from a task's start to the first thing its agent said or did (text, tool call, question).",
      labelNames: ['skill', 'backend'],
      buckets: WAIT_BUCKETS,
      registers,
    });
    this.toolInvocations = new Counter({
      name: 'a2a_gateway_tool_invocations_total',
      help: 'Tool calls the coding agents made, by tool and skill.',
      labelNames: ['tool', 'skill'],
      registers,
    });
    this.tokens = new Counter({
      name: 'a2a_gateway_tokens_total',
      help: 'Model tokens the coding agents reported, by backend, model and kind (input, output, cache_read, cache_write).',
      labelNames: ['backend', 'model', 'kind'],
      registers,
    });
    this.cost = new Counter({
      name: 'a2a_gateway_cost_usd_total',
      help: 'Cost in US dollars the coding agents reported, by backend and model.',
      labelNames: ['backend', 'model'],
      registers,
    });
    this.inputRequired = new Counter({
      name: 'a2a_gateway_input_required_total',
      help: 'Questions tasks put to their caller (input-required), by skill.',
      labelNames: ['skill'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'a2a_gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'a2a_gateway_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (an event stream lasts until it closes), by method and route template.',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.a2aRequests = new Counter({
      name: 'a2a_gateway_a2a_requests_total',
      help: 'A2A calls, by method and protocol version (0.1, 0.3, 1.0).',
      labelNames: ['method', 'version'],
      registers,
    });
    this.refusals = new Counter({
      name: 'a2a_gateway_refusals_total',
      help: 'Requests refused before any task ran, by reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.refusals.labels(reason).inc(0);
    this.pushDeliveries = new Counter({
      name: 'a2a_gateway_push_deliveries_total',
      help: 'Push notification delivery attempts, by outcome (delivered, retried, failed after the last attempt, dropped).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of PUSH_OUTCOMES) this.pushDeliveries.labels(outcome).inc(0);

    const queueGauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    queueGauge(
      'a2a_gateway_active_tasks',
      'Tasks running now (holding a slot).',
      () => sources.queue().running,
    );
    queueGauge('a2a_gateway_queued_tasks', 'Tasks waiting for a slot.', () => sources.queue().queued);
    queueGauge(
      'a2a_gateway_max_concurrent_tasks',
      'Slots: tasks that may run at once (MAX_CONCURRENT_TASKS).',
      () => sources.queue().maxConcurrent,
    );
    queueGauge(
      'a2a_gateway_max_queued_tasks',
      'Tasks that may wait for a slot (MAX_QUEUED_TASKS).',
      () => sources.queue().maxQueued,
    );
    queueGauge(
      'a2a_gateway_uptime_seconds',
      'Seconds since the gateway started.',
      () => (Date.now() - sources.startedAt) / 1000,
    );
    queueGauge('a2a_gateway_sse_streams_open', 'Server-sent event streams open now.', sources.openStreams);

    const redis = sources.redis;
    if (redis) {
      // One PING per scrape feeds both gauges.
      let probe: Promise<{ ok: boolean; latencySeconds: number | undefined }> | undefined;
      const probeOnce = (): Promise<{ ok: boolean; latencySeconds: number | undefined }> => {
        probe ??= redis().finally(() => setImmediate(() => (probe = undefined)));
        return probe;
      };
      new Gauge({
        name: 'a2a_gateway_redis_up',
        help: 'Whether Redis answered a PING at the last scrape (1) or not (0).',
        registers,
        async collect() {
          this.set((await probeOnce()).ok ? 1 : 0);
        },
      });
      new Gauge({
        name: 'a2a_gateway_redis_latency_seconds',
        help: 'Round trip of a PING to Redis at the last scrape (0 while Redis is down: see a2a_gateway_redis_up).',
        registers,
        async collect() {
          this.set((await probeOnce()).latencySeconds ?? 0);
        },
      });
    }
  }

  /** A request refused before any task ran. */
  refused(reason: RefusalReason): void {
    this.refusals.labels(reason).inc();
  }

  /** A push delivery attempt ended so. */
  pushed(outcome: PushOutcome): void {
    this.pushDeliveries.labels(outcome).inc();
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
