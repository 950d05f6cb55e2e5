/** OpenAI Codex (`codex exec --json`). */
import type { AgentEvent, FileChangeKind } from '../types.js';
import { failureFrom, toFailure } from './errors.js';
import { fileChange } from './file-changes.js';
import { arr, asRecord, num, str, type JsonObject } from './json.js';
import { JsonLineParser, logLine } from './json-line.js';
import { relativePath } from './paths.js';
import { oneLine } from './summarize.js';
import type { ParserFactory, ParserOptions } from './types.js';

function isChangeKind(kind: string | undefined): kind is FileChangeKind {
  return kind === 'add' || kind === 'update' || kind === 'delete';
}

interface Change {
  path: string;
  kind: FileChangeKind;
}

/** Thread and turn events around items (commands, patches, messages); no text deltas, no cost. */
class CodexParser extends JsonLineParser {
  /** Items whose `tool_call` went out at `item.started`. */
  private readonly started = new Set<string>();
  private lastErrorEvent: string | undefined;

  constructor(options: ParserOptions) {
    super({ product: 'Codex', requireExitZero: true }, options);
  }

  protected handle(event: JsonObject, line: string): AgentEvent[] | undefined {
    switch (event.type) {
      case 'thread.started':
        return this.session(event.thread_id);
      case 'turn.started':
        return [];
      case 'item.started':
      case 'item.updated':
        return this.item(asRecord(event.item), false, line);
      case 'item.completed':
        return this.item(asRecord(event.item), true, line);
      case 'turn.completed':
        return this.turnCompleted(asRecord(event.usage));
      case 'turn.failed': {
        const failure = failureFrom(event.error, 'the turn failed');
        this.fail(failure);
        // The same message usually went out as an `error` event just before.
        return failure.message === this.lastErrorEvent ? [] : [this.errorEvent(failure)];
      }
      case 'error':
        return this.error(str(event.message) ?? 'Codex reported an error', line);
      default:
        return undefined;
    }
  }

  private error(message: string, line: string): AgentEvent[] {
    // "Reconnecting... 2/5 (cause)": Codex is retrying; fatal only if `turn.failed` follows.
    const retry = /^Reconnecting\.\.\.[^(]*\((.*)\)\s*$/s.exec(message);
    if (retry || message.startsWith('Reconnecting')) {
      this.state.lastError = toFailure(retry?.[1] ?? message);
      return [logLine(line)];
    }
    const failure = toFailure(message);
    this.state.lastError = failure;
    this.lastErrorEvent = failure.message;
    return [this.errorEvent(failure)];
  }

  private item(item: JsonObject | undefined, completed: boolean, line: string): AgentEvent[] | undefined {
    const id = str(item?.id);
    if (!item || id === undefined) return undefined;
    switch (item.type) {
      case 'agent_message': {
        const text = str(item.text) ?? '';
        if (!completed || text.trim() === '') return [];
        this.state.finalText = text;
        return [{ type: 'text', text }];
      }
      case 'reasoning':
      case 'todo_list':
        return [];
      case 'error':
        // Config and model-metadata warnings; the turn goes on.
        return [logLine(line)];
      case 'command_execution':
        return this.tool(id, completed, 'shell', { command: item.command }, undefined, () => {
          const exitCode = num(item.exit_code);
          const output = str(item.aggregated_output)?.trim();
          const ok = item.status !== 'failed' && (exitCode === undefined || exitCode === 0);
          return [this.toolResult(id, ok, output || `exit code ${exitCode ?? '?'}`)];
        });
      case 'file_change': {
        const changes = fileChanges(item.changes);
        const summary = oneLine(
          changes.map((c) => `${c.kind} ${relativePath(c.path, this.state.cwd)}`).join(', '),
        );
        return this.tool(id, completed, 'apply_patch', item.changes, summary, () => {
          const ok = item.status === 'completed';
          const events = [this.toolResult(id, ok, '', summary)];
          if (ok) events.push(...changes.map((c) => fileChange(c.path, c.kind, this.state.cwd)));
          return events;
        });
      }
      case 'mcp_tool_call': {
        const name = [str(item.server), str(item.tool)].filter(Boolean).join('.') || 'mcp';
        return this.tool(id, completed, name, item.arguments, undefined, () => {
          const error = asRecord(item.error);
          const ok = item.status === 'completed' && !error;
          return [this.toolResult(id, ok, error ? str(error.message) : asRecord(item.result)?.content)];
        });
      }
      case 'web_search':
        return this.tool(id, completed, 'web_search', { query: item.query }, undefined, () => [
          this.toolResult(id, item.status !== 'failed', ''),
        ]);
      default:
        return undefined;
    }
  }

  /** `tool_call` once (at start, or at completion when no start was seen), then the result when completed. */
  private tool(
    id: string,
    completed: boolean,
    name: string,
    input: unknown,
    summary: string | undefined,
    result: () => AgentEvent[],
  ): AgentEvent[] {
    const events: AgentEvent[] = [];
    if (!this.started.has(id)) {
      this.started.add(id);
      events.push(this.toolCall(id, name, input, summary));
    }
    if (completed) events.push(...result());
    return events;
  }

  private turnCompleted(usage: JsonObject | undefined): AgentEvent[] {
    const total = this.state.usage;
    // `exec resume` runs one more turn in the same process output: add, do not replace.
    const add = (sofar: number | undefined, value: unknown): number | undefined => {
      const n = num(value);
      return n === undefined ? sofar : (sofar ?? 0) + n;
    };
    const events = [
      this.usage({
        inputTokens: add(total.inputTokens, usage?.input_tokens),
        outputTokens: add(total.outputTokens, usage?.output_tokens),
        cacheReadTokens: add(total.cacheReadTokens, usage?.cached_input_tokens),
        cacheWriteTokens: add(total.cacheWriteTokens, usage?.cache_write_input_tokens),
      }),
    ];
    this.succeed();
    events.push({ type: 'result', text: this.state.finalText, isError: false });
    return events;
  }
}

function fileChanges(value: unknown): Change[] {
  return arr(value).flatMap((entry) => {
    const change = asRecord(entry);
    const path = str(change?.path);
    const kind = str(change?.kind);
    return path && isChangeKind(kind) ? [{ path, kind }] : [];
  });
}

/**
 * Parser for Codex. Success is `turn.completed` and exit 0; "Reconnecting…" errors are retries, fatal only when
 * `turn.failed` follows. SIGTERM (143) and SIGINT (1) end it with neither.
 */
export const codexParser: ParserFactory = (options = {}) => new CodexParser(options);
