import { randomUUID } from 'node:crypto';
import { deliver, type DeliveryResult } from './deliver.js';
import {
  DELIVERY_ID_HEADER,
  HMAC_HEADER,
  SIGNATURE_HEADER,
  hmacSignature,
  type PushSigner,
} from './signing.js';
import { checkWebhookUrl, type UrlGuardOptions } from './url-guard.js';

/** The pino-style logger the push code writes to (a pino `Logger` fits). */
export interface PushLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** One POST to make: a serialized event and where it goes. */
export interface PushJob {
  /** Jobs with the same key are delivered one at a time, in the order they were enqueued. */
  queueKey: string;
  taskId: string;
  /** For logs; the config id, or e.g. `slack`. */
  configId: string;
  url: string;
  body: string;
  contentType: string;
  /** The config's own credentials (`Authorization`, `X-A2A-Notification-Token`); never logged. */
  headers: Readonly<Record<string, string>>;
  /** A terminal state: when a queue overflows, the oldest jobs that are not important go first. */
  important: boolean;
}

/** Options of {@link PushDispatcher}. */
export interface PushDispatcherOptions {
  guard: UrlGuardOptions;
  /** Adds an ES256 JWS in `X-A2A-Signature`. */
  signer?: PushSigner;
  /** Adds `X-A2A-Signature-HMAC: t=…,v1=…`. */
  hmacSecret?: string;
  /** Attempts per job, the first included (default 6). */
  maxAttempts?: number;
  /** Delay before the first retry; doubles each retry (default 1000 ms). */
  baseDelayMs?: number;
  /** Ceiling of one retry delay, also for a receiver's `Retry-After` (default 60 000 ms). */
  maxDelayMs?: number;
  /** Per-attempt bound (default 10 000 ms). */
  timeoutMs?: number;
  /** Response bytes read before hanging up (default 64 KiB). */
  maxResponseBytes?: number;
  /** Jobs one queue (one task's config) may hold (default 100, at least 2). */
  maxQueueLength?: number;
  /** Jobs all queues may hold together; beyond it new jobs are dropped (default 10 000). */
  maxQueuedTotal?: number;
  /** Source of jitter in [0, 1); tests pass a constant. */
  random?: () => number;
}

interface Entry {
  job: PushJob;
  /** Stable across retries: the `X-A2A-Delivery-Id` header and `delivery_id` claim. */
  deliveryId: string;
  attempts: number;
}

interface Queue {
  key: string;
  entries: Entry[];
  inFlight?: Promise<void>;
  controller?: AbortController;
  timer?: NodeJS.Timeout;
}

/** Where a URL goes without its path or query, which may carry secrets: safe to log. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/**
 * Delivers push jobs in the background. `enqueue` returns at once; each queue (one task's config) sends its jobs
 * one at a time in order, retrying the head with exponential backoff and jitter (base, 2×base, 4×base … up to
 * `maxDelayMs`, ±20 %) until it succeeds, fails for good (a refused URL, a 3xx or 4xx) or runs out of attempts;
 * then the next job goes. So a later event never overtakes an earlier one to the same webhook, at the price that
 * a receiver that is down holds its own queue (never another's).
 *
 * Bounds: a receiver down for long fills its queue; past `maxQueueLength` the oldest waiting job that is not a
 * terminal state is dropped (the job being tried stays), and past `maxQueuedTotal` new jobs are dropped. Every
 * drop is logged with the task id. Nothing is persisted: jobs waiting at `close()` or at a crash are lost
 * (delivery is at least once while the process lives).
 */
export class PushDispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly idleWaiters: (() => void)[] = [];
  private queued = 0;
  private closed = false;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxQueueLength: number;
  private readonly maxQueuedTotal: number;
  private readonly random: () => number;

  constructor(
    private readonly deps: {
      logger: PushLogger;
      /** Told how each attempt ended (metrics). */
      onOutcome?: (outcome: 'delivered' | 'retried' | 'failed' | 'dropped') => void;
    },
    private readonly opts: PushDispatcherOptions,
  ) {
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 6);
    this.baseDelayMs = opts.baseDelayMs ?? 1000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.maxQueueLength = Math.max(2, opts.maxQueueLength ?? 100);
    this.maxQueuedTotal = opts.maxQueuedTotal ?? 10_000;
    this.random = opts.random ?? Math.random;
  }

  /** Jobs waiting or being tried, across all queues. */
  get pending(): number {
    return this.queued;
  }

  /** Queues a job; false when it was dropped (closed, or the global bound is reached). Never blocks. */
  enqueue(job: PushJob): boolean {
    const log = { taskId: job.taskId, configId: job.configId, target: originOf(job.url) };
    if (this.closed) {
      this.deps.logger.debug(log, 'push dispatcher closed; notification dropped');
      return false;
    }
    if (this.queued >= this.maxQueuedTotal) {
      this.deps.onOutcome?.('dropped');
      this.deps.logger.warn({ ...log, queued: this.queued }, 'push queue full; notification dropped');
      return false;
    }
    let queue = this.queues.get(job.queueKey);
    if (!queue) {
      queue = { key: job.queueKey, entries: [] };
      this.queues.set(job.queueKey, queue);
    }
    if (queue.entries.length >= this.maxQueueLength) this.dropOne(queue);
    queue.entries.push({ job, deliveryId: randomUUID(), attempts: 0 });
    this.queued += 1;
    this.pump(queue);
    return true;
  }

  /** Resolves when every queue is empty (or the dispatcher is closed). */
  idle(): Promise<void> {
    if (this.queued === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retry timers, aborts requests in flight and drops what is queued; resolves once nothing runs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inFlight: Promise<void>[] = [];
    for (const queue of this.queues.values()) {
      clearTimeout(queue.timer);
      queue.controller?.abort();
      if (queue.inFlight) inFlight.push(queue.inFlight);
    }
    if (this.queued > 0)
      this.deps.logger.info({ dropped: this.queued }, 'push dispatcher closed with notifications queued');
    this.queues.clear();
    this.queued = 0;
    this.wakeIdle();
    await Promise.allSettled(inFlight);
  }

  private dropOne(queue: Queue): void {
    // Index 0 is being tried (or waits for its retry); it stays.
    let victim = queue.entries.findIndex((entry, i) => i > 0 && !entry.job.important);
    if (victim === -1) victim = 1;
    const [dropped] = queue.entries.splice(victim, 1);
    if (!dropped) return;
    this.queued -= 1;
    this.deps.onOutcome?.('dropped');
    this.deps.logger.warn(
      { taskId: dropped.job.taskId, configId: dropped.job.configId, target: originOf(dropped.job.url) },
      'push queue for this webhook is full; oldest waiting notification dropped',
    );
  }

  private pump(queue: Queue): void {
    if (this.closed || queue.inFlight || queue.timer) return;
    const head = queue.entries[0];
    if (!head) {
      this.queues.delete(queue.key);
      if (this.queued === 0) this.wakeIdle();
      return;
    }
    queue.inFlight = this.attempt(queue, head).finally(() => {
      queue.inFlight = undefined;
      queue.controller = undefined;
      this.pump(queue);
    });
  }

  private async attempt(queue: Queue, entry: Entry): Promise<void> {
    entry.attempts += 1;
    const controller = new AbortController();
    queue.controller = controller;
    const result = await this.tryOnce(entry, controller.signal);
    if (this.closed) return;
    const { job } = entry;
    const log = {
      taskId: job.taskId,
      configId: job.configId,
      target: originOf(job.url),
      attempt: entry.attempts,
    };
    if (result.ok) {
      this.deps.onOutcome?.('delivered');
      this.deps.logger.debug({ ...log, status: result.status }, 'push notification delivered');
    } else if (result.retryable && entry.attempts < this.maxAttempts) {
      this.deps.onOutcome?.('retried');
      const delay = this.retryDelay(entry.attempts, result.retryAfterMs);
      this.deps.logger.debug(
        { ...log, error: result.error, retryInMs: delay },
        'push delivery failed; will retry',
      );
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        this.pump(queue);
      }, delay);
      // Pending retries must not keep a finished process alive; close() clears them anyway.
      queue.timer.unref();
      return;
    } else {
      this.deps.onOutcome?.('failed');
      this.deps.logger.warn({ ...log, error: result.error }, 'push delivery failed; notification dropped');
    }
    queue.entries.shift();
    this.queued -= 1;
  }

  private retryDelay(attempts: number, retryAfterMs: number | undefined): number {
    const nominal = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1));
    const jittered = nominal * (0.8 + 0.4 * this.random());
    return Math.round(Math.min(this.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
  }

  private async tryOnce(entry: Entry, signal: AbortSignal): Promise<DeliveryResult> {
    const { job } = entry;
    try {
      // Checked on every attempt: the pinned address is the one this attempt checked.
      const target = await checkWebhookUrl(job.url, this.opts.guard);
      if (!target.ok) return { ok: false, retryable: target.code === 'resolve', error: target.reason };
      const headers: Record<string, string> = {
        ...job.headers,
        'Content-Type': job.contentType,
        'User-Agent': 'a2a-gateway-push',
        [DELIVERY_ID_HEADER]: entry.deliveryId,
      };
      if (this.opts.signer) {
        headers[SIGNATURE_HEADER] = await this.opts.signer.sign({
          taskId: job.taskId,
          deliveryId: entry.deliveryId,
          body: job.body,
          url: job.url,
        });
      }
      if (this.opts.hmacSecret !== undefined) {
        headers[HMAC_HEADER] = hmacSignature(this.opts.hmacSecret, job.body, Math.floor(Date.now() / 1000));
      }
      return await deliver(target, job.body, headers, {
        signal,
        ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
        ...(this.opts.maxResponseBytes !== undefined ? { maxResponseBytes: this.opts.maxResponseBytes } : {}),
      });
    } catch (error) {
      return { ok: false, retryable: false, error: (error as Error).message };
    }
  }

  private wakeIdle(): void {
    for (const wake of this.idleWaiters.splice(0)) wake();
  }
}
