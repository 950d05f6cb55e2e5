/**
 * The normalized vocabulary every backend speaks. A backend turns a {@link TaskSpec} into a stream of
 * {@link AgentEvent}s and one {@link BackendOutcome}; it knows nothing of HTTP, A2A or storage.
 */

/** Token and cost figures, as far as the CLI reports them. */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  costUsd?: number;
  model?: string;
  numTurns?: number;
  durationMs?: number;
}

export type FileChangeKind = 'add' | 'update' | 'delete';

/** Classes of error a caller can act on differently. */
export type AgentErrorKind = 'auth' | 'rate_limit' | 'api' | 'not_installed' | 'other';

export type AgentEvent =
  /** Assistant text: a whole block, or a piece of one when `delta` is true. */
  | { type: 'text'; text: string; delta?: boolean }
  /** The agent calls a tool; `summary` is a short, single-line description of its arguments. */
  | { type: 'tool_call'; id?: string; name: string; summary: string }
  | { type: 'tool_result'; id?: string; name?: string; ok: boolean; summary: string }
  | { type: 'file_change'; path: string; kind: FileChangeKind }
  | { type: 'usage'; usage: Usage }
  /** The CLI's own session id, so a follow-up turn can resume it. */
  | { type: 'session'; sessionId: string }
  /** The agent needs an answer before it can go on. */
  | { type: 'needs_input'; question: string; options?: string[] }
  /** The CLI's final answer for this turn. */
  | { type: 'result'; text: string; isError: boolean }
  | { type: 'error'; message: string; kind: AgentErrorKind }
  /** A line the parser did not recognise, kept rather than dropped. */
  | { type: 'log'; stream: 'stdout' | 'stderr'; line: string };

export type AgentEventType = AgentEvent['type'];

/** Everything a backend needs to run one turn of one task. Built and validated by the service layer. */
export interface TaskSpec {
  taskId: string;
  contextId: string;
  skill: string;
  /** The rendered prompt for the coding agent. */
  prompt: string;
  /** The validated skill input (JSON object). */
  input: Readonly<Record<string, unknown>>;
  /** Absolute directory the agent works in. */
  workdir: string;
  /** Hard deadline for this run, in milliseconds. */
  timeoutMs: number;
  /** Model and effort the caller or config asked for, when any. */
  model?: string;
  effort?: string;
  /** A session to resume (follow-up turn in the same context). */
  resumeSessionId?: string;
  /** W3C trace context of the request that started the task, given to the child as `TRACEPARENT`. */
  traceparent?: string;
}

export type OutcomeStatus = 'completed' | 'failed' | 'canceled';

/** How a run ended, decided by the backend's own success rule. */
export interface BackendOutcome {
  status: OutcomeStatus;
  /** The agent's final answer, or the best summary of what it did. */
  summary: string;
  /** Why it failed or was canceled, in words a person can act on. */
  reason?: string;
  errorKind?: AgentErrorKind;
  usage?: Usage;
  sessionId?: string;
  exitCode?: number | null;
  signal?: string | null;
}

/**
 * A question a running backend puts to the caller: a permission request for a tool call, or the agent's own
 * question (Claude Code's AskUserQuestion). The service shows it as an A2A `input-required` status.
 */
export interface InputQuestion {
  kind: 'permission' | 'question';
  /** One line a person can answer ("Allow Bash: touch x?", or the agent's question). */
  text: string;
  /** The tool that needs permission, or the one the agent asks through. */
  tool?: string;
  /** A short, single-line summary of the tool's input (the command, the path). */
  input?: string;
  /** The tool's whole input, when it is small enough to show. */
  details?: Record<string, unknown>;
  /** The answers on offer: `allow`/`deny` for a permission, the option labels of a question. */
  options: string[];
  /** A question's parts (Claude Code asks up to four at once), each with its own options. */
  questions?: InputSubQuestion[];
}

export interface InputSubQuestion {
  question: string;
  header?: string;
  options: string[];
  multiSelect: boolean;
}

/** The caller's answer to an {@link InputQuestion}. */
export interface InputAnswer {
  /** `allow` lets the tool run (or answers the question); `deny` refuses (or declines to answer). */
  decision: 'allow' | 'deny';
  /** Words for the agent: why it was denied. */
  message?: string;
  /** A question's answers: question text to the chosen label(s) or free text. */
  answers?: Record<string, string>;
}

export interface BackendRunContext {
  spec: TaskSpec;
  /**
   * A private home directory for the conversation (one per A2A context, kept between its turns, never shared
   * between contexts): the child's HOME, where a CLI keeps its config and sessions.
   */
  home: string;
  /** True on the context's first turn (the home is new). */
  firstTurn: boolean;
  /** Aborted on cancel, deadline or shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  emit: (event: AgentEvent) => void;
  /**
   * Puts a question to the caller and waits for the answer. Given only when the skill may ask (the config opts it
   * in); without it the backend runs unattended, exactly as it always did. Rejects with a {@link RunAbort} when no
   * answer can come (none in time, the task was canceled, the gateway is stopping); the backend then ends the run
   * with that reason. `signal` (the run's) stops the wait early.
   */
  ask?: (question: InputQuestion, signal?: AbortSignal) => Promise<InputAnswer>;
}

/** One coding-agent CLI (or the generic command runner) and how to drive it. */
export interface Backend {
  readonly name: string;
  readonly type: string;
  /**
   * How a follow-up turn continues the conversation: `native` resumes the CLI's own session
   * (`spec.resumeSessionId`), `replay` starts a new session whose prompt carries the earlier turns. Absent: no
   * continuity beyond the shared workdir.
   */
  readonly resume?: 'native' | 'replay';
  /**
   * Why the backend cannot run a task of `skill` here at all (its CLI is not installed), as the failed outcome to
   * report; undefined when it can. Absent: always available.
   */
  unavailable?(skill: string): Promise<BackendOutcome | undefined>;
  run(ctx: BackendRunContext): Promise<BackendOutcome>;
}

/** Why a run was aborted; carried as `AbortSignal.reason`. */
export class RunAbort extends Error {
  constructor(
    readonly kind: 'canceled' | 'timeout' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'RunAbort';
  }
}
