import type { AgentEvent, Usage } from '../agents/types.js';
import type { Logger } from '../observability/logger.js';

/** One progress report: its text and what it is (`event`: text, tool_call, needs_input, setup, usage_limit; usage so far). */
export interface ProgressUpdate {
  text: string;
  metadata: Record<string, unknown>;
}

export interface ProgressOptions {
  publish: (update: ProgressUpdate) => void;
  logger: Logger;
  /**
   * Under a burst (text arriving less than `burstGapMs` after the text before it), text arriving within this
   * window is sent as one update (default 400 ms).
   */
  coalesceMs?: number;
  /**
   * Text arriving at least this long after the text before it (an idle stream) is sent at once, with whatever
   * else arrives in the same turn of the event loop (default 50 ms).
   */
  burstGapMs?: number;
  /** Longest text of one update; longer text is cut (default 4000 characters). */
  maxUpdateChars?: number;
  /** Masks known secrets before text leaves the gateway. */
  redact?: (text: string) => string;
}

/** What a run produced besides its outcome, collected from its events. */
export interface RunRecord {
  changedFiles: Map<string, string>;
  usage: Usage | undefined;
  sessionId: string | undefined;
  lastResult: string | undefined;
  errors: string[];
  toolCalls: number;
}

/**
 * Turns a backend's agent events into progress reports: what the agent says (text deltas coalesced so a
 * token stream does not become thousands of updates) and which tool it runs. Also records what the final result
 * needs (changed files, usage, session id).
 */
export class ProgressReporter {
  readonly record: RunRecord = {
    changedFiles: new Map(),
    usage: undefined,
    sessionId: undefined,
    lastResult: undefined,
    errors: [],
    toolCalls: 0,
  };
  /** Text waiting to be sent, in pieces joined once at flush (appending to one string is quadratic on MBs). */
  private pieces: string[] = [];
  private endsWithNewline = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastTextAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** What the buffered text is: `text` (the agent's words) or `setup` (the set-up command's output). */
  private pendingKind = 'text';
  private readonly coalesceMs: number;
  private readonly burstGapMs: number;
  private readonly maxChars: number;

  constructor(private readonly opts: ProgressOptions) {
    this.coalesceMs = opts.coalesceMs ?? 400;
    this.burstGapMs = opts.burstGapMs ?? 50;
    this.maxChars = opts.maxUpdateChars ?? 4000;
  }

  private append(text: string, delta: boolean | undefined, kind = 'text'): void {
    if (text === '') return;
    // Text of another kind (the agent's words after set-up output) is its own update.
    if (this.pieces.length > 0 && kind !== this.pendingKind) this.flush();
    this.pendingKind = kind;
    if (!delta && this.pieces.length > 0 && !this.endsWithNewline) this.pieces.push('\n');
    this.pieces.push(text);
    this.endsWithNewline = text.endsWith('\n');
    const now = performance.now();
    const idle = now - this.lastTextAt >= this.burstGapMs;
    this.lastTextAt = now;
    if (this.timer || this.immediate) return;
    if (idle) this.immediate = setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.coalesceMs);
  }

  handle(event: AgentEvent): void {
    if (this.closed) return;
    switch (event.type) {
      case 'text':
        this.append(event.text, event.delta);
        break;
      case 'tool_call':
        this.flush();
        this.record.toolCalls += 1;
        this.send(`${event.name}${event.summary ? `: ${event.summary}` : ''}`, {
          event: 'tool_call',
          tool: event.name,
        });
        break;
      case 'tool_result':
        if (!event.ok) this.opts.logger.debug({ tool: event.name, summary: event.summary }, 'tool failed');
        break;
      case 'file_change':
        this.record.changedFiles.set(event.path, event.kind);
        break;
      case 'usage':
        this.record.usage = { ...this.record.usage, ...event.usage };
        break;
      case 'session':
        this.record.sessionId = event.sessionId;
        break;
      case 'result':
        this.record.lastResult = event.text;
        break;
      case 'error':
        this.record.errors.push(event.message);
        this.opts.logger.warn({ kind: event.kind }, `backend error: ${event.message}`);
        break;
      case 'needs_input':
        this.flush();
        this.send(event.question, { event: 'needs_input' });
        break;
      case 'log':
        this.opts.logger.debug({ stream: event.stream }, event.line);
        break;
      default: {
        const never: never = event;
        this.opts.logger.debug({ event: never }, 'unknown agent event');
      }
    }
  }

  /** Sends any buffered text now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const text = this.pieces.join('').trim();
    this.pieces = [];
    this.endsWithNewline = false;
    if (text) this.send(text, { event: this.pendingKind });
  }

  /**
   * A line of the worktree's set-up command (and the line saying which command runs): coalesced like the agent's
   * text, sent with `event: setup`.
   */
  setupLine(line: string): void {
    if (this.closed) return;
    this.append(line, false, 'setup');
  }

  /** A word from the gateway itself (`event` names it, e.g. `usage_limit`), sent at once after any buffered text. */
  note(text: string, event: string, extra: Record<string, unknown> = {}): void {
    if (this.closed) return;
    this.flush();
    this.send(text, { event, ...extra });
  }

  /** Flushes and stops: events after the run ended are dropped. */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private send(text: string, metadata: Record<string, unknown>): void {
    const clean = this.opts.redact ? this.opts.redact(text) : text;
    const cut = clean.length > this.maxChars ? `${clean.slice(0, this.maxChars)}…` : clean;
    // Usage so far rides along, so a client can show the cost while the task runs.
    if (this.record.usage) metadata = { ...metadata, usage: { ...this.record.usage } };
    this.opts.publish({ text: cut, metadata });
  }
}
