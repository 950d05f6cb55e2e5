export { QueueFullError, SchedulerClosedError } from './task-queue.js';
import { RunAbort } from '../agents/types.js';
import {
  QueueFullError,
  SchedulerClosedError,
  type QueueStats,
  type Reservation,
  type SubmitOptions,
  type TaskQueue,
} from './task-queue.js';

export interface SchedulerOptions {
  maxConcurrent: number;
  maxQueued: number;
}

type Job<T> = (signal: AbortSignal) => Promise<T>;

interface Entry {
  taskId: string;
  timeoutMs: number;
  controller: AbortController;
  run: () => Promise<void>;
  reject: (err: unknown) => void;
  onStart?: () => void;
}

/**
 * Runs at most `maxConcurrent` jobs at once and holds at most `maxQueued` waiting, first in first out. Each job
 * gets one AbortSignal, aborted by its deadline (counted from when it starts), by {@link cancel}, or by
 * {@link abortAll}; `signal.reason` is a {@link RunAbort} saying which. A slot is freed only when the job's
 * promise settles, so a job must not settle before its processes are gone.
 */
export class InProcessQueue implements TaskQueue {
  private readonly queue: Entry[] = [];
  private readonly running = new Map<string, Entry>();
  private accepting = true;
  private idleWaiters: Array<() => void> = [];
  private recentDurationsMs: number[] = [];
  private reserved = 0;

  constructor(private readonly opts: SchedulerOptions) {}

  stats(): QueueStats {
    return {
      running: this.running.size,
      queued: this.queue.length,
      reserved: this.reserved,
      maxConcurrent: this.opts.maxConcurrent,
      maxQueued: this.opts.maxQueued,
    };
  }

  /** True when a new send would be refused: every running and waiting place is taken or held. */
  isFull(): boolean {
    const taken = this.running.size + this.queue.length + this.reserved;
    return taken >= this.opts.maxConcurrent + this.opts.maxQueued;
  }

  /**
   * Holds a place for a send being admitted; the one place that decides "full". Throws {@link QueueFullError}
   * when there is none, {@link SchedulerClosedError} when the scheduler takes no more work.
   */
  reserve(): Reservation {
    if (!this.accepting) throw new SchedulerClosedError();
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

  private fullError(): QueueFullError {
    const retry = this.retryAfterSec();
    return new QueueFullError(
      retry,
      `the task queue is full (${this.running.size} running, ${this.queue.length + this.reserved} waiting); retry in ${retry} s`,
    );
  }

  /** Seconds a refused caller should wait before trying again: about one task's run time spread over the slots. */
  retryAfterSec(): number {
    const durations = this.recentDurationsMs;
    const avgMs = durations.length > 0 ? durations.reduce((a, b) => a + b, 0) / durations.length : 5000;
    return Math.min(300, Math.max(1, Math.ceil(avgMs / 1000 / this.opts.maxConcurrent)));
  }

  has(taskId: string): boolean {
    return this.running.has(taskId) || this.queue.some((e) => e.taskId === taskId);
  }

  /**
   * Queues a job. Resolves or rejects with the job's own result; rejects with a {@link RunAbort} when the job
   * is canceled before it starts. A job with a `reservation` takes the place its admission held; one marked
   * `owed` (acknowledged before a restart) is queued whatever the bound; any other is refused with
   * {@link QueueFullError} when the queue is full.
   */
  submit<T>(taskId: string, timeoutMs: number, job: Job<T>, hooks: SubmitOptions = {}): Promise<T> {
    hooks.reservation?.release();
    if (!this.accepting) return Promise.reject(new SchedulerClosedError());
    if (this.has(taskId)) return Promise.reject(new Error(`task ${taskId} is already scheduled`));
    if (!hooks.reservation && !hooks.owed && this.isFull()) return Promise.reject(this.fullError());
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const entry: Entry = {
        taskId,
        timeoutMs,
        controller,
        reject,
        ...(hooks.onStart ? { onStart: hooks.onStart } : {}),
        run: async () => {
          const timer = setTimeout(() => {
            controller.abort(new RunAbort('timeout', `timed out after ${formatSeconds(timeoutMs)} s`));
          }, timeoutMs);
          const started = Date.now();
          try {
            resolve(await job(controller.signal));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          } finally {
            clearTimeout(timer);
            this.noteDuration(Date.now() - started);
          }
        },
      };
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Aborts a queued or running job; false when the scheduler does not know the task. */
  cancel(taskId: string, message = 'canceled by request'): boolean {
    const index = this.queue.findIndex((e) => e.taskId === taskId);
    if (index >= 0) {
      const [entry] = this.queue.splice(index, 1);
      entry?.reject(new RunAbort('canceled', message));
      this.notifyIdle();
      return true;
    }
    const entry = this.running.get(taskId);
    if (!entry) return false;
    if (!entry.controller.signal.aborted) entry.controller.abort(new RunAbort('canceled', message));
    return true;
  }

  /** Stops taking new work; queued jobs stay queued until {@link abortAll}. */
  close(): void {
    this.accepting = false;
  }

  /** Rejects every job still waiting for a slot. */
  abortQueued(cause: RunAbort['kind'], message: string): void {
    for (const entry of this.queue.splice(0)) entry.reject(new RunAbort(cause, message));
  }

  /** Aborts every queued and running job with the given cause. */
  abortAll(cause: RunAbort['kind'], message: string): void {
    for (const entry of this.queue.splice(0)) entry.reject(new RunAbort(cause, message));
    for (const entry of this.running.values()) {
      if (!entry.controller.signal.aborted) entry.controller.abort(new RunAbort(cause, message));
    }
    this.notifyIdle();
  }

  /**
   * Stops for good: takes no more work, gives back every waiting job (rejected with a `shutdown` RunAbort, so its
   * owner keeps it for the next start), lets running jobs finish for up to `timeoutMs`, then aborts the rest with
   * `reason` and waits up to `graceMs` for them to settle. Resolves with how many were still running at the end.
   */
  async drain(timeoutMs: number, graceMs: number, reason: string): Promise<{ aborted: number }> {
    this.close();
    this.abortQueued('shutdown', reason);
    if (await this.waitForIdle(timeoutMs)) return { aborted: 0 };
    const aborted = this.running.size;
    this.abortAll('shutdown', reason);
    await this.waitForIdle(graceMs);
    return { aborted };
  }

  /** Resolves true when nothing runs any more, or false when `timeoutMs` passes first. */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Starts queued jobs while slots are free; a closed scheduler starts none. */
  private pump(): void {
    while (this.accepting && this.running.size < this.opts.maxConcurrent && this.queue.length > 0) {
      const entry = this.queue.shift();
      if (!entry) break;
      this.running.set(entry.taskId, entry);
      entry.onStart?.();
      void entry.run().finally(() => {
        this.running.delete(entry.taskId);
        this.notifyIdle();
        this.pump();
      });
    }
  }

  private notifyIdle(): void {
    if (this.running.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private noteDuration(ms: number): void {
    this.recentDurationsMs.push(ms);
    if (this.recentDurationsMs.length > 20) this.recentDurationsMs.shift();
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}
