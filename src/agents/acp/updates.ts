/**
 * ACP `session/update` notifications as normalized agent events: message chunks become text deltas, a run of
 * thought chunks one "Thinking" text, plans one text listing their entries, tool calls and their status updates
 * `tool_call` / `tool_result` (with the files their diffs touch), and the usage the agent reports (several ways,
 * depending on the agent) one running total.
 */
import { asRecord, num, str, type JsonObject } from '../parsers/json.js';
import { relativePath, relativizeText } from '../parsers/paths.js';
import { oneLine, summarizeToolInput } from '../parsers/summarize.js';
import type { AgentEvent, FileChangeKind, Usage } from '../types.js';

interface ToolState {
  name: string;
  title: string;
  summary: string;
  announced: boolean;
  finished: boolean;
}

/** One prompt turn's updates, read in order; keeps what a later update refers back to. */
export class SessionUpdateMapper {
  private readonly tools = new Map<string, ToolState>();
  private thought = '';
  private answer = '';
  private readonly usage: Usage = {};
  /** Tokens counted per model call (Qwen Code), summed; reset when a prompt response gives the turn's totals. */
  private readonly callTokens = { input: 0, output: 0, cached: 0 };

  /**
   * True while `session/load` replays the earlier turns: what the agent sends then is history the caller has
   * already seen, not this turn's progress.
   */
  replaying = false;

  constructor(private readonly cwd: string) {}

  /** The agent's answer this turn: its message chunks, joined. */
  get text(): string {
    return this.answer.trim();
  }

  /** The events for one update (any shape: unknown kinds give none). */
  map(update: unknown): AgentEvent[] {
    const u = asRecord(update);
    const kind = str(u?.sessionUpdate);
    if (!u || !kind || this.replaying) return [];
    const events: AgentEvent[] = kind === 'agent_thought_chunk' ? [] : this.flushThought();
    switch (kind) {
      case 'agent_message_chunk': {
        this.countCallUsage(asRecord(u._meta));
        const text = blockText(u.content);
        if (text === '') return events;
        this.answer += text;
        return [...events, { type: 'text', text, delta: true }];
      }
      case 'agent_thought_chunk':
        this.thought += blockText(u.content);
        return events;
      case 'plan':
        return [...events, ...planText(u.entries)];
      case 'tool_call':
      case 'tool_call_update':
        return [...events, ...this.tool(u)];
      case 'usage_update':
        return [...events, ...this.contextUsage(u)];
      default:
        // user_message_chunk (history replayed by session/load), commands, modes, config options, session info.
        return events;
    }
  }

  /** Ends the turn: a thought still buffered, and the usage the prompt response reports, when any. */
  finish(response: unknown): AgentEvent[] {
    const events = this.flushThought();
    const r = asRecord(response);
    const reported = promptUsage(r);
    if (reported) Object.assign(this.usage, reported);
    if (
      reported ||
      this.callTokens.input > 0 ||
      this.callTokens.output > 0 ||
      this.usage.costUsd !== undefined
    ) {
      return [...events, { type: 'usage', usage: this.totals() }];
    }
    return events;
  }

  /** The usage seen so far, when any. */
  usageSoFar(): Usage | undefined {
    const totals = this.totals();
    return Object.keys(totals).length > 0 ? totals : undefined;
  }

  private totals(): Usage {
    const { input, output, cached } = this.callTokens;
    return {
      ...(input > 0 ? { inputTokens: input } : {}),
      ...(output > 0 ? { outputTokens: output } : {}),
      ...(cached > 0 ? { cacheReadTokens: cached } : {}),
      ...this.usage,
    };
  }

  private flushThought(): AgentEvent[] {
    const text = this.thought.trim();
    this.thought = '';
    return text === '' ? [] : [{ type: 'text', text: `Thinking: ${text}` }];
  }

  private countCallUsage(meta: JsonObject | undefined): void {
    const usage = asRecord(meta?.usage);
    if (!usage) return;
    this.callTokens.input += num(usage.inputTokens) ?? 0;
    this.callTokens.output += num(usage.outputTokens) ?? 0;
    this.callTokens.cached += num(usage.cachedReadTokens) ?? 0;
  }

  private contextUsage(u: JsonObject): AgentEvent[] {
    const cost = asRecord(u.cost);
    const amount = num(cost?.amount);
    if (amount === undefined || str(cost?.currency)?.toUpperCase() !== 'USD') return [];
    this.usage.costUsd = amount;
    return [{ type: 'usage', usage: { costUsd: amount } }];
  }

  private tool(u: JsonObject): AgentEvent[] {
    const id = str(u.toolCallId);
    if (!id) return [];
    const state = this.tools.get(id) ?? {
      name: 'tool',
      title: '',
      summary: '',
      announced: false,
      finished: false,
    };
    this.tools.set(id, state);
    const kind = str(u.kind);
    if (kind) state.name = kind;
    const title = str(u.title);
    if (title) state.title = oneLine(relativizeText(title, this.cwd));
    const summary = describeCall(u, this.cwd);
    if (summary) state.summary = summary;
    const status = str(u.status);
    const events: AgentEvent[] = [];
    const settled = status === 'completed' || status === 'failed';
    // A pending call may not say yet what it works on (opencode fills its input in later): wait for that.
    if (!state.announced && (state.summary || (status !== undefined && status !== 'pending'))) {
      state.announced = true;
      events.push({ type: 'tool_call', id, name: state.name, summary: this.callSummary(state) });
    }
    if (settled && !state.finished) {
      state.finished = true;
      const ok = status === 'completed';
      events.push({ type: 'tool_result', id, name: state.name, ok, summary: outputText(u, this.cwd) });
      if (ok) events.push(...fileChanges(u.content, this.cwd));
    }
    return events;
  }

  private callSummary(state: ToolState): string {
    if (!state.title) return state.summary;
    if (!state.summary || state.title.includes(state.summary)) return state.title;
    return oneLine(`${state.title} (${state.summary})`);
  }
}

/** Text of a content block (`{type: 'text', text}`); '' for images, resources and the like. */
function blockText(content: unknown): string {
  const block = asRecord(content);
  return block && str(block.type) === 'text' ? (typeof block.text === 'string' ? block.text : '') : '';
}

function planText(entries: unknown): AgentEvent[] {
  if (!Array.isArray(entries) || entries.length === 0) return [];
  const lines = entries.flatMap((entry) => {
    const e = asRecord(entry);
    const content = str(e?.content);
    return content ? [`- [${str(e?.status) ?? 'pending'}] ${content}`] : [];
  });
  return lines.length > 0 ? [{ type: 'text', text: `Plan:\n${lines.join('\n')}` }] : [];
}

/** What the call works on: its raw input summarized, else the paths it touches. */
function describeCall(u: JsonObject, cwd: string): string {
  const raw = asRecord(u.rawInput);
  if (raw && Object.keys(raw).length > 0) {
    const summary = summarizeToolInput(raw, cwd);
    if (summary) return summary;
  }
  const paths = Array.isArray(u.locations)
    ? u.locations.flatMap((l) => {
        const path = str(asRecord(l)?.path);
        return path ? [relativePath(path, cwd)] : [];
      })
    : [];
  return oneLine(paths.join(', '));
}

function outputText(u: JsonObject, cwd: string): string {
  const parts = Array.isArray(u.content)
    ? u.content.flatMap((c) => {
        const item = asRecord(c);
        if (str(item?.type) === 'content') return [blockText(item?.content)];
        if (str(item?.type) === 'diff') return [`diff ${relativePath(str(item?.path) ?? '', cwd)}`];
        return [];
      })
    : [];
  const raw = asRecord(u.rawOutput);
  const text = parts.filter(Boolean).join(' ') || str(raw?.output) || str(raw?.content) || '';
  return oneLine(relativizeText(text, cwd));
}

/** The files a finished call's diffs touch: a diff from nothing (null or empty old text) adds a file. */
function fileChanges(content: unknown, cwd: string): AgentEvent[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((c): AgentEvent[] => {
    const item = asRecord(c);
    const path = str(item?.path);
    if (!item || str(item.type) !== 'diff' || !path) return [];
    const oldText = item.oldText;
    const metaKind = str(asRecord(item._meta)?.kind);
    const kind: FileChangeKind =
      metaKind === 'add' || oldText === null || oldText === undefined || oldText === ''
        ? 'add'
        : metaKind === 'delete'
          ? 'delete'
          : 'update';
    return [{ type: 'file_change', path: relativePath(path, cwd), kind }];
  });
}

/**
 * Token usage in a `session/prompt` response: the `usage` field (opencode, Copilot) or Gemini CLI's
 * `_meta.quota.token_count` and `model_usage`.
 */
export function promptUsage(response: JsonObject | undefined): Usage | undefined {
  const usage = asRecord(response?.usage);
  if (usage) {
    const out: Usage = {
      ...optional('inputTokens', num(usage.inputTokens)),
      ...optional('outputTokens', num(usage.outputTokens)),
      ...optional('cacheReadTokens', num(usage.cachedReadTokens)),
      ...optional('cacheWriteTokens', num(usage.cachedWriteTokens)),
    };
    if (Object.keys(out).length > 0) return out;
  }
  const quota = asRecord(asRecord(response?._meta)?.quota);
  const tokens = asRecord(quota?.token_count);
  if (!tokens) return undefined;
  const models = Array.isArray(quota?.model_usage) ? quota.model_usage : [];
  const model = str(asRecord(models[0])?.model);
  return {
    ...optional('inputTokens', num(tokens.input_tokens)),
    ...optional('outputTokens', num(tokens.output_tokens)),
    ...(model && models.length === 1 ? { model } : {}),
  };
}

function optional<K extends keyof Usage>(key: K, value: number | undefined): Partial<Usage> {
  return value === undefined ? {} : { [key]: value };
}
