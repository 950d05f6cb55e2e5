/** The send was refused because the queue is full; `retryAfterSec` is a hint for the caller. */
export class QueueFullError extends Error {
  readonly code = 'queue_full';
  constructor(
    readonly retryAfterSec: number,
    message: string,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}

/** The scheduler no longer takes work (the gateway is shutting down). */
export class SchedulerClosedError extends Error {
  readonly code = 'shutting_down';
  constructor() {
    super('the gateway is shutting down and takes no new tasks');
    this.name = 'SchedulerClosedError';
  }
}

/** What the queue holds now, for health, metrics and admission's messages. */
export interface QueueStats {
  running: number;
  queued: number;
  /** Sends admitted and not yet queued (their task is being created, or waits for its conversation's turn). */
  reserved: number;
  maxConcurrent: number;
  maxQueued: number;
}

/**
 * A place in the queue held for a send between its admission and its submission, so that a send admitted is
 * never refused later. Released once: by the submission that uses it, or by whoever gives up the send.
 */
export interface Reservation {
  release(): void;
}

export interface SubmitOptions {
  /** Called when the job gets a slot and starts. */
  onStart?: () => void;
  /** The place admission held for this job: it is used, and the bound is not checked again. */
  reservation?: Reservation;
  /** A job acknowledged before a restart: queued whatever the bound. */
  owed?: boolean;
}

/**
 * Where accepted tasks wait for a slot and run: bounded concurrency and waiting room, one AbortSignal per job
 * (its deadline, a cancel or a shutdown, with a RunAbort as its reason). Admission asks it once
 * ({@link reserve}); nobody else decides "full". Today's implementation runs jobs in this process
 * (`InProcessQueue`); a queue on Redis would implement the same port.
 */
export interface TaskQueue {
  /** Holds a place for a send; throws {@link QueueFullError} or {@link SchedulerClosedError}. */
  reserve(): Reservation;
  /** Runs a job when a slot is free; settles with the job's own result (or a RunAbort when it never started). */
  submit<T>(
    taskId: string,
    timeoutMs: number,
    job: (signal: AbortSignal) => Promise<T>,
    opts?: SubmitOptions,
  ): Promise<T>;
  /** Aborts a waiting or running job; false when the queue does not know the task. */
  cancel(taskId: string, message?: string): boolean;
  stats(): QueueStats;
  /** True when a send would be refused now (a hint for the edge; admission's {@link reserve} decides). */
  isFull(): boolean;
  /** Seconds a refused caller should wait before trying again. */
  retryAfterSec(): number;
  /** Stops taking work, gives back waiting jobs, lets running ones finish within `timeoutMs`, then aborts them. */
  drain(timeoutMs: number, graceMs: number, reason: string): Promise<{ aborted: number }>;
}

/** @deprecated the old name of {@link QueueStats}. */
export type SchedulerStats = QueueStats;
