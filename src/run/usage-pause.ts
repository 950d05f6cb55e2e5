import type { BackendOutcome } from '../agents/types.js';
import { limitReportOf, type UsageLimits } from '../agents/usage-limit.js';

/** Limits in a row one turn waits out before it fails anyway (an account that keeps running into its limit). */
const MAX_PAUSES = 5;

export interface WithinLimitsOptions {
  /** The accounts' limits; absent or disabled (`USAGE_LIMIT_WAIT_MAX=0`): the turn runs once, as before. */
  limits: UsageLimits | undefined;
  /** The account: the backend's name (each backend's CLI runs with its own credentials). */
  account: string;
  /** A cancel or the task's deadline: ends a pause at once (the wait rejects with its reason). */
  signal: AbortSignal;
  /** Runs the turn; `again` is true for a run after a pause (resume the session where the backend can). */
  run: (again: boolean) => Promise<BackendOutcome>;
  /** Told when the turn pauses, and until when (epoch ms). */
  onPause: (untilMs: number) => void;
}

/**
 * Runs a backend turn within the account's usage limit: it waits first while the account is paused (another task
 * ran into the limit), and when the turn itself ends on a limit whose reset is within `USAGE_LIMIT_WAIT_MAX` it
 * waits for the reset and runs again instead of failing. A reset further off fails the turn with the reason naming
 * the reset time.
 */
export async function runWithinLimits(opts: WithinLimitsOptions): Promise<BackendOutcome> {
  const { limits, account, signal } = opts;
  if (!limits?.enabled) return opts.run(false);
  for (let pause = 0; ; pause++) {
    const until = limits.blocked(account);
    if (until !== undefined) {
      opts.onPause(until);
      await limits.waitFree(account, signal);
    }
    const outcome = await opts.run(pause > 0);
    const report = signal.aborted ? undefined : limitReportOf(outcome, Date.now());
    if (!report) return outcome;
    if (pause >= MAX_PAUSES) {
      return {
        ...outcome,
        reason: `${report.message} (still limited after ${MAX_PAUSES} waits for a reset)`,
      };
    }
    const decision = limits.decide(account, report);
    if (!decision.wait) return { ...outcome, reason: decision.reason };
  }
}
