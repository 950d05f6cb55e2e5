// The CLI output parsers, fed the real transcripts captured from each CLI (test/fixtures/transcripts, copied from
// the research runs against the scripted model). Exit codes are the ones the research observed for each case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  PARSERS,
  type ParsedCli,
  type ParserOptions,
  type ProcessExit,
} from '../../src/agents/parsers/index.js';
import { summarizeToolInput } from '../../src/agents/parsers/summarize.js';
import type { AgentEvent, AgentEventType, BackendOutcome } from '../../src/agents/types.js';

/** The directory the transcripts were recorded in. */
const WORKDIR = '/home/user/project';
const CLIS = Object.keys(PARSERS) as ParsedCli[];

function transcript(name: string): string[] {
  return readFileSync(new URL(`../fixtures/transcripts/${name}.jsonl`, import.meta.url), 'utf8').split('\n');
}

interface Run {
  events: AgentEvent[];
  outcome: BackendOutcome;
}

function replay(
  cli: ParsedCli,
  lines: string[],
  exit: Partial<ProcessExit> = {},
  options: ParserOptions = { cwd: WORKDIR },
): Run {
  const parser = PARSERS[cli](options);
  const events = lines.flatMap((line) => parser.line(line));
  const outcome = parser.finish({
    exitCode: 0,
    signal: null,
    canceled: false,
    timedOut: false,
    stderrTail: '',
    ...exit,
  });
  return { events, outcome };
}

function run(cli: ParsedCli, name: string, exit: Partial<ProcessExit> = {}, options?: ParserOptions): Run {
  return replay(cli, transcript(name), exit, options);
}

/** Event types in order, logs left out and repeats (a run of text deltas) collapsed. */
function sequence(events: AgentEvent[]): AgentEventType[] {
  return events
    .map((e) => e.type)
    .filter((type) => type !== 'log')
    .filter((type, i, all) => i === 0 || all[i - 1] !== type);
}

function ofType<T extends AgentEventType>(events: AgentEvent[], type: T): Extract<AgentEvent, { type: T }>[] {
  return events.filter((e): e is Extract<AgentEvent, { type: T }> => e.type === type);
}

/** What a person reading the progress would see as the agent's words. */
function spokenText(events: AgentEvent[]): string {
  return ofType(events, 'text')
    .map((e) => e.text)
    .join('');
}

function sessionOf(events: AgentEvent[]): string | undefined {
  const sessions = ofType(events, 'session');
  assert.ok(sessions.length <= 1, 'the session id is reported once, not on every line');
  return sessions[0]?.sessionId;
}

/** The transcript with the line of `type` replaced. */
function withLine(
  name: string,
  type: string,
  replace: (event: Record<string, unknown>) => unknown,
): string[] {
  return transcript(name).map((line) => {
    if (line.trim() === '') return line;
    const event = JSON.parse(line) as Record<string, unknown>;
    return event.type === type ? JSON.stringify(replace(event)) : line;
  });
}

const CANONICAL: Record<ParsedCli, { session: string; tool: string; order: AgentEventType[] }> = {
  claude: {
    session: '7c4b03e4-8043-4e43-99f2-9aa99a5b878a',
    tool: 'Write',
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'text', 'usage', 'result'],
  },
  droid: {
    session: '05388be5-f136-44e8-9788-6251a5d31a07',
    tool: 'Create',
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'text', 'usage', 'result'],
  },
  codex: {
    session: '01a20a24-e006-7ff2-a9a3-d58ceb6ad7b6',
    tool: 'apply_patch',
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'text', 'usage', 'result'],
  },
  gemini: {
    session: 'a4901683-ac53-4967-a356-3230a3e479de',
    tool: 'write_file',
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'text', 'usage', 'result'],
  },
  opencode: {
    session: 'ses_df5db0273ffeAEsfgYnCaG3fuI',
    tool: 'write',
    // One usage per step: the tool step, then the answer step.
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'usage', 'text', 'usage', 'result'],
  },
  qwen: {
    session: '1e20a5bb-5928-43e5-8bdb-d03c8297189d',
    tool: 'write_file',
    order: ['session', 'tool_call', 'tool_result', 'file_change', 'text', 'usage', 'result'],
  },
  copilot: {
    session: '8f4100e0-a975-4253-8904-4fced6b8f9cd',
    tool: 'create',
    // Copilot CLI names its session only in the final `result`.
    order: ['tool_call', 'tool_result', 'file_change', 'text', 'session', 'usage', 'result'],
  },
};

describe('every parser, on its CLI’s canonical "create hello.txt" run', () => {
  for (const cli of CLIS) {
    const expected = CANONICAL[cli];
    it(`${cli}: reports the session, the tool call, the change and the answer, and completes with "done"`, () => {
      const { events, outcome } = run(cli, cli);
      assert.deepEqual(sequence(events), expected.order);
      assert.equal(ofType(events, 'log').length, 0, 'every line of a real run is understood');
      assert.equal(sessionOf(events), expected.session);

      const [call, ...moreCalls] = ofType(events, 'tool_call');
      assert.equal(moreCalls.length, 0);
      assert.equal(call?.name, expected.tool);
      assert.match(call?.summary ?? '', /hello\.txt/);
      assert.ok((call?.summary.length ?? 0) <= 120);
      const [result] = ofType(events, 'tool_result');
      assert.equal(result?.ok, true);
      assert.equal(result?.id, call?.id, 'the result is tied to its call');
      assert.deepEqual(ofType(events, 'file_change'), [
        { type: 'file_change', path: 'hello.txt', kind: 'add' },
      ]);

      assert.equal(spokenText(events), 'done', 'the answer is said once, even when it was also streamed');
      assert.deepEqual(ofType(events, 'result'), [{ type: 'result', text: 'done', isError: false }]);
      const usage = ofType(events, 'usage').at(-1)?.usage;
      assert.ok(usage, 'usage is reported');
      assert.deepEqual(outcome.usage, usage, 'the outcome carries the final totals');

      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.summary, 'done');
      assert.equal(outcome.sessionId, expected.session);
      assert.equal(outcome.reason, undefined);
      assert.equal(outcome.errorKind, undefined);
    });
  }

  it('token counts are reported by every CLI that has them', () => {
    for (const cli of ['claude', 'droid', 'codex', 'gemini', 'opencode', 'qwen'] as const) {
      const { outcome } = run(cli, cli);
      assert.equal(outcome.usage?.inputTokens, 200, cli);
      assert.equal(outcome.usage?.outputTokens, 20, cli);
    }
  });
});

describe('tool call summaries', () => {
  it('read like what a person would type, with workspace paths relative and long text cut', () => {
    const cwd = '/repo';
    const cases: [unknown, string][] = [
      [{ command: 'npm test -- --grep "login"', description: 'run tests' }, 'npm test -- --grep "login"'],
      [{ command: ['bash', '-lc', 'ls /repo/src'] }, 'ls src'],
      [{ command: "/bin/bash -lc 'git status'" }, 'git status'],
      [{ file_path: '/repo/src/a.ts', old_string: 'x', new_string: 'y' }, 'src/a.ts'],
      [{ command: 'create', path: '/repo/b.txt', file_text: 'hi' }, 'create b.txt'],
      [{ pattern: 'TODO', path: '/repo/src' }, 'TODO in src'],
      [
        { input: '*** Begin Patch\n*** Add File: /repo/n.txt\n+hi\n*** Update File: old.ts\n*** End Patch' },
        'add n.txt, update old.ts',
      ],
      [{ url: 'https://example.com/x' }, 'https://example.com/x'],
      [{}, ''],
    ];
    for (const [input, expected] of cases) assert.equal(summarizeToolInput(input, cwd), expected);
    const long = summarizeToolInput({ command: `echo ${'a'.repeat(500)}\n\necho done` }, cwd);
    assert.equal(long.length, 120);
    assert.ok(long.endsWith('…') && !long.includes('\n'));
  });
});

describe('garbage on stdout', () => {
  const garbage = [
    'not json',
    '{"type":"unknown_future_event"}',
    '[1,2,3]',
    'null',
    '{"type":"result"',
    '{"type":42}',
    'x'.repeat(100_000),
  ];

  for (const cli of CLIS) {
    it(`${cli}: never throws; each odd line becomes one bounded log event and empty lines are ignored`, () => {
      const parser = PARSERS[cli]({ cwd: WORKDIR });
      assert.deepEqual(parser.line(''), []);
      assert.deepEqual(parser.line('   '), []);
      for (const line of garbage) {
        const events = parser.line(line);
        assert.equal(events.length, 1, line.slice(0, 40));
        const [event] = events;
        assert.equal(event?.type, 'log');
        if (event?.type === 'log') {
          assert.equal(event.stream, 'stdout');
          assert.ok(event.line.length < 3000, 'a runaway line is cut');
          assert.ok(line.startsWith(event.line.slice(0, 20)));
        }
      }
    });

    it(`${cli}: garbage between the lines of a real run changes nothing else`, () => {
      const clean = run(cli, cli);
      const noisy = replay(
        cli,
        transcript(cli).flatMap((line) => [line, 'not json', '', '{"type":"unknown_future_event"}']),
      );
      assert.deepEqual(
        noisy.events.filter((e) => e.type !== 'log'),
        clean.events,
      );
      assert.deepEqual(noisy.outcome, clean.outcome);
    });

    it(`${cli}: known event types with unexpected shapes never throw`, () => {
      const parser = PARSERS[cli]({ cwd: WORKDIR });
      for (const line of transcript(cli).filter((l) => l.trim() !== '')) {
        const event = JSON.parse(line) as Record<string, unknown>;
        for (const key of Object.keys(event).filter((k) => k !== 'type')) {
          for (const odd of [null, 42, 'x', [], {}]) {
            assert.doesNotThrow(() => parser.line(JSON.stringify({ ...event, [key]: odd })));
          }
        }
      }
      assert.doesNotThrow(() =>
        parser.finish({
          exitCode: null,
          signal: 'SIGKILL',
          canceled: false,
          timedOut: false,
          stderrTail: '',
        }),
      );
    });
  }
});

describe('claude', () => {
  it('reports cost, model, turns and duration from the result', () => {
    const { outcome } = run('claude', 'claude');
    assert.deepEqual(outcome.usage, {
      inputTokens: 200,
      outputTokens: 20,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0.0015,
      model: 'claude-opus-4-8[1m]',
      numTurns: 2,
      durationMs: 293,
    });
  });

  it('shows paths relative to the directory Claude Code reports when none is given', () => {
    const { events } = run('claude', 'claude', {}, {});
    assert.equal(ofType(events, 'tool_call')[0]?.summary, 'hello.txt');
    assert.equal(ofType(events, 'file_change')[0]?.path, 'hello.txt');
    const elsewhere = run('claude', 'claude', {}, { cwd: '/somewhere/else' });
    assert.equal(ofType(elsewhere.events, 'file_change')[0]?.path, '/home/user/project/hello.txt');
  });

  it('summarizes a shell call by its command and streams partial text once', () => {
    const { events, outcome } = run('claude', 'claude-bash');
    const [call] = ofType(events, 'tool_call');
    assert.equal(call?.name, 'Bash');
    assert.equal(call?.summary, 'printf hi > "hello.txt"');
    const texts = ofType(events, 'text');
    assert.deepEqual(
      texts,
      [{ type: 'text', text: 'done', delta: true }],
      'the whole block is not sent again',
    );
    assert.equal(outcome.status, 'completed');
  });

  it('a 401 fails as an auth error, though the result says subtype "success"', () => {
    const { events, outcome } = run('claude', 'claude-error401', { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /authenticate/);
    assert.match(outcome.reason ?? '', /Invalid API key/);
    assert.equal(outcome.sessionId, 'cb412905-1bbb-402b-a06d-6698063044de');
    assert.equal(spokenText(events), '', 'the synthetic error reply is not the agent speaking');
    assert.deepEqual(ofType(events, 'error'), [
      { type: 'error', message: 'Invalid API key · Fix external API key', kind: 'auth' },
    ]);
  });

  it('is_error:true with subtype "success" fails even when the exit code is 0', () => {
    const lines = withLine('claude', 'result', (e) => ({ ...e, is_error: true, result: 'something broke' }));
    const { outcome } = replay('claude', lines, { exitCode: 0 });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /something broke/);
  });

  it('a clean result with a non-zero exit code is not a success', () => {
    const { outcome } = run('claude', 'claude', { exitCode: 1, stderrTail: 'segfault in telemetry' });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /exited with code 1/);
    assert.match(outcome.reason ?? '', /segfault in telemetry/);
  });

  it('a 429 is a rate-limit error and a 500 an API error', () => {
    const limited = run('claude', 'claude-error429', { exitCode: 1 }).outcome;
    assert.equal(limited.status, 'failed');
    assert.equal(limited.errorKind, 'rate_limit');
    const broken = run('claude', 'claude-error500', { exitCode: 1 }).outcome;
    assert.equal(broken.status, 'failed');
    assert.equal(broken.errorKind, 'api');
    assert.match(broken.reason ?? '', /500/);
  });

  it('SIGINT (result error_during_execution, exit 0): canceled when we asked, failed otherwise', () => {
    const canceled = run('claude', 'claude-sigINT', { exitCode: 0, canceled: true }).outcome;
    assert.equal(canceled.status, 'canceled');
    assert.equal(canceled.summary, 'slow slow', 'the partial answer is kept');
    const interrupted = run('claude', 'claude-sigINT', { exitCode: 0 }).outcome;
    assert.equal(interrupted.status, 'failed');
    assert.match(interrupted.reason ?? '', /error_during_execution/);
  });

  it('SIGTERM (exit 143, no result): canceled when we asked, failed otherwise', () => {
    const { events, outcome } = run('claude', 'claude-sigTERM', { exitCode: 143, canceled: true });
    assert.equal(outcome.status, 'canceled');
    assert.equal(ofType(events, 'result').length, 0);
    assert.equal(outcome.summary, 'slow slow slow slow slow slow');
    const killed = run('claude', 'claude-sigTERM', { exitCode: 143 }).outcome;
    assert.equal(killed.status, 'failed');
    assert.match(killed.reason ?? '', /143 \(SIGTERM\)/);
  });

  it('a timeout fails, whatever the stream says', () => {
    const { outcome } = run('claude', 'claude', { exitCode: null, signal: 'SIGTERM', timedOut: true });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.summary, 'done');
  });

  it('a resumed run keeps the session id of the first', () => {
    const first = run('claude', 'claude-quiet').outcome;
    const resumed = run('claude', 'claude-resume').outcome;
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.sessionId, first.sessionId);
    assert.equal(resumed.summary, 'ok: seen 2 user message(s)');
  });

  it('a denied write is a failed tool result and no file change', () => {
    const { events, outcome } = run('claude', 'claude-default');
    const [result] = ofType(events, 'tool_result');
    assert.equal(result?.ok, false);
    assert.match(result?.summary ?? '', /haven't granted/);
    assert.equal(ofType(events, 'file_change').length, 0);
    assert.equal(outcome.status, 'completed');
  });

  it('two prompts over stream-json input: one session, the last result decides', () => {
    const { events, outcome } = run('claude', 'claude-streamin');
    assert.equal(sessionOf(events), 'daf0c064-23ed-461b-a09e-780c2f85ed89');
    assert.equal(ofType(events, 'result').length, 2);
    assert.equal(outcome.summary, 'ok: seen 2 user message(s)');
  });

  it('a crash before any output is explained by stderr and classified', () => {
    const { outcome } = replay('claude', [], {
      exitCode: 1,
      stderrTail: 'Invalid API key · Please run /login\n',
    });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /Invalid API key/);
  });

  it('a huge tool result is summarized in one short line', () => {
    const parser = PARSERS.claude({ cwd: WORKDIR });
    const big = JSON.stringify({
      type: 'user',
      message: {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: 't1', content: 'y\n'.repeat(50_000) }],
      },
    });
    const [event] = parser.line(big);
    assert.equal(event?.type, 'tool_result');
    if (event?.type === 'tool_result') assert.ok(event.summary.length <= 120);
  });
});

describe('droid', () => {
  it('summarizes an Execute call by its command', () => {
    const { events, outcome } = run('droid', 'droid-openai');
    const [call] = ofType(events, 'tool_call');
    assert.equal(call?.name, 'Execute');
    assert.equal(call?.summary, 'printf hi > "hello.txt"');
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.usage?.model, 'custom:Mock-OpenAI-0');
  });

  it('a 401 fails as an auth error naming the API’s message, not "Exec failed"', () => {
    const { events, outcome } = run('droid', 'droid-error401', { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /authenticate/);
    assert.match(outcome.reason ?? '', /invalid x-api-key/);
    assert.equal(ofType(events, 'error')[0]?.kind, 'auth');
  });

  it('a 500 that retries until the deadline fails', () => {
    const { outcome } = run('droid', 'droid-error500', { exitCode: null, signal: 'SIGKILL', timedOut: true });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.sessionId, 'c014d528-ca08-4114-ab64-e59e0a6259ea');
  });

  for (const name of ['droid-sigTERM', 'droid-sigINT']) {
    it(`${name} (exit 0, no completion): canceled when we asked, failed otherwise`, () => {
      assert.equal(run('droid', name, { exitCode: 0, canceled: true }).outcome.status, 'canceled');
      const outcome = run('droid', name, { exitCode: 0 }).outcome;
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.reason ?? '', /ended without a result/);
    });
  }

  it('a resumed run keeps the session id of the first', () => {
    const first = run('droid', 'droid-airgap').outcome;
    const resumed = run('droid', 'droid-resume').outcome;
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.sessionId, first.sessionId);
    assert.equal(resumed.summary, 'ok: seen 4 user message(s)');
  });
});

describe('codex', () => {
  it('shows a command without its bash -lc wrapper; config warnings are logs, not errors', () => {
    const { events, outcome } = run('codex', 'codex-basic');
    const [call] = ofType(events, 'tool_call');
    assert.equal(call?.name, 'shell');
    assert.equal(call?.summary, 'printf hi > "hello.txt"');
    assert.equal(ofType(events, 'error').length, 0);
    assert.match(ofType(events, 'log')[0]?.line ?? '', /Model metadata/);
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(outcome.usage, {
      inputTokens: 200,
      outputTokens: 20,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it('a 401 fails as an auth error after the retries, reported once', () => {
    const { events, outcome } = run('codex', 'codex-error401', { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /authenticate/);
    assert.equal(
      ofType(events, 'error').length,
      1,
      'retries are not errors; turn.failed repeats the last one',
    );
  });

  it('a 500 fails as an API error', () => {
    const { outcome } = run('codex', 'codex-error500', { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'api');
    assert.match(outcome.reason ?? '', /high demand/);
  });

  it('"Reconnecting…" errors are not fatal by themselves', () => {
    const lines = [
      ...transcript('codex-error401').slice(0, 4),
      JSON.stringify({ type: 'item.completed', item: { id: 'item_0', type: 'agent_message', text: 'done' } }),
      JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } }),
    ];
    const { outcome } = replay('codex', lines);
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'done');
  });

  it('a run that dies while reconnecting says why', () => {
    const lines = transcript('codex-error401').slice(0, 4);
    const { outcome } = replay('codex', lines, { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /invalid x-api-key/);
  });

  for (const [name, exitCode] of [
    ['codex-sigTERM', 143],
    ['codex-sigINT', 1],
  ] as const) {
    it(`${name} (exit ${exitCode}): canceled when we asked, failed otherwise`, () => {
      assert.equal(run('codex', name, { exitCode, canceled: true }).outcome.status, 'canceled');
      const outcome = run('codex', name, { exitCode }).outcome;
      assert.equal(outcome.status, 'failed');
      assert.match(outcome.reason ?? '', new RegExp(`exited with code ${exitCode}`));
    });
  }

  it('a resumed thread keeps its id', () => {
    const first = run('codex', 'codex-patch').outcome;
    const resumed = run('codex', 'codex-resume').outcome;
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.sessionId, first.sessionId);
    assert.equal(resumed.summary, 'ok: seen 3 user message(s)');
  });
});

describe('gemini', () => {
  it('streams the answer as deltas and reports the main model, not the router’s', () => {
    const { events, outcome } = run('gemini', 'gemini-basic');
    assert.deepEqual(ofType(events, 'text'), [{ type: 'text', text: 'done', delta: true }]);
    assert.equal(outcome.usage?.model, 'gemini-3.8-flash');
    assert.equal(outcome.usage?.inputTokens, 300);
  });

  it('a 401 (exit 145, result status error) fails as an auth error', () => {
    const { outcome } = run('gemini', 'gemini-error401', { exitCode: 145 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /authenticate/);
    assert.match(outcome.reason ?? '', /invalid x-api-key/);
  });

  it('exit 145 names a 401 when the error text does not', () => {
    const lines = withLine('gemini', 'result', () => ({
      type: 'result',
      status: 'error',
      error: { type: 'unknown', message: 'request failed' },
    }));
    const { outcome } = replay('gemini', lines, { exitCode: 145 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
    assert.match(outcome.reason ?? '', /HTTP 401/);
  });

  it('a 500 that retries until the deadline fails', () => {
    const { outcome } = run('gemini', 'gemini-error500', {
      exitCode: null,
      signal: 'SIGKILL',
      timedOut: true,
    });
    assert.equal(outcome.status, 'failed');
  });

  it('SIGTERM without relaunch (exit 0, no result): canceled when we asked, failed otherwise', () => {
    const canceled = run('gemini', 'gemini-norelaunch-sigTERM', { exitCode: 0, canceled: true }).outcome;
    assert.equal(canceled.status, 'canceled');
    assert.match(canceled.summary, /^part1 part2/);
    const outcome = run('gemini', 'gemini-norelaunch-sigTERM', { exitCode: 0 }).outcome;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /ended without a result/);
  });

  it('a run we canceled is canceled even though the relaunched child finished it', () => {
    assert.equal(run('gemini', 'gemini-sigTERM', { exitCode: 0 }).outcome.status, 'completed');
    assert.equal(run('gemini', 'gemini-sigTERM', { exitCode: 0, canceled: true }).outcome.status, 'canceled');
  });

  it('a resumed session keeps its id', () => {
    const first = run('gemini', 'gemini-basic').outcome;
    const resumed = run('gemini', 'gemini-resume').outcome;
    assert.equal(resumed.status, 'completed');
    assert.equal(resumed.sessionId, first.sessionId);
    assert.equal(resumed.summary, 'ok: seen 2 user message(s)');
  });
});

describe('opencode', () => {
  it('adds up tokens and cost over the steps', () => {
    const usage = ofType(run('opencode', 'opencode').events, 'usage').map((e) => e.usage);
    assert.deepEqual(
      usage.map((u) => [u.inputTokens, u.outputTokens, u.costUsd]),
      [
        [100, 10, 0],
        [200, 20, 0],
      ],
    );
  });

  it('SIGTERM (exit 143 after step_start): canceled when we asked, failed otherwise', () => {
    assert.equal(
      run('opencode', 'opencode-sigTERM', { exitCode: 143, canceled: true }).outcome.status,
      'canceled',
    );
    const outcome = run('opencode', 'opencode-sigTERM', { exitCode: 143 }).outcome;
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /SIGTERM/);
  });

  it('a resumed run reports the session to resume next time', () => {
    const { events, outcome } = run('opencode', 'opencode-resume');
    assert.equal(sessionOf(events), 'ses_df5e0ca8dffeKPCstuo6yUemPf');
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'ok: seen 2 user message(s)');
  });

  it('an error event fails the run, classified by its status code', () => {
    const error = JSON.stringify({
      type: 'error',
      sessionID: 'ses_x',
      error: { name: 'APIError', data: { message: 'invalid api key', statusCode: 401 } },
    });
    const { outcome } = replay('opencode', [...transcript('opencode-sigTERM'), error], { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'auth');
  });
});

describe('qwen', () => {
  it('"[API Error" in the result fails the run although is_error is false', () => {
    const { events, outcome } = run('qwen', 'qwen-sigTERM', { exitCode: 143 });
    const result = ofType(events, 'result')[0];
    assert.equal(result?.isError, true);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.errorKind, 'api');
    assert.match(outcome.reason ?? '', /API Error: terminated/);
    assert.equal(run('qwen', 'qwen-sigTERM', { exitCode: 143, canceled: true }).outcome.status, 'canceled');
  });

  it('a connection failure reported as is_error:false with exit 0 is a failure', () => {
    const lines = withLine('qwen', 'result', (e) => ({
      ...e,
      is_error: false,
      result: '[API Error: Connection error. (cause: fetch failed)]',
    }));
    const { outcome } = replay('qwen', lines, { exitCode: 0 });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /Connection error/);
  });

  it('does not send streamed text twice', () => {
    const { events } = run('qwen', 'qwen-sigTERM', { exitCode: 143 });
    assert.ok(ofType(events, 'text').every((e) => e.delta === true));
    assert.equal(
      spokenText(events),
      'part1 part2 part3 part4 part5 part6 [API Error: terminated (cause: other side closed)]',
    );
  });

  it('a resumed run reports its session and answer', () => {
    const { events, outcome } = run('qwen', 'qwen-resume');
    assert.equal(sessionOf(events), '54035f79-84b5-4c7f-8920-ca5a4b4eec3d');
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'ok: seen 4 user message(s)');
  });
});

describe('copilot', () => {
  it('a run that ends with session.error fails with its message; canceled when we asked', () => {
    const { events, outcome } = run('copilot', 'copilot-sigTERM', { exitCode: 1 });
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.reason ?? '', /Could not connect to local model provider/);
    assert.equal(outcome.errorKind, 'api');
    assert.equal(outcome.sessionId, '86a9579a-6a6c-42db-a840-2ef5f127e2b1');
    assert.match(spokenText(events), /^part1 part2/);
    assert.equal(
      run('copilot', 'copilot-sigTERM', { exitCode: 1, canceled: true }).outcome.status,
      'canceled',
    );
  });

  it('killed before its result (SIGTERM, 143): failed, with no session to resume', () => {
    const lines = transcript('copilot-sigTERM').slice(0, 12);
    const { outcome } = replay('copilot', lines, { exitCode: 143 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.sessionId, undefined);
  });

  it('a resumed run reports its session and answer', () => {
    const { events, outcome } = run('copilot', 'copilot-resume');
    assert.equal(sessionOf(events), '5846b1ab-3d0e-40cf-a246-01e1c499713c');
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'ok: seen 2 user message(s)');
  });
});
