import type { RunResult } from '../runner/types.js';
import { RunAbort, type BackendOutcome } from './types.js';

/** The last `max` characters of a text, for error messages. */
export function tail(text: string, max = 600): string {
  const trimmed = text.trim();
  return trimmed.length > max ? `…${trimmed.slice(-max)}` : trimmed;
}

/** How an aborted run ends: canceled by the caller, or failed by its deadline or a shutdown. */
export function abortedOutcome(signal: AbortSignal, summary = ''): BackendOutcome {
  const reason: unknown = signal.reason;
  if (reason instanceof RunAbort && reason.kind !== 'canceled') {
    return { status: 'failed', summary, reason: reason.message };
  }
  return {
    status: 'canceled',
    summary,
    reason: reason instanceof RunAbort ? reason.message : 'canceled',
  };
}

/** The outcome of a run that could not start (missing command, bad cwd). */
export function spawnFailure(
  backend: string,
  command: string,
  result: RunResult,
): BackendOutcome | undefined {
  if (!result.spawnError) return undefined;
  const { code, message } = result.spawnError;
  if (code === 'ENOENT') {
    return {
      status: 'failed',
      summary: '',
      errorKind: 'not_installed',
      reason: `backend "${backend}": command "${command}" was not found; install it or point the backend's command at it`,
    };
  }
  return {
    status: 'failed',
    summary: '',
    reason: `backend "${backend}": could not start "${command}": ${message}`,
  };
}
