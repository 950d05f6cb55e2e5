import { randomUUID } from 'node:crypto';
import { Job, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RunAbort } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';
import type { TaskJob } from './job.js';
import { RedisUnavailableError, assertRedisReady } from './redis-errors.js';
import {
  QueueFullError,
  SchedulerClosedError,
  type QueueStats,
  type Reservation,
  type SubmitOptions,
  type TaskQueue,
} from './task-queue.js';

/** What a BullMQ job carries: enough for any worker node to run the task and bound it. */
export interface QueuedTask {
  taskId: string;
  timeoutMs: number;
  /** The node that submitted it (its submit() waits for the outcome). */
  origin: string;
  /** The serialized run, for worker nodes that did not submit it (absent: only the submitting node can run it). */
  job?: TaskJob;
}

/**
 * Runs a serialized job on this node's worker (whichever node submitted it). `emit` sends an event to the
 * submitting node, in order (BullMQ job progress, read there through the queue events); the value the run
 * resolves with reaches the submitter as the job's return value.
 */
export type RemoteRunner = (
  task: QueuedTask,
  signal: AbortSignal,
  emit: (event: unknown) => void,
) => Promise<unknown>;

/** A job that ended while its submitting node was not there to hear it (that node stopped or died). */
export interface OrphanedJob {
  taskId: string;
  /** The node that submitted it. */
  origin: string;
  /** The serialized run. */
  job: TaskJob;
  /** The run's return value when it completed. */
  returnValue?: unknown;
  /** Why it failed, as its submitter would have been told (a stalled worker, an abort). */
  error?: Error;
}

export interface BullMqQueueDeps {
  logger: Logger;
  /** How a worker node runs a serialized job; without it this node runs only its own closures. */
  runRemote?: RemoteRunner;
  /**
   * Told of a job that ended while no live node waited on it, once for the whole cluster (a Redis mark decides
   * which node): the node that submitted it is gone, so somebody else must record how its task ended.
   */
  onOrphan?: (job: OrphanedJob) => Promise<void>;
}

/** What a submitter hears of a serialized job while it runs. */
export interface JobWatch {
  /** Each event the worker emitted, in order. */
  onEvent?: (event: unknown) => void;
}

export interface BullMqQueueOptions {
  /** Redis URL (with its database number). */
  url: string;
  /** Prefix of every key the queue writes (REDIS_KEY_PREFIX + "bull"). */
  prefix: string;
  queueName?: string;
  /** Jobs this node's worker runs at once (MAX_CONCURRENT_TASKS); 0: an API node that runs none. */
  maxConcurrent: number;
  /** Jobs that may wait in Redis before a send is refused (MAX_QUEUED_TASKS, over the whole cluster). */
  maxQueued: number;
  /**
   * A worker that stops renewing its lock for this long (killed, frozen, cut off) has its task ended `failed`
   * with the reason; no task stays `working`.
   */
  stallTimeoutMs: number;
  /** This node's name in logs and job data (default: a random id). */
  nodeId?: string;
}

interface LocalEntry {
  run: (signal: AbortSignal) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onStart?: () => void;
  started: boolean;
}

/** How long a send waits for the events read to start (at start-up) before it is refused. */
const EVENTS_START_MS = 5000;
const STALLED_REASON = 'job stalled more than allowable limit';
const ABORT_PREFIX = 'run-abort:';

/**
 * The task queue on Redis with BullMQ: every node's sends go into one BullMQ queue and every worker node takes
 * jobs from it, `maxConcurrent` at a time. A job submitted here with a closure runs here when this node's worker
 * takes it; a job another worker takes runs through {@link BullMqQueueDeps.runRemote} there, and its outcome
 * reaches this node's submit() through BullMQ's queue events (a blocking stream read, no polling). A cancel is a
 * mark in Redis (seen by a worker that starts the job later) plus a pub/sub message (seen by the worker running
 * it). A worker that dies is found by BullMQ's stalled-job check within {@link BullMqQueueOptions.stallTimeoutMs}
 * and its task fails with that reason.
 */
export class BullMqQueue implements TaskQueue {
  readonly nodeId: string;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly queue: Queue<QueuedTask>;
  /** Created once the id to read events from is known (see {@link startEvents}). */
  private events: QueueEvents | undefined;
  private readonly eventsStarted: Promise<void>;
  private readonly worker: Worker<QueuedTask, unknown> | undefined;
  private readonly local = new Map<string, LocalEntry>();
  /** Jobs this node submitted and is waiting on, run here or elsewhere. */
  private readonly waiting = new Map<
    string,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (event: unknown) => void }
  >();
  /** Runs on this node's worker, by task id: a cancel or a drain aborts them. */
  private readonly running = new Map<string, AbortController>();
  private counts = { active: 0, waiting: 0 };
  private countsDirty = false;
  private reserved = 0;
  private accepting = true;
  private closed = false;
  private recentDurationsMs: number[] = [];
  private readonly cancelChannel: string;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: BullMqQueueDeps,
    private readonly opts: BullMqQueueOptions,
  ) {
    this.nodeId = opts.nodeId ?? randomUUID();
    const name = opts.queueName ?? 'tasks';
    this.cancelChannel = `${opts.prefix}:${name}:cancel`;
    const log = deps.logger.child({ component: 'queue', node: this.nodeId });
    // Commands fail fast while Redis is away (no offline queue): a send is refused, never left hanging.
    this.client = new Redis(opts.url, { maxRetriesPerRequest: null, enableOfflineQueue: false });
    this.client.on('error', (err: Error) => log.debug({ err: err.message }, 'queue connection error'));
    this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: null });
    this.subscriber.on('error', (err: Error) => log.debug({ err: err.message }, 'queue subscriber error'));
    const connection = { url: opts.url, maxRetriesPerRequest: null };
    this.queue = new Queue<QueuedTask>(name, { connection: this.client, prefix: opts.prefix });
    this.queue.on('error', (err: Error) => log.debug({ err: err.message }, 'queue error'));
    this.eventsStarted = this.startEvents(name, connection, log);
    this.startHeartbeat();
    void this.subscriber.subscribe(this.cancelChannel).catch((err: unknown) => {
      log.warn({ err }, 'could not subscribe to cancels');
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.cancelChannel) return;
      const cancel = parseCancel(message);
      if (cancel) this.running.get(cancel.taskId)?.abort(new RunAbort('canceled', cancel.reason));
    });
    if (opts.maxConcurrent > 0) {
      // Locks last half the stall time and are checked every quarter of it: a dead worker's job is found
      // stalled after at most about stallTimeoutMs, and fails at once (maxStalledCount 0) with the reason.
      this.worker = new Worker<QueuedTask, unknown>(
        name,
        (job, _token, signal) => this.process(job, signal),
        {
          connection,
          prefix: opts.prefix,
          name: this.nodeId,
          concurrency: opts.maxConcurrent,
          lockDuration: Math.max(1000, Math.floor(opts.stallTimeoutMs / 2)),
          stalledInterval: Math.max(500, Math.floor(opts.stallTimeoutMs / 4)),
          maxStalledCount: 0,
          // Kept a while, so a submitter that missed the completed event still reads the return value.
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 24 * 3600, count: 1000 },
          drainDelay: 5,
        },
      );
      this.worker.on('error', (err: Error) => log.debug({ err: err.message }, 'worker error'));
    }
  }

  /**
   * Starts reading the queue's events from the last event that is in Redis now, not from whatever is last when
   * the blocking read happens to start: BullMQ's default ('$') misses every job that ends between this node's
   * start and its first read, and a submitter waiting on such a job would wait forever. Every send waits for
   * this, so each of its job's events comes after the id read here. Retries while Redis is away.
   */
  private async startEvents(
    name: string,
    connection: { url: string; maxRetriesPerRequest: null },
    log: Logger,
  ): Promise<void> {
    for (;;) {
      if (this.closed) return;
      try {
        if (this.client.status !== 'ready') {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              clearTimeout(timer);
              this.client.off('ready', done);
              resolve();
            };
            const timer = setTimeout(done, 1000);
            this.client.once('ready', done);
          });
          continue;
        }
        const last = await this.client.xrevrange(this.queue.keys.events ?? '', '+', '-', 'COUNT', 1);
        const lastEventId = last[0]?.[0] ?? '0-0';
        if (this.closed) return;
        const events = new QueueEvents(name, { connection, prefix: this.opts.prefix, lastEventId });
        events.on('error', (err: Error) => log.debug({ err: err.message }, 'queue events error'));
        events.on('progress', ({ jobId, data }) => this.waiting.get(jobId)?.onEvent?.(data));
        events.on('completed', ({ jobId, returnvalue }) => this.settleWaiting(jobId, undefined, returnvalue));
        events.on('failed', ({ jobId, failedReason }) => this.settleWaiting(jobId, failedReason));
        for (const e of ['added', 'active', 'completed', 'failed', 'removed'] as const) {
          events.on(e, () => this.refreshCounts());
        }
        this.events = events;
        return;
      } catch (err) {
        log.debug({ err: (err as Error).message }, 'could not start reading queue events; retrying');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** Resolves when the queue's connections are up (tests and start-up wait on it). */
  async ready(): Promise<void> {
    await this.eventsStarted;
    await Promise.all([
      this.queue.waitUntilReady(),
      this.events?.waitUntilReady(),
      this.worker?.waitUntilReady(),
    ]);
    await this.refreshCountsNow();
  }

  stats(): QueueStats {
    return {
      running: this.counts.active,
      queued: this.counts.waiting,
      reserved: this.reserved,
      maxConcurrent: this.opts.maxConcurrent,
      maxQueued: this.opts.maxQueued,
    };
  }

  isFull(): boolean {
    return this.counts.waiting + this.reserved >= this.opts.maxQueued;
  }

  retryAfterSec(): number {
    const d = this.recentDurationsMs;
    const avgMs = d.length > 0 ? d.reduce((a, b) => a + b, 0) / d.length : 5000;
    return Math.min(300, Math.max(1, Math.ceil(avgMs / 1000 / Math.max(1, this.opts.maxConcurrent))));
  }

  reserve(): Reservation {
    if (!this.accepting) throw new SchedulerClosedError();
    assertRedisReady(this.client);
    if (this.isFull()) throw this.fullError();
    this.reserved += 1;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        this.reserved -= 1;
      },
    };
  }

  submit<T>(
    taskId: string,
    timeoutMs: number,
    job: (signal: AbortSignal) => Promise<T>,
    opts: SubmitOptions = {},
  ): Promise<T> {
    return this.enqueue(taskId, timeoutMs, job, undefined, opts) as Promise<T>;
  }

  /**
   * Queues a serialized run that any worker node can take. Resolves once Redis holds the job (so the task can be
   * acknowledged), with the outcome to wait on: the run's return value, or the error it failed with. The
   * worker's events reach `watch.onEvent` in order meanwhile.
   */
  async submitJob(
    job: TaskJob,
    opts: SubmitOptions = {},
    watch: JobWatch = {},
  ): Promise<{ outcome: Promise<unknown> }> {
    let added!: () => void;
    const queued = new Promise<void>((resolve) => {
      added = resolve;
    });
    const outcome = this.enqueue(job.taskId, job.timeoutMs, undefined, job, opts, watch, added);
    // Fails before the job was added: the send is refused.
    await Promise.race([queued, outcome]);
    return { outcome };
  }

  private async enqueue(
    taskId: string,
    timeoutMs: number,
    run: ((signal: AbortSignal) => Promise<unknown>) | undefined,
    job: TaskJob | undefined,
    opts: SubmitOptions,
    watch: JobWatch = {},
    onAdded?: () => void,
  ): Promise<unknown> {
    opts.reservation?.release();
    if (!this.accepting) throw new SchedulerClosedError();
    if (this.local.has(taskId) || this.waiting.has(taskId))
      throw new Error(`task ${taskId} is already scheduled`);
    assertRedisReady(this.client);
    if (!opts.reservation && !opts.owed && this.isFull()) throw this.fullError();
    const outcome = new Promise<unknown>((resolve, reject) => {
      this.waiting.set(taskId, { resolve, reject, ...(watch.onEvent ? { onEvent: watch.onEvent } : {}) });
      if (run) {
        this.local.set(taskId, {
          run,
          resolve,
          reject,
          started: false,
          ...(opts.onStart ? { onStart: opts.onStart } : {}),
        });
      }
    });
    const data: QueuedTask = { taskId, timeoutMs, origin: this.nodeId, ...(job ? { job } : {}) };
    try {
      // The job's outcome comes through the events read; it must have its starting id before the job exists.
      if (!this.events && !(await settlesWithin(this.eventsStarted, EVENTS_START_MS))) {
        throw new Error('the queue events read has not started');
      }
      await this.queue.add('task', data, { jobId: taskId });
      this.counts.waiting += 1;
      onAdded?.();
    } catch (err) {
      this.forget(taskId);
      throw new RedisUnavailableError(`could not queue the task: ${(err as Error).message}`);
    }
    // Belt and braces: a job that has already ended (say, its events were trimmed away) settles at once.
    void this.settleIfEnded(taskId);
    try {
      return await outcome;
    } finally {
      this.forget(taskId);
    }
  }

  private forget(taskId: string): void {
    this.local.delete(taskId);
    this.waiting.delete(taskId);
  }

  cancel(taskId: string, message = 'canceled by request'): boolean {
    const known = this.waiting.has(taskId) || this.running.has(taskId);
    this.running.get(taskId)?.abort(new RunAbort('canceled', message));
    void this.cancelEverywhere(taskId, message).catch((err: unknown) =>
      this.deps.logger.warn({ err, taskId }, 'could not pass the cancel on to the workers'),
    );
    return known;
  }

  /**
   * Marks the task canceled (a worker that takes it later sees the mark before it runs), takes it out of the
   * queue if it still waits, and tells every worker (the one running it aborts it).
   */
  private async cancelEverywhere(taskId: string, reason: string): Promise<void> {
    await this.client.set(this.cancelKey(taskId), reason, 'PX', 24 * 3600_000);
    const removed = await this.queue.remove(taskId).catch(() => 0);
    if (removed === 1) {
      const entry = this.waiting.get(taskId);
      this.forget(taskId);
      entry?.reject(new RunAbort('canceled', reason));
      this.refreshCounts();
      return;
    }
    await this.client.publish(this.cancelChannel, JSON.stringify({ taskId, reason }));
  }

  private cancelKey(taskId: string): string {
    return `${this.opts.prefix}:${this.opts.queueName ?? 'tasks'}:canceled:${taskId}`;
  }

  /** One job on this node's worker: its own closure if it submitted it, the remote runner otherwise. */
  private async process(job: Job<QueuedTask>, bullSignal: AbortSignal | undefined): Promise<unknown> {
    const task = job.data;
    const controller = new AbortController();
    this.running.set(task.taskId, controller);
    const onBullAbort = (): void => controller.abort(new RunAbort('canceled', 'canceled by request'));
    bullSignal?.addEventListener('abort', onBullAbort, { once: true });
    const timer = setTimeout(() => {
      controller.abort(new RunAbort('timeout', `timed out after ${formatSeconds(task.timeoutMs)} s`));
    }, task.timeoutMs);
    const started = Date.now();
    const entry = this.local.get(task.taskId);
    try {
      // Registered as running before the mark is read: a cancel after this read reaches it by pub/sub.
      const canceled = await this.client.get(this.cancelKey(task.taskId));
      if (canceled !== null) controller.abort(new RunAbort('canceled', canceled));
      if (entry) {
        entry.started = true;
        entry.onStart?.();
        if (controller.signal.aborted) throw controller.signal.reason as Error;
        try {
          entry.resolve(await entry.run(controller.signal));
        } catch (err) {
          entry.reject(err instanceof Error ? err : new Error(String(err)));
        }
        return null;
      }
      if (!this.deps.runRemote || !task.job) {
        throw new Error(
          `no node can run task ${task.taskId}: it was submitted with a closure by ${task.origin}`,
        );
      }
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      // Progress updates go out in order, one after the other; the run's value waits for the last of them.
      let sent: Promise<unknown> = Promise.resolve();
      const emit = (event: unknown): void => {
        sent = sent.then(() =>
          job.updateProgress(event as object).catch((err: unknown) => {
            this.deps.logger.warn(
              { err, taskId: task.taskId },
              'could not send a run event to the submitter',
            );
          }),
        );
      };
      const value = await this.deps.runRemote(task, controller.signal, emit);
      await sent;
      return value ?? null;
    } catch (err) {
      if (entry) {
        entry.reject(err instanceof Error ? err : new Error(String(err)));
        return null;
      }
      // The submitting node learns the outcome from the job's failed reason: an abort keeps its kind.
      if (err instanceof RunAbort)
        throw new Error(`${ABORT_PREFIX}${err.kind}:${err.message}`, { cause: err });
      throw err;
    } finally {
      clearTimeout(timer);
      bullSignal?.removeEventListener('abort', onBullAbort);
      this.running.delete(task.taskId);
      this.noteDuration(Date.now() - started);
    }
  }

  /** Settles the submit of a job that is already completed or failed in Redis (no event needed). */
  private async settleIfEnded(taskId: string): Promise<void> {
    try {
      const state = await this.queue.getJobState(taskId);
      if (state === 'completed') {
        const job = await Job.fromId<QueuedTask>(this.queue, taskId);
        this.settleWaiting(taskId, undefined, job?.returnvalue);
      } else if (state === 'failed') {
        const job = await Job.fromId<QueuedTask>(this.queue, taskId);
        this.settleWaiting(taskId, job?.failedReason ?? 'the job failed');
      }
    } catch {
      // Redis away: the events read delivers the outcome once it is back.
    }
  }

  /** A job has ended (here or on another worker): its submitter here is told; else it may be an orphan. */
  private settleWaiting(jobId: string, failedReason: string | undefined, returnValue?: unknown): void {
    const waiter = this.waiting.get(jobId);
    if (!waiter) {
      if (this.deps.onOrphan) void this.adoptIfOrphaned(jobId, failedReason, returnValue);
      return;
    }
    // A job this node ran settles its own submit (with the closure's result), not through events.
    if (this.local.get(jobId)?.started) return;
    if (failedReason === undefined) {
      waiter.resolve(returnValue);
      return;
    }
    waiter.reject(errorOfFailedReason(failedReason, this.opts.stallTimeoutMs));
  }

  /**
   * A serialized job ended and this node did not submit it. When its submitter is no longer alive (its
   * heartbeat key lapsed), one node (the first to set the adoption mark) records the end in its stead.
   */
  private async adoptIfOrphaned(
    jobId: string,
    failedReason: string | undefined,
    returnValue: unknown,
    opts: { startup?: boolean; recheck?: boolean } = {},
  ): Promise<void> {
    try {
      // Only the job's data (who submitted it, the run): its result, maybe a large diff, came with the event.
      const raw = await this.client.hget(this.queue.toKey(jobId), 'data');
      const data = raw === null ? undefined : (JSON.parse(raw) as QueuedTask);
      const origin = data?.origin;
      if (!origin || !data.job) return;
      // A job of this node's name that this node is not waiting on was taken by its previous life (a restart under
      // the same NODE_ID), which is gone: no need to ask its heartbeat.
      const previousLife = origin === this.nodeId;
      if (!opts.startup && !previousLife && (await this.client.exists(this.aliveKey(origin))) === 1) {
        // Its heartbeat may outlive it by up to the stall time: look once more when that has passed (the
        // taking-over side checks that the task has not ended meanwhile).
        if (!opts.recheck) {
          const timer = setTimeout(
            () => void this.adoptIfOrphaned(jobId, failedReason, returnValue, { recheck: true }),
            this.opts.stallTimeoutMs + 1000,
          );
          timer.unref();
        }
        return;
      }
      if (!(await this.markAdopted(jobId))) return;
      this.deps.logger.warn(
        { taskId: jobId, origin },
        "the node that took this task is gone: recording the task's end here",
      );
      await this.deps.onOrphan?.({
        taskId: jobId,
        origin,
        job: data.job,
        ...(failedReason === undefined
          ? { returnValue }
          : { error: errorOfFailedReason(failedReason, this.opts.stallTimeoutMs) }),
      });
    } catch (err) {
      this.deps.logger.warn({ err, taskId: jobId }, 'could not check whether an ended job was orphaned');
    }
  }

  /**
   * The tasks of nodes that are gone (no heartbeat), as their jobs stand in Redis: for a node starting up, so
   * that what a dead node acknowledged is finished or failed with a reason, never left `working`. A job that
   * ended is handed to `onOrphan` (once for the cluster); one that waits or runs is left to its worker (its end
   * reaches a live node as an orphan); one Redis does not have is returned, to be failed by the caller.
   */
  async sweepOrphans(tasks: readonly { taskId: string; node: string | undefined }[]): Promise<string[]> {
    const lost: string[] = [];
    for (const { taskId, node } of tasks) {
      // This node's name: its previous life, gone. Another live node's: left to it.
      if (node && node !== this.nodeId && (await this.client.exists(this.aliveKey(node))) === 1) continue;
      const state = await this.queue.getJobState(taskId);
      if (state === 'completed' || state === 'failed') {
        const job = await Job.fromId<QueuedTask>(this.queue, taskId);
        if (job)
          await this.adoptIfOrphaned(
            taskId,
            state === 'failed' ? job.failedReason : undefined,
            job.returnvalue,
            { startup: true },
          );
        continue;
      }
      if (state !== 'unknown') continue;
      if (await this.markAdopted(taskId)) lost.push(taskId);
    }
    return lost;
  }

  /** Claims the recording of a task's end for this node; false when another node claimed it first. */
  private async markAdopted(taskId: string): Promise<boolean> {
    const mark = `${this.opts.prefix}:${this.opts.queueName ?? 'tasks'}:adopted:${taskId}`;
    return (await this.client.set(mark, this.nodeId, 'PX', 24 * 3600_000, 'NX')) === 'OK';
  }

  private aliveKey(node: string): string {
    return `${this.opts.prefix}:nodes:${node}`;
  }

  /** Tells the cluster this node is alive, now and every third of the stall time (the key lasts the stall time). */
  private startHeartbeat(): void {
    const ttl = Math.max(1000, this.opts.stallTimeoutMs);
    const beat = (): void => {
      if (this.closed || this.client.status !== 'ready') return;
      void this.client.set(this.aliveKey(this.nodeId), String(Date.now()), 'PX', ttl).catch(() => undefined);
    };
    this.client.on('ready', beat);
    beat();
    this.heartbeat = setInterval(beat, Math.max(300, Math.floor(ttl / 3)));
    this.heartbeat.unref();
  }

  /** Re-reads the cluster's counts after a queue event; at most one read in flight, one more queued behind it. */
  private refreshCounts(): void {
    if (this.countsDirty || this.closed) return;
    this.countsDirty = true;
    setImmediate(() => {
      this.countsDirty = false;
      void this.refreshCountsNow().catch(() => undefined);
    });
  }

  private async refreshCountsNow(): Promise<void> {
    if (this.client.status !== 'ready') return;
    const c = await this.queue.getJobCounts('active', 'waiting', 'prioritized', 'delayed');
    this.counts = {
      active: c.active ?? 0,
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
    };
  }

  private fullError(): QueueFullError {
    const retry = this.retryAfterSec();
    return new QueueFullError(
      retry,
      `the task queue is full (${this.counts.active} running, ${this.counts.waiting + this.reserved} waiting); retry in ${retry} s`,
    );
  }

  /**
   * Stops taking work; this node's jobs that have not started are taken out of Redis and given back (a `shutdown`
   * RunAbort); running ones get `timeoutMs` to finish, then are aborted with `reason` and get `graceMs` more.
   */
  async drain(timeoutMs: number, graceMs: number, reason: string): Promise<{ aborted: number }> {
    this.accepting = false;
    for (const [taskId, entry] of this.local) {
      if (entry.started) continue;
      const removed = await this.queue.remove(taskId).catch(() => 0);
      if (removed === 1 || this.client.status !== 'ready') {
        this.forget(taskId);
        entry.reject(new RunAbort('shutdown', reason));
      }
    }
    const closing = this.worker?.close() ?? Promise.resolve();
    let aborted = 0;
    // With nothing running there is nothing to wait for but BullMQ itself, which may never settle (see
    // dropConnection): the close below drops its connections after a short wait.
    const waitMs = this.running.size === 0 ? Math.min(timeoutMs, CLOSE_WAIT_MS) : timeoutMs;
    if (!(await settlesWithin(closing, waitMs))) {
      aborted = this.running.size;
      for (const c of this.running.values()) c.abort(new RunAbort('shutdown', reason));
      if (aborted > 0) await settlesWithin(closing, graceMs);
    }
    await this.close();
    return { aborted };
  }

  /** Closes every connection (after {@link drain}, or in tests). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.accepting = false;
    clearInterval(this.heartbeat);
    // Gone on purpose: no need to wait for the key to lapse before others adopt what this node leaves.
    await settlesWithin(this.client.del(this.aliveKey(this.nodeId)), 500).catch(() => false);
    const polite = Promise.allSettled([this.worker?.close(true), this.events?.close(), this.queue.close()]);
    if (!(await settlesWithin(polite, CLOSE_WAIT_MS))) {
      // Redis is away, and BullMQ's close waits for it for ever (a gateway could not stop on SIGTERM): drop the
      // connections BullMQ opened instead, so no reconnect timer keeps the process alive.
      for (const part of [this.worker, this.events, this.queue]) dropConnection(part);
    }
    this.subscriber.disconnect();
    this.client.disconnect();
  }

  private noteDuration(ms: number): void {
    this.recentDurationsMs.push(ms);
    if (this.recentDurationsMs.length > 20) this.recentDurationsMs.shift();
  }
}

function parseCancel(message: string): { taskId: string; reason: string } | undefined {
  try {
    const value = JSON.parse(message) as { taskId?: unknown; reason?: unknown };
    if (typeof value.taskId !== 'string') return undefined;
    return { taskId: value.taskId, reason: typeof value.reason === 'string' ? value.reason : 'canceled' };
  } catch {
    return undefined;
  }
}

/** The error a submitter sees for a job that failed on a worker (an abort keeps its kind). */
function errorOfFailedReason(reason: string, stallTimeoutMs: number): Error {
  if (reason === STALLED_REASON) {
    return new Error(
      `the worker running the task stopped answering (no sign of life for ${formatSeconds(stallTimeoutMs)} s)`,
    );
  }
  const abort = /^run-abort:(canceled|timeout|shutdown):(.*)$/s.exec(reason);
  if (abort) return new RunAbort(abort[1] as RunAbort['kind'], abort[2] ?? '');
  return new Error(reason);
}

/** How long {@link BullMqQueue.close} waits for BullMQ to close politely before it drops the connections. */
const CLOSE_WAIT_MS = 2000;

/**
 * Disconnects the ioredis clients under a BullMQ worker, queue or queue events at once, without waiting for Redis
 * (BullMQ's own `disconnect()` awaits a client that waits for Redis to be ready), and stops a worker's timers.
 * A worker closed while its blocking client is still reconnecting (Redis back less than a second ago) waits for an
 * `end` event that never comes (taskforcesh/bullmq#4656), so its close never reaches the lock manager, whose lock
 * renewal timer would keep the process alive for ever.
 */
function dropConnection(part: unknown): void {
  type Connection = { _client?: { disconnect(): void } };
  type Holder = { connection?: Connection; blockingConnection?: Connection };
  type Timers = { lockManager?: { close(): Promise<void> }; stalledCheckStopper?: () => void };
  const timers = part as Timers | undefined;
  void timers?.lockManager?.close().catch(() => undefined);
  timers?.stalledCheckStopper?.();
  // BullMQ 6 keeps them on its backend (RedisQueueBackend); earlier versions on the object itself.
  const holders = [part as Holder | undefined, (part as { backend?: Holder } | undefined)?.backend];
  for (const conn of holders.flatMap((h) => [h?.connection, h?.blockingConnection])) {
    try {
      conn?._client?.disconnect();
    } catch {
      // Already gone.
    }
  }
}

function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

export { RedisUnavailableError };
