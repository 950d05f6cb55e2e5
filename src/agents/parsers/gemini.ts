/** Gemini CLI (`gemini -p … --output-format stream-json`). */
import type { AgentEvent, BackendOutcome } from '../types.js';
import { classifyError, failureFrom, toFailure } from './errors.js';
import { inferFileChanges } from './file-changes.js';
import { asRecord, num, str, type JsonObject } from './json.js';
import { JsonLineParser } from './json-line.js';
import type { Failure, ParserFactory, ParserOptions, ProcessExit } from './types.js';
import { decideOutcome } from './verdict.js';

// Documented exit codes that explain a run whose stream says nothing (gemini-cli docs, headless.md).
const DOCUMENTED_EXITS: Readonly<Record<number, Failure>> = {
  41: { message: 'authentication is not configured (exit code 41)', kind: 'auth' },
  42: { message: 'the input was rejected (exit code 42)', kind: 'other' },
  44: { message: 'the sandbox failed (exit code 44)', kind: 'other' },
  52: { message: 'the configuration is invalid (exit code 52)', kind: 'other' },
  53: { message: 'the turn limit was reached (exit code 53)', kind: 'other' },
  54: { message: 'a tool failed (exit code 54)', kind: 'other' },
  55: { message: 'the workspace is not trusted (exit code 55)', kind: 'other' },
};

/** Init, assistant text deltas, tool use and results, and a final `result` with stats (no session id in it). */
class GeminiParser extends JsonLineParser {
  private model: string | undefined;
  /** Assistant text since the last tool call: the answer, when the turn ends. */
  private answer = '';

  constructor(options: ParserOptions) {
    super({ product: 'Gemini CLI', requireExitZero: false }, options);
  }

  protected handle(event: JsonObject): AgentEvent[] | undefined {
    switch (event.type) {
      case 'init':
        this.model = str(event.model);
        return this.session(event.session_id);
      case 'message':
        return this.message(event);
      case 'tool_use':
        this.answer = '';
        return [this.toolCall(str(event.tool_id), str(event.tool_name) ?? 'tool', event.parameters)];
      case 'tool_result':
        return this.toolResultEvents(event);
      case 'error': {
        // Stream errors are warnings (loop detection, retries); the `result` carries the verdict.
        const failure = toFailure(str(event.message) ?? 'Gemini CLI reported an error');
        this.state.lastError = failure;
        return [this.errorEvent(failure)];
      }
      case 'result':
        return this.result(event);
      default:
        return undefined;
    }
  }

  private message(event: JsonObject): AgentEvent[] {
    const text = str(event.content) ?? '';
    // The user message is our own prompt echoed back.
    if (event.role !== 'assistant' || text === '') return [];
    this.answer += text;
    this.state.finalText = this.answer;
    return [event.delta === true ? { type: 'text', text, delta: true } : { type: 'text', text }];
  }

  private toolResultEvents(event: JsonObject): AgentEvent[] {
    const id = str(event.tool_id);
    const ok = event.status === 'success';
    const output = str(event.output) ?? str(asRecord(event.error)?.message) ?? '';
    const events = [this.toolResult(id, ok, output || (str(event.status) ?? ''))];
    const call = this.toolUse(id);
    if (ok && call) events.push(...inferFileChanges(call.name, call.input, output, this.state.cwd));
    return events;
  }

  private result(event: JsonObject): AgentEvent[] {
    const stats = asRecord(event.stats);
    const events = [
      this.usage({
        inputTokens: num(stats?.input_tokens),
        outputTokens: num(stats?.output_tokens),
        cacheReadTokens: num(stats?.cached),
        durationMs: num(stats?.duration_ms),
        model: mainModel(stats?.models) ?? this.model,
      }),
    ];
    if (event.status === 'success') {
      this.succeed();
      events.push({ type: 'result', text: this.state.finalText, isError: false });
      return events;
    }
    const failure = failureFrom(event.error, 'Gemini CLI reported an error');
    this.fail(failure);
    events.push(this.errorEvent(failure));
    return events;
  }

  override finish(exit: ProcessExit): BackendOutcome {
    return decideOutcome(exit, { ...this.state, ...this.exitExplained(exit) }, this.rule);
  }

  /**
   * What the exit code adds: on API errors Gemini CLI exits with the HTTP status mod 256 (401 → 145), which names
   * the kind when the error text does not; a documented code explains a run that printed no verdict.
   */
  private exitExplained(exit: ProcessExit): { failure?: Failure } {
    const code = exit.exitCode;
    if (code === null) return {};
    const failure = this.state.failure;
    if (failure) {
      if (failure.status !== undefined || code < 144) return {};
      const status = code + 256;
      return { failure: { ...failure, status, kind: classifyError(failure.message, status) } };
    }
    const documented = DOCUMENTED_EXITS[code];
    return documented && !this.state.succeeded ? { failure: documented } : {};
  }
}

/** The model that used most tokens (the router's small model also shows up in `stats.models`). */
function mainModel(models: unknown): string | undefined {
  const tokens = (entry: unknown): number => num(asRecord(entry)?.total_tokens) ?? 0;
  const ranked = Object.entries(asRecord(models) ?? {}).sort(([, a], [, b]) => tokens(b) - tokens(a));
  return ranked[0]?.[0];
}

/**
 * Parser for Gemini CLI. Success is `result.status === "success"`, trusted alone: on API errors the exit code is
 * the HTTP status mod 256 (145 for a 401), which is read only to classify the error.
 */
export const geminiParser: ParserFactory = (options = {}) => new GeminiParser(options);
