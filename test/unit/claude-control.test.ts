// Claude Code's control channel, fed the stdout of real runs of the pinned CLI against the scripted model
// (test/fixtures/transcripts/claude-control-*.jsonl, `--input-format stream-json --permission-prompt-tool stdio`):
// a Bash permission request and an AskUserQuestion question, and the lines we write back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  controlError,
  controlResponse,
  readControlMessage,
  userMessageLine,
  type ControlMessage,
} from '../../src/agents/parsers/claude-control.js';
import { PARSERS } from '../../src/agents/parsers/index.js';
import { parseJsonObject } from '../../src/agents/parsers/json.js';

function transcript(name: string): string[] {
  return readFileSync(new URL(`../fixtures/transcripts/${name}.jsonl`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean);
}

function controlIn(name: string): Extract<ControlMessage, { kind: 'can_use_tool' }> {
  const found = transcript(name)
    .map((line) => parseJsonObject(line))
    .map((event) => (event ? readControlMessage(event) : undefined))
    .filter((m) => m !== undefined);
  assert.equal(found.length, 1);
  const message = found[0];
  assert.equal(message?.kind, 'can_use_tool');
  return message;
}

describe('claude control channel', () => {
  it('reads a Bash permission request as a permission question with allow/deny', () => {
    const request = controlIn('claude-control-allow');
    assert.match(request.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(request.tool, 'Bash');
    assert.deepEqual(request.question, {
      kind: 'permission',
      text: "Allow Bash: printf '%s' 'hi' > '/tmp/cp/repo/hello.txt'? (write hello.txt)",
      tool: 'Bash',
      input: "printf '%s' 'hi' > '/tmp/cp/repo/hello.txt'",
      details: { command: "printf '%s' 'hi' > '/tmp/cp/repo/hello.txt'", description: 'write hello.txt' },
      options: ['allow', 'deny'],
    });
  });

  it('answers allow with the unchanged input (updatedInput is required), deny with a message', () => {
    const request = controlIn('claude-control-allow');
    const allow = JSON.parse(controlResponse(request, { decision: 'allow' }));
    assert.deepEqual(allow, {
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: request.requestId,
        response: { behavior: 'allow', updatedInput: request.input },
      },
    });
    const deny = JSON.parse(controlResponse(request, { decision: 'deny', message: 'not here' }));
    assert.deepEqual(deny.response.response, { behavior: 'deny', message: 'not here' });
    const bare = JSON.parse(controlResponse(request, { decision: 'deny' }));
    assert.match(bare.response.response.message, /denied permission/);
    assert.ok(controlResponse(request, { decision: 'allow' }).endsWith('}\n'), 'one line per message');
  });

  it('reads AskUserQuestion as a question with its options, and answers it through updatedInput.answers', () => {
    const request = controlIn('claude-control-question');
    assert.equal(request.question.kind, 'question');
    assert.equal(request.question.text, 'Which greeting should hello.txt contain?');
    assert.deepEqual(request.question.options, ['hi', 'hello']);
    assert.deepEqual(request.question.questions, [
      {
        question: 'Which greeting should hello.txt contain?',
        header: 'Greeting',
        options: ['hi', 'hello'],
        multiSelect: false,
      },
    ]);
    const answers = { 'Which greeting should hello.txt contain?': 'hello' };
    const line = JSON.parse(controlResponse(request, { decision: 'allow', answers }));
    assert.deepEqual(line.response.response, {
      behavior: 'allow',
      updatedInput: { ...request.input, answers },
    });
  });

  it('other requests are refused, withdrawals recognised, ordinary events ignored', () => {
    assert.deepEqual(
      readControlMessage({
        type: 'control_request',
        request_id: 'r1',
        request: { subtype: 'hook_callback' },
      }),
      { kind: 'unsupported', requestId: 'r1', subtype: 'hook_callback' },
    );
    assert.deepEqual(readControlMessage({ type: 'control_cancel_request', request_id: 'r2' }), {
      kind: 'cancel',
      requestId: 'r2',
    });
    assert.equal(readControlMessage({ type: 'assistant', message: {} }), undefined);
    assert.equal(readControlMessage({ type: 'control_request', request: {} }), undefined);
    assert.deepEqual(JSON.parse(controlError('r1', 'no')), {
      type: 'control_response',
      response: { subtype: 'error', request_id: 'r1', error: 'no' },
    });
  });

  it('the prompt goes in as one stream-json user message', () => {
    const line = userMessageLine('fix it\nplease');
    assert.equal(line.split('\n').length, 2);
    assert.deepEqual(JSON.parse(line), {
      type: 'user',
      message: { role: 'user', content: 'fix it\nplease' },
      parent_tool_use_id: null,
      session_id: '',
    });
  });

  it('the stream parser skips control lines and still reads the run', () => {
    const parser = PARSERS.claude({ cwd: '/tmp/cp/repo' });
    const events = transcript('claude-control-allow').flatMap((line) => parser.line(line));
    assert.ok(!events.some((e) => e.type === 'log'), JSON.stringify(events.filter((e) => e.type === 'log')));
    assert.deepEqual(
      events.filter((e) => e.type === 'tool_call').map((e) => e.type === 'tool_call' && e.name),
      ['Bash'],
    );
    const outcome = parser.finish({
      exitCode: 0,
      signal: null,
      canceled: false,
      timedOut: false,
      stderrTail: '',
    });
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'done');
  });
});
