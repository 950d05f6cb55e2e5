// The ACP event mapping, fed real ACP sessions recorded from the pinned CLIs against the scripted model
// (test/fixtures/transcripts/acp-*.jsonl: one JSON-RPC message a line, `dir` "in" from the agent, "out" to it; the
// workspace is /repo). Each was a "create hello.txt containing hi" turn unless named otherwise.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { PermissionOption, RequestPermissionRequest } from '@agentclientprotocol/sdk';
import { permissionOutcome, permissionQuestion } from '../../src/agents/acp/permission.js';
import { ACP_PRESET_NAMES as PRESETS } from '../../src/agents/acp/presets.js';
import { SessionUpdateMapper } from '../../src/agents/acp/updates.js';
import type { AgentEvent } from '../../src/agents/types.js';
import { ACP_PRESET_NAMES as CONFIG_PRESETS } from '../../src/config/schema.js';

const WORKDIR = '/repo';

interface Line {
  dir: 'in' | 'out';
  msg: { id?: number; method?: string; params?: any; result?: any };
}

function transcript(name: string): Line[] {
  return readFileSync(new URL(`../fixtures/transcripts/acp-${name}.jsonl`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
}

/** Replays a session through the mapper as the backend does: a load's replayed history is not this turn's. */
function replay(name: string): { events: AgentEvent[]; mapper: SessionUpdateMapper; lines: Line[] } {
  const lines = transcript(name);
  const mapper = new SessionUpdateMapper(WORKDIR);
  const events: AgentEvent[] = [];
  const ids: Record<number, string> = {};
  let promptResponse: unknown;
  for (const { dir, msg } of lines) {
    if (dir === 'out' && msg.method && msg.id !== undefined) ids[msg.id] = msg.method;
    if (dir === 'out' && msg.method === 'session/load') mapper.replaying = true;
    if (dir === 'in' && msg.method === 'session/update') events.push(...mapper.map(msg.params.update));
    if (dir === 'in' && msg.method === 'session/request_permission') {
      events.push(...mapper.map({ ...msg.params.toolCall, sessionUpdate: 'tool_call' }));
    }
    if (dir === 'in' && msg.id !== undefined && !msg.method) {
      if (ids[msg.id] === 'session/load') mapper.replaying = false;
      if (ids[msg.id] === 'session/prompt') promptResponse = msg.result;
    }
  }
  events.push(...mapper.finish(promptResponse));
  return { events, mapper, lines };
}

const ofType = <T extends AgentEvent['type']>(events: AgentEvent[], type: T) =>
  events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);

describe('ACP session updates as agent events (recorded sessions)', () => {
  for (const agent of ['gemini', 'qwen', 'opencode', 'copilot', 'droid']) {
    it(`${agent}: one edit tool call on hello.txt, its success, the file added, the answer "done"`, () => {
      const { events, mapper } = replay(`${agent}-write`);
      const calls = ofType(events, 'tool_call');
      assert.equal(calls.length, 1, JSON.stringify(events));
      assert.equal(calls[0]?.name, 'edit');
      assert.match(calls[0]?.summary ?? '', /hello\.txt/);
      assert.doesNotMatch(calls[0]?.summary ?? '', /\/repo\//, 'paths are shown relative to the workspace');
      const results = ofType(events, 'tool_result');
      assert.deepEqual(
        results.map((r) => [r.id, r.ok]),
        [[calls[0]?.id, true]],
      );
      // Diffs name the file in all but opencode and droid, whose updates carry no diff content.
      const changes = ofType(events, 'file_change');
      if (agent === 'opencode' || agent === 'droid') assert.deepEqual(changes, []);
      else assert.deepEqual(changes, [{ type: 'file_change', path: 'hello.txt', kind: 'add' }]);
      assert.ok(mapper.text.endsWith('done'), mapper.text);
      // The tool call is shown before the answer.
      const callAt = events.indexOf(calls[0]);
      const textAt = events.findIndex((e) => e.type === 'text' && e.text === 'done');
      assert.ok(callAt >= 0 && callAt < textAt, JSON.stringify(events));
    });
  }

  it('usage as each agent reports it: prompt usage (opencode, Copilot), Gemini quota meta, Qwen per-call meta; droid none', () => {
    const usage = (agent: string) => ofType(replay(`${agent}-write`).events, 'usage').at(-1)?.usage;
    assert.deepEqual(usage('opencode'), { inputTokens: 100, outputTokens: 10 });
    assert.deepEqual(usage('copilot'), {
      inputTokens: 200,
      outputTokens: 20,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    assert.deepEqual(usage('gemini'), { inputTokens: 200, outputTokens: 20, model: 'gemini-2.5-pro' });
    // Two model calls (the tool call, then "done"), 100 in and 10 out each.
    assert.deepEqual(usage('qwen'), { inputTokens: 200, outputTokens: 20 });
    assert.equal(usage('droid'), undefined);
  });

  it('a loaded session: the history the agent replays is not reported again, only the new answer', () => {
    const { events, mapper } = replay('copilot-load');
    assert.equal(mapper.text, 'ok: seen 2 user message(s)');
    assert.deepEqual(
      ofType(events, 'text').map((e) => e.text),
      ['ok: seen 2 user message(s)'],
    );
  });

  it('a canceled turn: the words streamed before the cancel, no tool call', () => {
    const { events, lines, mapper } = replay('qwen-cancel');
    const stop = lines.find((l) => l.dir === 'in' && l.msg.result?.stopReason)?.msg.result.stopReason;
    assert.equal(stop, 'cancelled');
    assert.ok(lines.some((l) => l.dir === 'out' && l.msg.method === 'session/cancel'));
    assert.deepEqual(ofType(events, 'tool_call'), []);
    assert.ok(ofType(events, 'text').length > 3, JSON.stringify(events));
    assert.ok(mapper.text.split(' ').length > 3, mapper.text);
  });

  it('thoughts become one "Thinking" text when the message starts; plans list their entries; cost in USD counts', () => {
    const mapper = new SessionUpdateMapper(WORKDIR);
    const chunk = (kind: string, text: string) => ({ sessionUpdate: kind, content: { type: 'text', text } });
    assert.deepEqual(mapper.map(chunk('agent_thought_chunk', 'look at ')), []);
    assert.deepEqual(mapper.map(chunk('agent_thought_chunk', 'the file')), []);
    assert.deepEqual(mapper.map(chunk('agent_message_chunk', 'ok')), [
      { type: 'text', text: 'Thinking: look at the file' },
      { type: 'text', text: 'ok', delta: true },
    ]);
    assert.deepEqual(
      mapper.map({
        sessionUpdate: 'plan',
        entries: [
          { content: 'read', priority: 'high', status: 'completed' },
          { content: 'write', priority: 'high', status: 'in_progress' },
        ],
      }),
      [{ type: 'text', text: 'Plan:\n- [completed] read\n- [in_progress] write' }],
    );
    assert.deepEqual(
      mapper.map({
        sessionUpdate: 'usage_update',
        used: 5,
        size: 10,
        cost: { amount: 0.25, currency: 'USD' },
      }),
      [{ type: 'usage', usage: { costUsd: 0.25 } }],
    );
    assert.deepEqual(mapper.map({ sessionUpdate: 'something_new', x: 1 }), []);
    assert.equal(mapper.usageSoFar()?.costUsd, 0.25);
  });

  it('a failed tool call is a failed result and changes no file', () => {
    const mapper = new SessionUpdateMapper(WORKDIR);
    const events = mapper.map({
      sessionUpdate: 'tool_call',
      toolCallId: 't1',
      kind: 'execute',
      title: 'rm -rf /repo/build',
      status: 'failed',
      content: [{ type: 'diff', path: '/repo/x', oldText: 'a', newText: 'b' }],
    });
    assert.deepEqual(
      events.map((e) => e.type),
      ['tool_call', 'tool_result'],
    );
    assert.equal((events[0] as { summary: string }).summary, 'rm -rf build');
    assert.equal((events[1] as { ok: boolean }).ok, false);
  });
});

describe('ACP permission requests as questions', () => {
  const recorded = transcript('gemini-write').find((l) => l.msg.method === 'session/request_permission')?.msg
    .params as RequestPermissionRequest;

  it("Gemini's recorded request: the tool kind, the file, allow/deny", () => {
    const q = permissionQuestion(recorded, WORKDIR);
    assert.equal(q.kind, 'permission');
    assert.equal(q.tool, 'edit');
    assert.equal(q.input, 'Writing to hello.txt');
    assert.deepEqual(q.options, ['allow', 'deny']);
    assert.equal(q.text, 'Allow edit: Writing to hello.txt?');
  });

  it('allow picks the one-time allow (never "always"); deny the one-time reject', () => {
    const options = recorded.options;
    assert.deepEqual(permissionOutcome(options, 'allow'), {
      outcome: { outcome: 'selected', optionId: 'proceed_once' },
    });
    assert.deepEqual(permissionOutcome(options, 'deny'), {
      outcome: { outcome: 'selected', optionId: 'cancel' },
    });
    const onlyAlways: PermissionOption[] = [{ optionId: 'a', name: 'Always', kind: 'allow_always' }];
    assert.deepEqual(permissionOutcome(onlyAlways, 'deny'), { outcome: { outcome: 'cancelled' } });
  });

  it('the presets named in the config schema are the ones the backend knows', () => {
    assert.deepEqual([...CONFIG_PRESETS].sort(), [...PRESETS].sort());
  });
});
