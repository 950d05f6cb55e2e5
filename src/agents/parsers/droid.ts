/** Factory droid (`droid exec --output-format stream-json`). */
import type { AgentEvent } from '../types.js';
import { toFailure } from './errors.js';
import { inferFileChanges } from './file-changes.js';
import { anthropicTokens, num, str, type JsonObject } from './json.js';
import { JsonLineParser } from './json-line.js';
import type { ParserFactory, ParserOptions } from './types.js';

/** stream-json has whole messages only (no deltas), tool calls and results, and a final `completion`. */
class DroidParser extends JsonLineParser {
  private model: string | undefined;

  constructor(options: ParserOptions) {
    super({ product: 'Factory droid', requireExitZero: true }, options);
  }

  protected handle(event: JsonObject): AgentEvent[] | undefined {
    switch (event.type) {
      case 'system':
        if (event.subtype !== 'init') return undefined;
        this.reportCwd(event.cwd);
        this.model = str(event.model);
        return this.session(event.session_id);
      case 'message':
        return this.message(event);
      case 'tool_call':
        return [
          this.toolCall(str(event.id), str(event.toolName) ?? str(event.toolId) ?? 'tool', event.parameters),
        ];
      case 'tool_result':
        return this.toolResultEvents(event);
      case 'completion':
        return this.completion(event);
      case 'error':
        return this.error(event);
      default:
        return undefined;
    }
  }

  private message(event: JsonObject): AgentEvent[] {
    const text = str(event.text) ?? '';
    // The user message is our own prompt echoed back.
    if (event.role !== 'assistant' || text.trim() === '') return [];
    this.state.finalText = text;
    return [{ type: 'text', text }];
  }

  private toolResultEvents(event: JsonObject): AgentEvent[] {
    const id = str(event.id);
    const ok = event.isError !== true;
    const output = str(event.value) ?? '';
    const events = [this.toolResult(id, ok, output)];
    const call = this.toolUse(id);
    if (ok && call) events.push(...inferFileChanges(call.name, call.input, output, this.state.cwd));
    return events;
  }

  private completion(event: JsonObject): AgentEvent[] {
    const events = this.session(event.session_id);
    events.push(
      this.usage({
        ...anthropicTokens(event.usage),
        model: this.model,
        numTurns: num(event.numTurns),
        durationMs: num(event.durationMs),
      }),
    );
    const finalText = str(event.finalText);
    if (finalText) this.state.finalText = finalText;
    this.succeed();
    events.push({ type: 'result', text: this.state.finalText, isError: false });
    return events;
  }

  private error(event: JsonObject): AgentEvent[] {
    const failure = toFailure(str(event.message) ?? 'droid reported an error');
    // The model API's error comes first (source agent_loop); the CLI's "Exec failed" that follows adds nothing.
    if (!this.state.failure) this.fail(failure);
    return [this.errorEvent(failure)];
  }
}

/**
 * Parser for Factory droid. Success is a `completion` event and exit 0: on SIGTERM or SIGINT droid exits 0 with no
 * completion, which is a failure unless we canceled the run.
 */
export const droidParser: ParserFactory = (options = {}) => new DroidParser(options);
