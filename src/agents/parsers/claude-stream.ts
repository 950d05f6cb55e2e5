/**
 * Claude Code's `--output-format stream-json --verbose` protocol, which Qwen Code also speaks: `system/init`,
 * `assistant` and `user` messages (one content block each), optional `stream_event` partial messages, and a final
 * `result`.
 */
import type { AgentErrorKind, AgentEvent, FileChangeKind } from '../types.js';
import { toFailure } from './errors.js';
import { fileChange, inferFileChanges } from './file-changes.js';
import { anthropicTokens, arr, asRecord, num, str, type JsonObject } from './json.js';
import { JsonLineParser } from './json-line.js';
import { contentText } from './summarize.js';
import type { Failure, ParserOptions } from './types.js';

/** What differs between the CLIs that speak this protocol. */
export interface ClaudeStreamOptions extends ParserOptions {
  product: string;
  /**
   * Also treat a result whose text carries `[API Error` as a failure, whatever `is_error` says (Qwen Code reports
   * connection failures as `is_error:false`).
   */
  apiErrorInText: boolean;
}

// The `error` field of Claude Code's synthetic assistant message, for the kinds that matter to a caller.
const SYNTHETIC_ERROR_KINDS: Readonly<Record<string, AgentErrorKind>> = {
  authentication_failed: 'auth',
  rate_limit: 'rate_limit',
  server_error: 'api',
};

// Up to the last `]` (the error may embed a JSON body), or to the end when the bracket never closes.
const API_ERROR_IN_TEXT = /\[API Error(?:[\s\S]*\]|[\s\S]*)/;

/** Parser for the Claude-Code-compatible stream-json output. */
export class ClaudeStreamParser extends JsonLineParser {
  /** Messages whose text already went out as deltas, so their whole blocks are not sent twice. */
  private readonly streamed = new Set<string>();
  private streamingMessage: string | undefined;
  private streamingText = '';
  private initModel: string | undefined;

  constructor(private readonly options: ClaudeStreamOptions) {
    super({ product: options.product, requireExitZero: true }, options);
  }

  protected handle(event: JsonObject): AgentEvent[] | undefined {
    switch (event.type) {
      case 'system':
        return this.system(event);
      case 'stream_event':
        return this.partial(asRecord(event.event));
      case 'assistant':
        return this.assistant(event);
      case 'user':
        return this.user(event);
      case 'result':
        return this.result(event);
      case 'control_request':
      case 'control_cancel_request':
      case 'control_response':
        // The control channel (`--permission-prompt-tool stdio`): the backend answers it, it is not progress.
        return [];
      default:
        return undefined;
    }
  }

  private system(event: JsonObject): AgentEvent[] | undefined {
    switch (event.subtype) {
      case 'init':
        this.reportCwd(event.cwd);
        this.initModel = str(event.model) ?? this.initModel;
        return this.session(event.session_id);
      case 'api_retry':
        // Not a failure yet; explains the run if it dies while retrying.
        this.state.lastError = toFailure(str(event.error) ?? 'model API error', num(event.error_status));
        return [];
      case 'status':
        return [];
      default:
        return undefined;
    }
  }

  /** Raw Anthropic SSE events (`--include-partial-messages`): only text deltas matter; whole blocks follow anyway. */
  private partial(sse: JsonObject | undefined): AgentEvent[] {
    if (sse?.type === 'message_start') {
      this.streamingMessage = str(asRecord(sse.message)?.id);
      this.streamingText = '';
    }
    const delta = asRecord(sse?.delta);
    if (sse?.type !== 'content_block_delta' || delta?.type !== 'text_delta') return [];
    const text = str(delta.text);
    if (!text) return [];
    if (this.streamingMessage !== undefined) this.streamed.add(this.streamingMessage);
    // A run killed mid-stream never gets the whole block: the deltas are all the answer there is.
    this.streamingText += text;
    this.state.finalText = this.streamingText;
    return [{ type: 'text', text, delta: true }];
  }

  private assistant(event: JsonObject): AgentEvent[] {
    const message = asRecord(event.message);
    const blocks = arr(message?.content);
    const errorCode = str(event.error);
    if (errorCode !== undefined || message?.model === '<synthetic>') {
      // Claude Code's stand-in reply when the API call failed: an error, not the agent's answer.
      const failure = toFailure(contentText(blocks) || errorCode || 'model API error');
      const kind = SYNTHETIC_ERROR_KINDS[errorCode ?? ''] ?? failure.kind;
      this.state.lastError = { ...failure, kind };
      return [this.errorEvent({ ...failure, kind })];
    }
    const alreadyStreamed = this.streamed.has(str(message?.id) ?? '');
    // A subagent's words (inside a Task call) are progress, not the run's answer.
    const nested = typeof event.parent_tool_use_id === 'string';
    const events: AgentEvent[] = [];
    for (const item of blocks) {
      const block = asRecord(item);
      if (block?.type === 'text') {
        const text = str(block.text) ?? '';
        if (text.trim() === '') continue;
        if (!nested) this.state.finalText = text;
        if (!alreadyStreamed) events.push({ type: 'text', text });
      } else if (block?.type === 'tool_use') {
        events.push(this.toolCall(str(block.id), str(block.name) ?? 'tool', block.input));
      }
      // thinking blocks are the model's scratchpad, not progress a caller should see.
    }
    return events;
  }

  private user(event: JsonObject): AgentEvent[] {
    const events: AgentEvent[] = [];
    const results = arr(asRecord(event.message)?.content)
      .map(asRecord)
      .filter((block): block is JsonObject => block?.type === 'tool_result');
    // `tool_use_result` describes the event's one tool result; with several it cannot be told whose it is.
    const structured = results.length === 1 ? structuredChange(event.tool_use_result) : undefined;
    for (const block of results) {
      const id = str(block.tool_use_id);
      const ok = block.is_error !== true;
      events.push(this.toolResult(id, ok, block.content));
      if (!ok) continue;
      const call = this.toolUse(id);
      if (structured) events.push(fileChange(structured.path, structured.kind, this.state.cwd));
      else if (call) {
        events.push(...inferFileChanges(call.name, call.input, contentText(block.content), this.state.cwd));
      }
    }
    // Other user content is the prompt echoed back, or "[Request interrupted by user]": nothing new to report.
    return events;
  }

  private result(event: JsonObject): AgentEvent[] {
    const events = this.session(event.session_id);
    events.push(
      this.usage({
        ...anthropicTokens(event.usage),
        costUsd: num(event.total_cost_usd),
        model: mainModel(event.modelUsage) ?? this.initModel,
        numTurns: num(event.num_turns),
        durationMs: num(event.duration_ms),
      }),
    );
    const text = str(event.result) ?? '';
    const apiError = this.options.apiErrorInText ? API_ERROR_IN_TEXT.exec(text)?.[0] : undefined;
    // `subtype` says "success" even on API errors: `is_error` is the verdict.
    if (event.is_error === false && apiError === undefined) {
      this.succeed();
      if (text !== '') this.state.finalText = text;
      events.push({ type: 'result', text: this.state.finalText, isError: false });
      return events;
    }
    this.fail(this.resultFailure(event, apiError ?? text));
    events.push({ type: 'result', text, isError: true });
    return events;
  }

  private resultFailure(event: JsonObject, text: string): Failure {
    const status = num(event.api_error_status);
    if (text !== '') {
      const failure = toFailure(text, status);
      // Claude Code already named the kind on its synthetic message; the result text alone may not show it.
      const earlier = this.state.lastError;
      return failure.kind === 'other' && earlier && earlier.kind !== 'other'
        ? { ...failure, kind: earlier.kind }
        : failure;
    }
    const subtype = str(event.subtype) ?? 'error';
    const terminal = str(event.terminal_reason);
    return toFailure(`the run stopped with ${subtype}${terminal ? ` (${terminal})` : ''}`, status);
  }
}

/** The file a Write or Edit reported it changed (`tool_use_result`), if it did. */
function structuredChange(value: unknown): { path: string; kind: FileChangeKind } | undefined {
  const result = asRecord(value);
  const path = str(result?.filePath);
  if (!result || !path) return undefined;
  if (result.type === 'create') return { path, kind: 'add' };
  if (result.type === 'update') return { path, kind: 'update' };
  // Edit and MultiEdit results carry no `type`, but the replaced text or a patch.
  if (result.oldString !== undefined || result.structuredPatch !== undefined) return { path, kind: 'update' };
  return undefined;
}

/** The model that did most of the work (highest cost, then most output), from `result.modelUsage`. */
function mainModel(modelUsage: unknown): string | undefined {
  const figure = (entry: unknown, key: string): number => num(asRecord(entry)?.[key]) ?? 0;
  const ranked = Object.entries(asRecord(modelUsage) ?? {}).sort(
    ([, a], [, b]) =>
      figure(b, 'costUSD') - figure(a, 'costUSD') || figure(b, 'outputTokens') - figure(a, 'outputTokens'),
  );
  return ranked[0]?.[0];
}
