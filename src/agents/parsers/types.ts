/**
 * The contract between a CLI backend and the parser of its headless output: stdout lines in, normalized
 * {@link AgentEvent}s out, and one {@link BackendOutcome} once the process has ended.
 */
import type { AgentErrorKind, AgentEvent, BackendOutcome, Usage } from '../types.js';

/** How the child process ended, as the backend saw it. */
export interface ProcessExit {
  exitCode: number | null;
  signal: string | null;
  /** We (the gateway) canceled the run: the outcome is `canceled` whatever the exit code says. */
  canceled: boolean;
  /** The run hit its deadline: the outcome is `failed`; the caller words the reason ("timed out after N s"). */
  timedOut: boolean;
  /** The last part of stderr, used to explain an exit the stream itself does not explain. */
  stderrTail: string;
}

/** An error the CLI reported, classified so a caller can act on it. */
export interface Failure {
  message: string;
  kind: AgentErrorKind;
  /** HTTP status of the model API call, when the CLI tells it. */
  status?: number;
}

/** What every parser tracks while reading a run; the outcome is decided from it. */
export interface ParserState {
  sessionId?: string;
  /** The directory the agent works in; paths under it are shown relative to it. */
  cwd?: string;
  /** Totals so far (each `usage` event carries the totals, not an increment). */
  usage: Usage;
  /** The latest assistant answer: the outcome's summary. */
  finalText: string;
  /** The CLI's own success marker arrived (a clean `result`, `completion`, `turn.completed`…). */
  succeeded: boolean;
  /** The CLI said the run failed. */
  failure?: Failure;
  /** The latest non-fatal error (retries, warnings): explains a run that ends without a verdict. */
  lastError?: Failure;
}

/** Options every parser accepts. */
export interface ParserOptions {
  /** The workspace directory; without it, the directory the CLI reports at start-up (when it does) is used. */
  cwd?: string;
}

/** Parses one run of one CLI. Not reusable: make a new one per run. */
export interface OutputParser {
  /** Feeds one stdout line; returns the events it yields. Never throws: unknown or malformed lines become `log` events. */
  line(line: string): AgentEvent[];
  /** Decides the outcome once the process has ended. Has no side effects; may be called more than once. */
  finish(exit: ProcessExit): BackendOutcome;
}

/** Makes a fresh parser for one run. */
export type ParserFactory = (options?: ParserOptions) => OutputParser;
