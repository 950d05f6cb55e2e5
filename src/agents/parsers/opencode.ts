/** opencode (`opencode run --format json`). */
import type { AgentEvent } from '../types.js';
import { toFailure } from './errors.js';
import { fileChange, inferFileChanges } from './file-changes.js';
import { asRecord, num, str, type JsonObject } from './json.js';
import { JsonLineParser } from './json-line.js';
import type { ParserFactory, ParserOptions } from './types.js';

/** Steps of parts: `step_start`, `tool_use` (with its state), `text`, `step_finish` (tokens, cost); no deltas. */
class OpencodeParser extends JsonLineParser {
  /** Tool parts whose `tool_call` already went out. */
  private readonly called = new Set<string>();
  private steps = 0;

  constructor(options: ParserOptions) {
    super({ product: 'opencode', requireExitZero: true }, options);
  }

  protected handle(event: JsonObject): AgentEvent[] | undefined {
    const part = asRecord(event.part);
    const events = this.session(event.sessionID ?? part?.sessionID);
    switch (event.type) {
      case 'step_start':
        return events;
      case 'text': {
        const text = str(part?.text) ?? '';
        if (text.trim() === '') return events;
        this.state.finalText = text;
        return [...events, { type: 'text', text }];
      }
      case 'tool_use':
        return part ? [...events, ...this.tool(part)] : undefined;
      case 'step_finish':
        return part ? [...events, ...this.stepFinish(part)] : undefined;
      case 'error':
        return [...events, this.error(event.error)];
      default:
        return undefined;
    }
  }

  private tool(part: JsonObject): AgentEvent[] {
    const id = str(part.callID) ?? str(part.id) ?? '';
    const name = str(part.tool) ?? 'tool';
    const state = asRecord(part.state);
    const events: AgentEvent[] = [];
    if (!this.called.has(id)) {
      this.called.add(id);
      events.push(this.toolCall(id, name, state?.input));
    }
    const status = state?.status;
    if (status === 'completed') {
      const output = str(state?.output) ?? '';
      events.push(this.toolResult(id, true, output), ...this.fileChanges(name, state, output));
    } else if (status === 'error') {
      events.push(this.toolResult(id, false, str(state?.error) ?? 'tool failed'));
    }
    // pending and running: the call is out; its result comes with a later event for the same part.
    return events;
  }

  private fileChanges(tool: string, state: JsonObject | undefined, output: string): AgentEvent[] {
    const metadata = asRecord(state?.metadata);
    const path = str(metadata?.filepath);
    // The write tool says whether the file existed before.
    if (tool === 'write' && path && typeof metadata?.exists === 'boolean') {
      return [fileChange(path, metadata.exists ? 'update' : 'add', this.state.cwd)];
    }
    return inferFileChanges(tool, state?.input, output, this.state.cwd);
  }

  private stepFinish(part: JsonObject): AgentEvent[] {
    const tokens = asRecord(part.tokens);
    const cache = asRecord(tokens?.cache);
    const total = this.state.usage;
    // Each step reports its own figures; the usage event carries the run's totals.
    const add = (sofar: number | undefined, value: unknown): number | undefined => {
      const n = num(value);
      return n === undefined ? sofar : (sofar ?? 0) + n;
    };
    this.steps += 1;
    const events = [
      this.usage({
        inputTokens: add(total.inputTokens, tokens?.input),
        outputTokens: add(total.outputTokens, tokens?.output),
        cacheReadTokens: add(total.cacheReadTokens, cache?.read),
        cacheWriteTokens: add(total.cacheWriteTokens, cache?.write),
        costUsd: add(total.costUsd, part.cost),
        numTurns: this.steps,
      }),
    ];
    // "tool-calls" means another step follows; "stop" ends the run's answer.
    if (part.reason === 'stop') {
      this.succeed();
      events.push({ type: 'result', text: this.state.finalText, isError: false });
    }
    return events;
  }

  private error(error: unknown): AgentEvent {
    const record = asRecord(error);
    const data = asRecord(record?.data);
    const message =
      str(data?.message) ?? str(record?.message) ?? str(record?.name) ?? 'opencode reported an error';
    const failure = toFailure(message, num(data?.statusCode));
    this.fail(failure);
    return this.errorEvent(failure);
  }
}

/**
 * Parser for opencode. Success is a `step_finish` with reason "stop", no `error` after it, and exit 0; SIGTERM
 * exits 143 after a bare `step_start`.
 */
export const opencodeParser: ParserFactory = (options = {}) => new OpencodeParser(options);
