/** The one place that turns what a parser saw, plus how the process ended, into a {@link BackendOutcome}. */
import type { BackendOutcome } from '../types.js';
import { classifyError, describeFailure } from './errors.js';
import { oneLine } from './summarize.js';
import type { ParserState, ProcessExit } from './types.js';

/** How one CLI signals success, beyond the success marker in its stream. */
export interface SuccessRule {
  /** The product name people know, for reasons ("Claude Code exited with code 1"). */
  product: string;
  /**
   * Whether exit code 0 is needed too. Gemini CLI's stream verdict is trusted alone: its exit code on API errors is
   * the HTTP status mod 256.
   */
  requireExitZero: boolean;
}

const SIGNAL_EXITS: Readonly<Record<number, string>> = { 130: 'SIGINT', 137: 'SIGKILL', 143: 'SIGTERM' };

/**
 * Decides the outcome: canceled wins, then a timeout, then the CLI's own verdict, then the exit status. `errorKind`
 * is set only when the error could be classified (never `other`).
 */
export function decideOutcome(exit: ProcessExit, state: ParserState, rule: SuccessRule): BackendOutcome {
  const base: BackendOutcome = {
    status: 'failed',
    summary: state.finalText.trim(),
    exitCode: exit.exitCode,
    signal: exit.signal,
  };
  if (state.sessionId !== undefined) base.sessionId = state.sessionId;
  if (Object.keys(state.usage).length > 0) base.usage = { ...state.usage };
  const { product } = rule;

  // Several CLIs exit 0 (droid, Claude on SIGINT) or even finish the turn (Gemini's relaunched child) after we
  // signalled them: only our own record of the cancel is reliable.
  if (exit.canceled) return { ...base, status: 'canceled', reason: `${product} run canceled` };
  if (exit.timedOut) return { ...base, reason: `${product} timed out` };

  if (state.failure) {
    const { kind } = state.failure;
    const reason = describeFailure(product, state.failure);
    return kind === 'other' ? { ...base, reason } : { ...base, reason, errorKind: kind };
  }
  const exitedCleanly = exit.exitCode === 0 && exit.signal === null;
  if (state.succeeded && (exitedCleanly || !rule.requireExitZero)) return { ...base, status: 'completed' };

  const stderr = oneLine(exit.stderrTail, 300);
  const detail = [
    stderr && `stderr: ${stderr}`,
    state.lastError && `last error: ${oneLine(state.lastError.message, 300)}`,
  ]
    .filter(Boolean)
    .join('; ');
  const lastKind = state.lastError?.kind;
  const kind = lastKind && lastKind !== 'other' ? lastKind : classifyError(stderr);
  const how = state.succeeded ? `reported success but ${exitDescription(exit)}` : exitDescription(exit);
  const reason = `${product} ${how}${detail ? ` (${detail})` : ''}`;
  return kind === 'other' ? { ...base, reason } : { ...base, reason, errorKind: kind };
}

function exitDescription(exit: ProcessExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal} before it finished`;
  if (exit.exitCode === null || exit.exitCode === 0) return 'ended without a result';
  const signal = SIGNAL_EXITS[exit.exitCode];
  return `exited with code ${exit.exitCode}${signal ? ` (${signal}) before it finished` : ''}`;
}
