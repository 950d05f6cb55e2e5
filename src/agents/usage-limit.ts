/**
 * Usage limits: a coding agent's account that hit its model provider's rate or usage limit. The task waits for the
 * reset and runs the turn again instead of failing, and other tasks on the same account wait too rather than each
 * hitting the limit in turn; a reset too far off (past `maxWaitMs`) fails the task with the reason as before.
 */
import type { BackendOutcome } from './types.js';

/** Time, injectable so the waits can be tested without waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** What a limit message says. */
export interface LimitReport {
  /** When the limit resets (epoch ms), if the message said. */
  resetAt: number | undefined;
  /** The message, one line. */
  message: string;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

const DURATION_PART =
  /(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d)\b/gi;
/** "try again in 2 hours 3 minutes", "Please try again in 6.5s", "retry after 30 seconds". */
const AFTER =
  /(?:try again|retry|resets?|available again)\s+(?:in|after)\s+((?:\d+(?:\.\d+)?\s*[a-z]+[\s,]*(?:and\s+)?){1,4})/i;
/** Claude Code's "Claude AI usage limit reached|1767225600" (epoch seconds). */
const EPOCH = /limit reached\|(\d{10})\b/i;
/** "resets at 2026-12-04T22:00:00Z", "reset at 2026-12-04 22:00 UTC". */
const ISO_AT =
  /resets?\s+(?:at\s+)?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?)/i;

function durationMs(text: string): number | undefined {
  let total = 0;
  let found = false;
  for (const m of text.matchAll(DURATION_PART)) {
    const unit = (m[2] ?? '').toLowerCase().replace(/s$/, '');
    const per = UNIT_MS[unit] ?? UNIT_MS[(m[2] ?? '').toLowerCase()];
    if (per === undefined) continue;
    total += Number(m[1]) * per;
    found = true;
  }
  return found ? total : undefined;
}

/**
 * The reset time a limit message gives, as epoch ms: an epoch after "limit reached|", an ISO time after "resets",
 * or a duration after "try again in" / "retry after" (from `now`). Undefined when it names none.
 */
export function resetTimeIn(text: string, now: number): number | undefined {
  const epoch = EPOCH.exec(text);
  if (epoch?.[1]) return Number(epoch[1]) * 1000;
  const iso = ISO_AT.exec(text);
  if (iso?.[1]) {
    const at = Date.parse(iso[1].replace(' UTC', 'Z').replace(/ (?=\d{2}:)/, 'T'));
    if (Number.isFinite(at)) return at;
  }
  const after = AFTER.exec(text);
  if (after?.[1]) {
    const ms = durationMs(after[1]);
    if (ms !== undefined) return now + Math.ceil(ms);
  }
  return undefined;
}

/** The limit a failed turn ran into, or undefined when it failed for another reason. */
export function limitReportOf(outcome: BackendOutcome, now: number): LimitReport | undefined {
  if (outcome.status !== 'failed' || outcome.errorKind !== 'rate_limit') return undefined;
  const text = `${outcome.reason ?? ''}\n${outcome.summary}`;
  return {
    resetAt: resetTimeIn(text, now),
    message: (outcome.reason ?? outcome.summary).split('\n')[0] ?? '',
  };
}

/** The wait after a limit message that names no reset time (a bare HTTP 429, say). */
export const USAGE_LIMIT_DEFAULT_WAIT_MS = 60_000;

export interface UsageLimitOptions {
  /** The longest a task waits for a reset; 0 turns waiting off (a limit fails the task, as before). */
  maxWaitMs: number;
  /** The wait when a limit message names no reset time. */
  defaultWaitMs: number;
  clock?: Clock;
}

/** What {@link UsageLimits.decide} tells the run to do after a limit. */
export type LimitDecision =
  { wait: true; untilMs: number; message: string } | { wait: false; reason: string };

/**
 * The accounts (one per backend: each backend's CLI runs with its own credentials) that are waiting for a limit to
 * reset, shared by every task of the process.
 */
export class UsageLimits {
  private readonly blockedUntil = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly opts: UsageLimitOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  get enabled(): boolean {
    return this.opts.maxWaitMs > 0;
  }

  /** Until when the account is blocked (epoch ms), or undefined when it is free. */
  blocked(account: string): number | undefined {
    const until = this.blockedUntil.get(account);
    if (until === undefined) return undefined;
    if (until <= this.clock.now()) {
      this.blockedUntil.delete(account);
      return undefined;
    }
    return until;
  }

  /**
   * Records a limit the account ran into and says whether the task waits for it: yes when the reset is within
   * `maxWaitMs` from now (the default wait when the message names none), no (with the reason) otherwise.
   */
  decide(account: string, report: LimitReport): LimitDecision {
    const now = this.clock.now();
    const until = report.resetAt ?? now + this.opts.defaultWaitMs;
    const waitMs = until - now;
    if (!this.enabled) return { wait: false, reason: report.message };
    if (waitMs > this.opts.maxWaitMs) {
      const at = new Date(until).toISOString();
      return {
        wait: false,
        reason: `${report.message} (the limit resets at ${at}, more than USAGE_LIMIT_WAIT_MAX = ${Math.round(this.opts.maxWaitMs / 1000)} s from now)`,
      };
    }
    const held = this.blockedUntil.get(account);
    if (held === undefined || held < until) this.blockedUntil.set(account, Math.max(until, now));
    return { wait: true, untilMs: Math.max(until, now), message: report.message };
  }

  /**
   * Waits while the account is blocked (a limit another task ran into, or this one's). Rejects with the signal's
   * reason when it aborts (a cancel or the task's deadline). Returns at once when the account is free.
   */
  async waitFree(account: string, signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const until = this.blocked(account);
      if (until === undefined) return;
      await this.clock.sleep(until - this.clock.now(), signal);
    }
  }
}
