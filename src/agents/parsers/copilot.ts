/** GitHub Copilot CLI (`copilot -p … --output-format json`). */
import type { AgentEvent, FileChangeKind } from '../types.js';
import { toFailure } from './errors.js';
import { fileChange } from './file-changes.js';
import { arr, asRecord, num, str, type JsonObject } from './json.js';
import { JsonLineParser } from './json-line.js';
import type { ParserFactory, ParserOptions } from './types.js';

const EDIT_KINDS: Readonly<Record<string, FileChangeKind>> = {
  create: 'add',
  add: 'add',
  edit: 'update',
  update: 'update',
  modify: 'update',
  delete: 'delete',
};

// Event families whose other members (turn and model-call bookkeeping, skills, MCP) carry nothing for a caller.
const QUIET_FAMILIES = /^(session|assistant|model|tool|user)\./;

/**
 * `session.*`, `assistant.*` (with text deltas), `tool.execution_*` and a final `result` that alone carries the
 * session id.
 */
class CopilotParser extends JsonLineParser {
  /** Messages whose text already went out as deltas. */
  private readonly streamed = new Set<string>();
  private streamingText = '';
  private model: string | undefined;

  constructor(options: ParserOptions) {
    super({ product: 'Copilot CLI', requireExitZero: true }, options);
  }

  protected handle(event: JsonObject): AgentEvent[] | undefined {
    const type = str(event.type) ?? '';
    const data = asRecord(event.data) ?? {};
    switch (type) {
      case 'assistant.message_delta': {
        const text = str(data.deltaContent) ?? '';
        if (text === '') return [];
        const id = str(data.messageId) ?? '';
        if (!this.streamed.has(id)) this.streamingText = '';
        this.streamed.add(id);
        // A run that dies mid-message never sends the whole message: the deltas are all the answer there is.
        this.streamingText += text;
        this.state.finalText = this.streamingText;
        return [{ type: 'text', text, delta: true }];
      }
      case 'assistant.message':
        return this.message(data);
      case 'tool.execution_start':
        return [this.toolCall(str(data.toolCallId), str(data.toolName) ?? 'tool', data.arguments)];
      case 'tool.execution_complete':
        return this.toolComplete(data);
      case 'session.tools_updated':
        this.model = str(data.model) ?? this.model;
        return [];
      case 'session.error': {
        const failure = toFailure(str(data.message) ?? 'Copilot CLI reported an error', num(data.statusCode));
        this.fail(failure);
        return [this.errorEvent(failure)];
      }
      case 'model.call_failure':
        // Retried; explains the run only if it ends without a verdict.
        this.state.lastError = toFailure(str(data.errorMessage) ?? 'model call failed');
        return [];
      case 'result':
        return this.result(event);
      default:
        return QUIET_FAMILIES.test(type) ? [] : undefined;
    }
  }

  private message(data: JsonObject): AgentEvent[] {
    this.model = str(data.model) ?? this.model;
    const text = str(data.content) ?? '';
    // Tool requests come back as tool.execution_* events; an empty message is one that only asked for tools.
    if (text.trim() === '') return [];
    this.state.finalText = text;
    return this.streamed.has(str(data.messageId) ?? '') ? [] : [{ type: 'text', text }];
  }

  private toolComplete(data: JsonObject): AgentEvent[] {
    const id = str(data.toolCallId);
    const ok = data.success === true;
    const result = asRecord(data.result);
    const output = str(result?.content) ?? str(asRecord(data.error)?.message) ?? '';
    const events = [this.toolResult(id, ok, output)];
    for (const entry of arr(data.fileEdits)) {
      const edit = asRecord(entry);
      const path = str(edit?.path);
      const kind = EDIT_KINDS[str(edit?.kind) ?? ''] ?? 'update';
      if (path) events.push(fileChange(path, kind, this.state.cwd));
    }
    return events;
  }

  private result(event: JsonObject): AgentEvent[] {
    const events = this.session(event.sessionId);
    const usage = asRecord(event.usage);
    events.push(this.usage({ model: this.model, durationMs: num(usage?.sessionDurationMs) }));
    const exitCode = num(event.exitCode);
    if (exitCode === 0) {
      this.succeed();
      events.push({ type: 'result', text: this.state.finalText, isError: false });
      return events;
    }
    // Keep the session.error that explains it, if one came.
    if (!this.state.failure)
      this.fail(this.state.lastError ?? toFailure(`the run ended with exit code ${exitCode ?? 'unknown'}`));
    events.push({ type: 'result', text: this.state.finalText, isError: true });
    return events;
  }
}

/** Parser for Copilot CLI. Success is `result.exitCode === 0` and exit 0; the session id arrives only with it. */
export const copilotParser: ParserFactory = (options = {}) => new CopilotParser(options);
