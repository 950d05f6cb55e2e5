/** What every JSONL parser shares: line handling that never throws, the tracked state, and event builders. */
import type { AgentEvent, BackendOutcome, Usage } from '../types.js';
import { compact, parseJsonObject, type JsonObject } from './json.js';
import { summarizeToolInput, summarizeToolOutput } from './summarize.js';
import type { Failure, OutputParser, ParserOptions, ParserState, ProcessExit } from './types.js';
import { decideOutcome, type SuccessRule } from './verdict.js';

/** Longest line kept in a `log` event; the rest is replaced by a count, so one runaway line cannot flood the logs. */
export const LOG_LINE_MAX = 2000;

/** A stdout line the parser did not recognise, kept (cut to {@link LOG_LINE_MAX}) rather than dropped. */
export function logLine(line: string): AgentEvent {
  const cut =
    line.length > LOG_LINE_MAX
      ? `${line.slice(0, LOG_LINE_MAX)}… (${line.length - LOG_LINE_MAX} more characters)`
      : line;
  return { type: 'log', stream: 'stdout', line: cut };
}

interface ToolUse {
  name: string;
  input: unknown;
}

/**
 * Base of the CLI parsers: each line is parsed as a JSON object and handed to {@link JsonLineParser.handle};
 * anything else, or anything `handle` does not recognise or chokes on, becomes a `log` event.
 */
export abstract class JsonLineParser implements OutputParser {
  protected readonly state: ParserState = { usage: {}, finalText: '', succeeded: false };
  /** Tool calls by id, so a result can be named and its file changes found. */
  private readonly tools = new Map<string, ToolUse>();
  private readonly cwdGiven: boolean;

  constructor(
    protected readonly rule: SuccessRule,
    options: ParserOptions = {},
  ) {
    this.cwdGiven = options.cwd !== undefined;
    if (options.cwd !== undefined) this.state.cwd = options.cwd;
  }

  line(raw: string): AgentEvent[] {
    const line = raw.trim();
    if (line === '') return [];
    const event = parseJsonObject(line);
    if (!event) return [logLine(line)];
    try {
      return this.handle(event, line) ?? [logLine(line)];
    } catch {
      // A line of a shape we did not foresee must not end the run: keep it as a log line.
      return [logLine(line)];
    }
  }

  finish(exit: ProcessExit): BackendOutcome {
    return decideOutcome(exit, this.state, this.rule);
  }

  /** The events one JSON line yields; undefined when the line is of a kind this CLI is not known to print. */
  protected abstract handle(event: JsonObject, line: string): AgentEvent[] | undefined;

  /** A `session` event the first time an id is seen (and whenever it changes); none for repeats. */
  protected session(id: unknown): AgentEvent[] {
    if (typeof id !== 'string' || id === '' || id === this.state.sessionId) return [];
    this.state.sessionId = id;
    return [{ type: 'session', sessionId: id }];
  }

  /** The working directory the CLI reports, used for relative paths unless the caller gave one. */
  protected reportCwd(cwd: unknown): void {
    if (!this.cwdGiven && typeof cwd === 'string' && cwd !== '') this.state.cwd = cwd;
  }

  /** A `tool_call` event, remembering the call so its result can be named. */
  protected toolCall(id: string | undefined, name: string, input: unknown, summary?: string): AgentEvent {
    if (id !== undefined) this.tools.set(id, { name, input });
    return compact<AgentEvent>({
      type: 'tool_call',
      id,
      name,
      summary: summary ?? summarizeToolInput(input, this.state.cwd),
    });
  }

  /** The call a result belongs to, if it was seen. */
  protected toolUse(id: string | undefined): ToolUse | undefined {
    return id === undefined ? undefined : this.tools.get(id);
  }

  /** A `tool_result` event, named after its call. */
  protected toolResult(id: string | undefined, ok: boolean, output: unknown, summary?: string): AgentEvent {
    return compact<AgentEvent>({
      type: 'tool_result',
      id,
      name: this.toolUse(id)?.name,
      ok,
      summary: summary ?? summarizeToolOutput(output, this.state.cwd),
    });
  }

  /** Merges figures into the run's totals and returns a `usage` event carrying the totals. */
  protected usage(figures: Usage): AgentEvent {
    Object.assign(this.state.usage, compact(figures));
    return { type: 'usage', usage: { ...this.state.usage } };
  }

  /** An `error` event for a failure. */
  protected errorEvent(failure: Failure): AgentEvent {
    return { type: 'error', message: failure.message, kind: failure.kind };
  }

  /** Records the CLI's success marker: a success clears any earlier failure (the last verdict counts). */
  protected succeed(): void {
    this.state.succeeded = true;
    if (this.state.failure) this.state.lastError = this.state.failure;
    delete this.state.failure;
  }

  /** Records the CLI's failure verdict (the last verdict counts). */
  protected fail(failure: Failure): void {
    this.state.succeeded = false;
    this.state.failure = failure;
  }
}
