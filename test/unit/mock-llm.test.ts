import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  startMockLlm,
  type LoggedRequest,
  type MockLlm,
  type MockLlmOptions,
} from '../fixtures/mock-llm/index.js';

// Request bodies below are shaped after what each CLI sends (tool names and argument schemas as seen in the
// research transcripts), trimmed to the fields the mock reads.

const workdir = mkdtempSync(join(tmpdir(), 'mock-llm-test-'));
after(() => rmSync(workdir, { recursive: true, force: true }));

const str = { type: 'string' };
const objectSchema = (
  properties: Record<string, object>,
  required: string[] = Object.keys(properties),
): object => ({
  type: 'object',
  properties,
  required,
});

const claudeTools = [
  {
    name: 'Bash',
    input_schema: objectSchema({ command: str, timeout: { type: 'number' }, description: str }, ['command']),
  },
  {
    name: 'Edit',
    input_schema: objectSchema(
      { file_path: str, old_string: str, new_string: str, replace_all: { type: 'boolean' } },
      ['file_path', 'old_string', 'new_string'],
    ),
  },
  {
    name: 'Read',
    input_schema: objectSchema({ file_path: str, offset: { type: 'number' }, limit: { type: 'number' } }, [
      'file_path',
    ]),
  },
  { name: 'Write', input_schema: objectSchema({ file_path: str, content: str }) },
];
const claudeSystem = [
  { type: 'text', text: `You are Claude Code.\n<env>\nPrimary working directory: ${workdir}\n</env>` },
];

const codexTools = [
  {
    type: 'function',
    name: 'exec_command',
    parameters: objectSchema({ cmd: str, workdir: str, yield_time_ms: { type: 'number' } }, ['cmd']),
  },
  {
    type: 'custom',
    name: 'apply_patch',
    format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch hunk+ end_patch' },
  },
  { type: 'web_search' },
];
const codexContext = {
  type: 'message',
  role: 'user',
  content: [
    { type: 'input_text', text: `<environment_context>\n  <cwd>${workdir}</cwd>\n</environment_context>` },
  ],
};

const copilotTools = [
  {
    type: 'function',
    function: { name: 'bash', parameters: objectSchema({ command: str, description: str }) },
  },
  {
    type: 'function',
    function: {
      name: 'view',
      parameters: objectSchema(
        {
          path: str,
          view_range: { type: 'array', items: { type: 'integer' } },
          forceReadLargeFiles: { type: 'boolean' },
        },
        ['path'],
      ),
    },
  },
  { type: 'function', function: { name: 'create', parameters: objectSchema({ path: str, file_text: str }) } },
  {
    type: 'function',
    function: { name: 'edit', parameters: objectSchema({ path: str, old_str: str, new_str: str }) },
  },
];
const copilotSystem = {
  role: 'system',
  content: `You are the GitHub Copilot CLI.\nCurrent working directory: ${workdir}`,
};

const geminiTools = [
  {
    functionDeclarations: [
      {
        name: 'read_file',
        parametersJsonSchema: objectSchema({ file_path: str, offset: { type: 'number' } }, ['file_path']),
      },
      { name: 'write_file', parametersJsonSchema: objectSchema({ file_path: str, content: str }) },
      {
        name: 'replace',
        parametersJsonSchema: objectSchema({
          file_path: str,
          instruction: str,
          old_string: str,
          new_string: str,
        }),
      },
      {
        name: 'run_shell_command',
        parametersJsonSchema: objectSchema({ command: str, description: str, dir_path: str }, ['command']),
      },
    ],
  },
];
const geminiContext = {
  role: 'user',
  parts: [{ text: `I'm currently working in the directory: ${workdir}` }],
};
const geminiStream = '/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse';

// --------------------------------------------------------------------------------------------------- helpers

async function withMock(options: MockLlmOptions, run: (mock: MockLlm) => Promise<void>): Promise<void> {
  const mock = await startMockLlm(options);
  try {
    await run(mock);
  } finally {
    await mock.close();
  }
}

function post(
  mock: MockLlm,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(mock.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Follows a path of keys and indexes into parsed JSON; undefined where it does not lead anywhere. */
function pick(value: unknown, ...path: (string | number)[]): unknown {
  let at: unknown = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string | number, unknown>)[key];
  }
  return at;
}

/** The string at a path, or '' where there is none (a stream chunk without that delta). */
function textAt(value: unknown, ...path: (string | number)[]): string {
  const found = pick(value, ...path);
  return typeof found === 'string' ? found : '';
}

function parseJsonText(text: string): unknown {
  return JSON.parse(text) as unknown;
}

interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Parses an SSE body strictly: only `event:`/`data:` lines, one data line per event, blank-line separated. */
function parseSse(text: string): SseEvent[] {
  assert.ok(text.endsWith('\n\n'), 'the stream ends with a blank line');
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const match = /^(event|data): (.*)$/.exec(line);
        assert.ok(match, `malformed SSE line: ${JSON.stringify(line)}`);
        if (match[1] === 'event') event = match[2];
        else data.push(match[2] ?? '');
      }
      assert.equal(data.length, 1, 'one data line per event');
      return { event, data: data[0] ?? '' };
    });
}

async function sse(res: Response): Promise<SseEvent[]> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  return parseSse(await res.text());
}

const dataOf = (events: SseEvent[]): unknown[] =>
  events.filter((e) => e.data !== '[DONE]').map((e) => parseJsonText(e.data));

/** The tool call (name and parsed input) and text carried by an Anthropic event stream. */
function anthropicResult(events: SseEvent[]): {
  tool?: string;
  input?: unknown;
  text: string;
  stop: unknown;
} {
  const result: { tool?: string; input?: unknown; text: string; stop: unknown } = {
    text: '',
    stop: undefined,
  };
  let json = '';
  for (const { event, data } of events) {
    const payload = parseJsonText(data);
    assert.equal(event, pick(payload, 'type'), 'event name matches data.type');
    if (event === 'content_block_start' && pick(payload, 'content_block', 'type') === 'tool_use') {
      result.tool = pick(payload, 'content_block', 'name') as string;
    }
    if (pick(payload, 'delta', 'type') === 'input_json_delta')
      json += pick(payload, 'delta', 'partial_json') as string;
    if (pick(payload, 'delta', 'type') === 'text_delta')
      result.text += pick(payload, 'delta', 'text') as string;
    if (event === 'message_delta') result.stop = pick(payload, 'delta', 'stop_reason');
  }
  assert.equal(events.at(-1)?.event, 'message_stop');
  if (json !== '') result.input = parseJsonText(json);
  return result;
}

function lastRequest(mock: MockLlm): LoggedRequest {
  const last = mock.requests().at(-1);
  assert.ok(last, 'a request was logged');
  return last;
}

// --------------------------------------------------------------------------------------------------- per API

describe('Anthropic Messages', () => {
  it('calls the write tool with a path in the prompt’s working directory, then says done', async () => {
    await withMock({}, async (mock) => {
      const first = { role: 'user', content: [{ type: 'text', text: 'Create hello.txt containing hi' }] };
      const events = await sse(
        await post(mock, '/v1/messages?beta=true', {
          model: 'claude-opus-4-8',
          stream: true,
          system: claudeSystem,
          tools: claudeTools,
          messages: [first],
        }),
      );
      const call = anthropicResult(events);
      assert.equal(call.tool, 'Write');
      assert.deepEqual(call.input, { file_path: join(workdir, 'hello.txt'), content: 'hi' });
      assert.equal(call.stop, 'tool_use');

      const history = [
        first,
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'toolu_1', name: 'Write', input: call.input }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'File created' }] },
      ];
      const done = anthropicResult(
        await sse(
          await post(mock, '/v1/messages', {
            model: 'claude-opus-4-8',
            stream: true,
            system: claudeSystem,
            tools: claudeTools,
            messages: history,
          }),
        ),
      );
      assert.equal(done.text, 'done');
      assert.equal(done.stop, 'end_turn');
    });
  });

  it('answers without streaming as one JSON message', async () => {
    await withMock({ cwd: '/srv/repo' }, async (mock) => {
      const res = await post(mock, '/v1/messages', {
        model: 'm',
        tools: claudeTools,
        messages: [{ role: 'user', content: 'go' }],
      });
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(pick(body, 'type'), 'message');
      assert.equal(pick(body, 'stop_reason'), 'tool_use');
      assert.deepEqual(pick(body, 'content', 0, 'input'), {
        file_path: '/srv/repo/hello.txt',
        content: 'hi',
      });
      assert.equal(pick(body, 'usage', 'input_tokens'), 100);
    });
  });

  it('answers count_tokens', async () => {
    await withMock({}, async (mock) => {
      const res = await post(mock, '/v1/messages/count_tokens', { model: 'm', messages: [] });
      assert.deepEqual(await res.json(), { input_tokens: 100 });
    });
  });
});

describe('OpenAI Responses', () => {
  it('sends Codex a freeform apply_patch that adds the file, then says done', async () => {
    await withMock({}, async (mock) => {
      const prompt = {
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: 'Create hello.txt containing hi' }],
      };
      const events = await sse(
        await post(mock, '/v1/responses', {
          model: 'gpt-5.5',
          stream: true,
          tools: codexTools,
          input: [codexContext, prompt],
        }),
      );
      for (const e of events)
        assert.equal(e.event, pick(parseJsonText(e.data), 'type'), 'event name matches data.type');
      const payloads = dataOf(events);
      assert.deepEqual(
        payloads.map((p) => pick(p, 'sequence_number')),
        payloads.map((_, i) => i),
      );
      assert.equal(pick(payloads.at(-1), 'type'), 'response.completed');
      const item = pick(
        payloads.find((p) => pick(p, 'type') === 'response.output_item.done'),
        'item',
      );
      assert.equal(pick(item, 'type'), 'custom_tool_call');
      assert.equal(pick(item, 'name'), 'apply_patch');
      assert.equal(
        pick(item, 'input'),
        `*** Begin Patch\n*** Add File: ${join(workdir, 'hello.txt')}\n+hi\n*** End Patch\n`,
      );

      const callId = pick(item, 'call_id');
      const history = [
        codexContext,
        prompt,
        item,
        { type: 'custom_tool_call_output', call_id: callId, output: 'Success' },
      ];
      const done = dataOf(
        await sse(
          await post(mock, '/v1/responses', {
            model: 'gpt-5.5',
            stream: true,
            tools: codexTools,
            input: history,
          }),
        ),
      );
      const doneItem = pick(
        done.find((p) => pick(p, 'type') === 'response.output_item.done'),
        'item',
      );
      assert.equal(pick(doneItem, 'content', 0, 'text'), 'done');
      assert.equal(pick(done.at(-1), 'response', 'usage', 'output_tokens'), 10);
    });
  });

  it('calls a function tool with JSON arguments filled from its schema (droid’s Execute)', async () => {
    await withMock({ cwd: workdir }, async (mock) => {
      const execute = {
        type: 'function',
        name: 'Execute',
        parameters: objectSchema(
          {
            command: str,
            summary: str,
            riskLevel: { type: 'string', enum: ['low', 'medium', 'high'] },
            riskLevelReason: str,
            timeout: { type: 'number' },
          },
          ['command', 'summary', 'riskLevel', 'riskLevelReason'],
        ),
      };
      const payloads = dataOf(
        await sse(
          await post(mock, '/v1/responses', {
            model: 'gpt-5',
            stream: true,
            tools: [{ type: 'custom', name: 'ApplyPatch' }, execute],
            input: 'Create hello.txt',
          }),
        ),
      );
      const item = pick(
        payloads.find((p) => pick(p, 'type') === 'response.output_item.done'),
        'item',
      );
      assert.equal(pick(item, 'type'), 'function_call');
      assert.deepEqual(parseJsonText(pick(item, 'arguments') as string), {
        command: `printf '%s' 'hi' > '${join(workdir, 'hello.txt')}'`,
        summary: 'mock',
        riskLevel: 'low',
        riskLevelReason: 'mock',
      });
    });
  });
});

describe('OpenAI Chat Completions', () => {
  it('calls Copilot’s create tool, then says done, with a usage chunk and [DONE]', async () => {
    await withMock({}, async (mock) => {
      const prompt = { role: 'user', content: 'Create hello.txt containing hi' };
      const events = await sse(
        await post(mock, '/v1/chat/completions', {
          model: 'gpt-5',
          stream: true,
          tools: copilotTools,
          messages: [copilotSystem, prompt],
        }),
      );
      assert.equal(events.at(-1)?.data, '[DONE]');
      const chunks = dataOf(events);
      assert.ok(chunks.every((c) => pick(c, 'object') === 'chat.completion.chunk'));
      const name = pick(chunks[0], 'choices', 0, 'delta', 'tool_calls', 0, 'function', 'name');
      const args = chunks
        .map((c) => textAt(c, 'choices', 0, 'delta', 'tool_calls', 0, 'function', 'arguments'))
        .join('');
      assert.equal(name, 'create');
      assert.deepEqual(parseJsonText(args), { path: join(workdir, 'hello.txt'), file_text: 'hi' });
      assert.equal(pick(chunks.at(-2), 'choices', 0, 'finish_reason'), 'tool_calls');
      assert.deepEqual(pick(chunks.at(-1), 'choices'), []);
      assert.equal(pick(chunks.at(-1), 'usage', 'total_tokens'), 110);

      const history = [
        copilotSystem,
        prompt,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'create', arguments: args } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'Created file' },
      ];
      const done = dataOf(
        await sse(
          await post(mock, '/v1/chat/completions', {
            model: 'gpt-5',
            stream: true,
            tools: copilotTools,
            messages: history,
          }),
        ),
      );
      assert.equal(done.map((c) => textAt(c, 'choices', 0, 'delta', 'content')).join(''), 'done');
    });
  });

  it('answers without streaming as one chat.completion', async () => {
    await withMock({}, async (mock) => {
      const res = await post(mock, '/chat/completions', {
        model: 'm',
        messages: [{ role: 'user', content: 'mock:text' }],
      });
      const body = await res.json();
      assert.equal(pick(body, 'object'), 'chat.completion');
      assert.equal(pick(body, 'choices', 0, 'message', 'content'), 'ok: seen 1 user message(s)');
      assert.equal(pick(body, 'choices', 0, 'finish_reason'), 'stop');
    });
  });
});

describe('Gemini', () => {
  it('calls write_file, then says done', async () => {
    await withMock({}, async (mock) => {
      const prompt = { role: 'user', parts: [{ text: 'Create hello.txt containing hi' }] };
      const events = await sse(
        await post(mock, geminiStream, { contents: [geminiContext, prompt], tools: geminiTools }),
      );
      assert.ok(
        events.every((e) => e.event === undefined),
        'Gemini events are unnamed',
      );
      const [chunk] = dataOf(events);
      const call = pick(chunk, 'candidates', 0, 'content', 'parts', 0, 'functionCall');
      assert.equal(pick(call, 'name'), 'write_file');
      assert.deepEqual(pick(call, 'args'), { file_path: join(workdir, 'hello.txt'), content: 'hi' });
      assert.equal(pick(chunk, 'candidates', 0, 'finishReason'), 'STOP');
      assert.equal(pick(chunk, 'modelVersion'), 'gemini-2.5-pro');

      const history = [
        geminiContext,
        prompt,
        { role: 'model', parts: [{ functionCall: call }] },
        {
          role: 'user',
          parts: [
            { functionResponse: { id: pick(call, 'id'), name: 'write_file', response: { output: 'ok' } } },
          ],
        },
      ];
      const done = dataOf(
        await sse(await post(mock, geminiStream, { contents: history, tools: geminiTools })),
      );
      assert.equal(pick(done[0], 'candidates', 0, 'content', 'parts', 0, 'text'), 'done');
    });
  });

  it('answers generateContent as JSON and countTokens', async () => {
    await withMock({}, async (mock) => {
      const res = await post(mock, '/v1beta/models/gemini-2.5-flash:generateContent', {
        contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
      });
      assert.equal(pick(await res.json(), 'candidates', 0, 'content', 'parts', 0, 'text'), 'Mock title');
      const count = await post(mock, '/v1beta/models/gemini-2.5-flash:countTokens', { contents: [] });
      assert.deepEqual(await count.json(), { totalTokens: 100 });
    });
  });
});

// --------------------------------------------------------------------------------------------------- scenarios

describe('scenarios', () => {
  it('mock:text counts genuine user turns in every API, not tool results', async () => {
    await withMock({}, async (mock) => {
      const anthropic = await post(mock, '/v1/messages', {
        model: 'm',
        tools: claudeTools,
        messages: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'Read', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: [{ type: 'text', text: 'again mock:text' }] },
        ],
      });
      assert.equal(pick(await anthropic.json(), 'content', 0, 'text'), 'ok: seen 2 user message(s)');

      const responses = await post(mock, '/v1/responses', {
        model: 'm',
        input: [
          { type: 'message', role: 'user', content: 'one' },
          { type: 'function_call', call_id: 'c', name: 'exec_command', arguments: '{}' },
          { type: 'function_call_output', call_id: 'c', output: 'x' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'two' }] },
          { role: 'user', content: 'three mock:text' },
        ],
      });
      assert.equal(
        pick(await responses.json(), 'output', 0, 'content', 0, 'text'),
        'ok: seen 3 user message(s)',
      );

      const gemini = await post(mock, geminiStream, {
        contents: [
          { role: 'user', parts: [{ text: 'one' }] },
          { role: 'model', parts: [{ functionCall: { name: 'read_file', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'read_file', response: {} } }] },
          { role: 'user', parts: [{ text: 'two mock:text' }] },
        ],
      });
      assert.equal(
        pick(dataOf(await sse(gemini))[0], 'candidates', 0, 'content', 'parts', 0, 'text'),
        'ok: seen 2 user message(s)',
      );
      assert.equal(lastRequest(mock).directive, 'text');
    });
  });

  it('error401 answers in each API’s own error shape', async () => {
    await withMock({ script: { scenario: 'error401' } }, async (mock) => {
      const anthropic = await post(mock, '/v1/messages', {
        model: 'm',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(anthropic.status, 401);
      assert.deepEqual(await anthropic.json(), {
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid api key (mock)' },
      });

      for (const path of ['/v1/responses', '/v1/chat/completions']) {
        const res = await post(mock, path, {
          model: 'm',
          stream: true,
          input: 'hi',
          messages: [{ role: 'user', content: 'hi' }],
        });
        assert.equal(res.status, 401);
        const body = await res.json();
        assert.equal(pick(body, 'error', 'type'), 'invalid_request_error');
        assert.equal(pick(body, 'error', 'code'), 'invalid_api_key');
        assert.equal(typeof pick(body, 'error', 'message'), 'string');
      }

      const gemini = await post(mock, geminiStream, {
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
      });
      assert.equal(gemini.status, 401);
      assert.deepEqual(await gemini.json(), {
        error: { code: 401, message: 'invalid api key (mock)', status: 'UNAUTHENTICATED' },
      });
      assert.deepEqual(
        mock.requests().map((r) => r.reply),
        [1, 2, 3, 4].map(() => ({ kind: 'error', status: 401 })),
      );
    });
  });

  it('error429 and error500 directives override the script', async () => {
    await withMock({}, async (mock) => {
      const limited = await post(mock, '/v1/messages', {
        model: 'm',
        messages: [{ role: 'user', content: 'mock:error429' }],
      });
      assert.equal(limited.status, 429);
      assert.equal(pick(await limited.json(), 'error', 'type'), 'rate_limit_error');
      const broken = await post(mock, geminiStream, {
        contents: [{ role: 'user', parts: [{ text: 'mock:error500' }] }],
      });
      assert.equal(broken.status, 500);
      assert.equal(pick(await broken.json(), 'error', 'status'), 'INTERNAL');
    });
  });

  it('hang keeps the stream open and close() ends it without waiting', async (t) => {
    const mock = await startMockLlm({ script: { scenario: 'hang' } });
    t.after(() => mock.close());
    const res = await post(mock, '/v1/messages', {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.deepEqual(lastRequest(mock).reply, { kind: 'hang' }, 'logged while still hanging');
    const body = res.text();
    const started = Date.now();
    await mock.close();
    await assert.rejects(body, 'the client sees the connection drop');
    assert.ok(Date.now() - started < 2000, 'close() did not wait for the hung reply');
  });

  it('slow streams distinct words at the set pace and stops when the server closes', async (t) => {
    await withMock({ slowMs: 5, script: { slowWords: 8 } }, async (mock) => {
      const started = Date.now();
      const events = await sse(
        await post(mock, geminiStream, { contents: [{ role: 'user', parts: [{ text: 'mock:slow' }] }] }),
      );
      // Seven pauses of 5 ms; timers may fire a millisecond early.
      assert.ok(Date.now() - started >= 7 * 4);
      const words = dataOf(events).map((c) => pick(c, 'candidates', 0, 'content', 'parts', 0, 'text'));
      assert.deepEqual(words, [
        'part1 ',
        'part2 ',
        'part3 ',
        'part4 ',
        'part5 ',
        'part6 ',
        'part7 ',
        'part8',
      ]);
      assert.equal(new Set(words).size, words.length);
      assert.equal(pick(dataOf(events).at(-1), 'candidates', 0, 'finishReason'), 'STOP');
    });
    const mock = await startMockLlm({ slowMs: 60_000, script: { scenario: 'slow' } });
    t.after(() => mock.close());
    const res = await post(mock, '/v1/chat/completions', {
      model: 'm',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const body = res.text();
    const started = Date.now();
    await mock.close();
    await assert.rejects(body);
    assert.ok(Date.now() - started < 2000);
  });

  it('shell (and ask) force the shell tool; the command it sends really writes the file', async () => {
    await withMock({ script: { scenario: 'ask', content: "it's $HOME" } }, async (mock) => {
      const res = await post(mock, '/v1/messages', {
        model: 'm',
        system: claudeSystem,
        tools: claudeTools,
        messages: [{ role: 'user', content: 'go' }],
      });
      const input = pick(await res.json(), 'content', 0, 'input');
      assert.equal(pick(input, 'description'), 'write hello.txt');
      execFileSync('bash', ['-c', pick(input, 'command') as string]);
      assert.equal(readFileSync(join(workdir, 'hello.txt'), 'utf8'), "it's $HOME");
      assert.equal(lastRequest(mock).scenario, 'ask');

      const gemini = await post(mock, geminiStream, {
        contents: [geminiContext, { role: 'user', parts: [{ text: 'mock:shell' }] }],
        tools: geminiTools,
      });
      const call = pick(dataOf(await sse(gemini))[0], 'candidates', 0, 'content', 'parts', 0, 'functionCall');
      assert.equal(pick(call, 'name'), 'run_shell_command');
      assert.equal(pick(call, 'args', 'dir_path'), workdir);
    });
  });
});

describe('edit scenario', () => {
  before(() => writeFileSync(join(workdir, 'notes.md'), '# Notes\nhello world\nbye\n'));
  const script = { scenario: 'edit', file: 'notes.md', search: 'world', replace: 'there' } as const;

  it('reads the file first, then edits it with Claude Code’s Edit tool, then says done', async () => {
    await withMock({ script }, async (mock) => {
      const prompt = { role: 'user', content: 'Fix the notes' };
      const ask = async (messages: object[]): Promise<unknown> =>
        (
          await post(mock, '/v1/messages', { model: 'm', system: claudeSystem, tools: claudeTools, messages })
        ).json();
      const read = pick(await ask([prompt]), 'content', 0);
      assert.equal(pick(read, 'name'), 'Read');
      assert.deepEqual(pick(read, 'input'), { file_path: join(workdir, 'notes.md') });
      const afterRead = [
        prompt,
        { role: 'assistant', content: [read] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: pick(read, 'id'), content: '1→# Notes' }],
        },
      ];
      const edit = pick(await ask(afterRead), 'content', 0);
      assert.equal(pick(edit, 'name'), 'Edit');
      assert.deepEqual(pick(edit, 'input'), {
        file_path: join(workdir, 'notes.md'),
        old_string: 'world',
        new_string: 'there',
      });
      const afterEdit = [
        ...afterRead,
        { role: 'assistant', content: [edit] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: pick(edit, 'id'), content: 'updated' }],
        },
      ];
      assert.equal(pick(await ask(afterEdit), 'content', 0, 'text'), 'done');
      assert.deepEqual(
        mock.requests().map((r) => r.rule),
        ['tool-step', 'tool-step', 'done'],
      );
    });
  });

  it('maps the edit onto Copilot’s and Gemini CLI’s own argument names', async () => {
    await withMock({ script }, async (mock) => {
      const copilotStep = async (messages: object[]): Promise<unknown> => {
        const res = await post(mock, '/v1/chat/completions', {
          model: 'gpt-5',
          tools: copilotTools,
          messages: [copilotSystem, ...messages],
        });
        return pick(await res.json(), 'choices', 0, 'message', 'tool_calls', 0, 'function');
      };
      const viewed = await copilotStep([{ role: 'user', content: 'fix' }]);
      assert.equal(pick(viewed, 'name'), 'view');
      // `forceReadLargeFiles` matches the loose path pattern but is a boolean: left out, not given the path.
      assert.deepEqual(parseJsonText(pick(viewed, 'arguments') as string), {
        path: join(workdir, 'notes.md'),
      });
      const edited = await copilotStep([
        { role: 'user', content: 'fix' },
        { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: viewed }] },
        { role: 'tool', tool_call_id: 'a', content: '...' },
      ]);
      assert.equal(pick(edited, 'name'), 'edit');
      assert.deepEqual(parseJsonText(pick(edited, 'arguments') as string), {
        path: join(workdir, 'notes.md'),
        old_str: 'world',
        new_str: 'there',
      });

      const gemini = await post(mock, geminiStream, {
        contents: [
          geminiContext,
          { role: 'user', parts: [{ text: 'fix' }] },
          { role: 'model', parts: [{ functionCall: { name: 'read_file', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'read_file', response: {} } }] },
        ],
        tools: geminiTools,
      });
      const call = pick(dataOf(await sse(gemini))[0], 'candidates', 0, 'content', 'parts', 0, 'functionCall');
      assert.equal(pick(call, 'name'), 'replace');
      assert.deepEqual(pick(call, 'args'), {
        file_path: join(workdir, 'notes.md'),
        instruction: 'mock',
        old_string: 'world',
        new_string: 'there',
      });
    });
  });

  it('gives Codex an Update File patch spanning the whole line around the match', async () => {
    await withMock({ script }, async (mock) => {
      const res = await post(mock, '/v1/responses', {
        model: 'gpt-5.5',
        tools: codexTools,
        input: [codexContext, { role: 'user', content: 'fix' }],
      });
      const item = pick(await res.json(), 'output', 0);
      assert.equal(pick(item, 'type'), 'custom_tool_call');
      assert.equal(
        pick(item, 'input'),
        `*** Begin Patch\n*** Update File: ${join(workdir, 'notes.md')}\n@@\n-hello world\n+hello there\n*** End Patch\n`,
      );
    });
  });

  it('falls back to a shell command that really replaces the text', async () => {
    const file = join(workdir, 'shell-edit.txt');
    writeFileSync(file, "a 'quoted' $thing\nsecond\n");
    await withMock(
      { script: { scenario: 'edit', file, search: "'quoted' $thing", replace: 'plain $& text' } },
      async (mock) => {
        const res = await post(mock, '/v1/chat/completions', {
          model: 'm',
          tools: [copilotTools[0]],
          messages: [{ role: 'user', content: 'fix' }],
        });
        const args = parseJsonText(
          pick(await res.json(), 'choices', 0, 'message', 'tool_calls', 0, 'function', 'arguments') as string,
        );
        execFileSync('bash', ['-c', pick(args, 'command') as string]);
        assert.equal(readFileSync(file, 'utf8'), 'a plain $& text\nsecond\n');
      },
    );
  });
});

describe('side requests', () => {
  it('a request without tools gets plain text; one asking for JSON gets an object built from the schema', async () => {
    await withMock({}, async (mock) => {
      const title = await post(mock, '/v1/chat/completions', {
        model: 'm',
        messages: [{ role: 'user', content: 'Generate a title' }],
      });
      assert.equal(pick(await title.json(), 'choices', 0, 'message', 'content'), 'Mock title');

      const claudeTitle = await post(mock, '/v1/messages', {
        model: 'm',
        messages: [{ role: 'user', content: 'mock:text title please' }],
        output_config: { format: { type: 'json_schema', schema: objectSchema({ title: str }) } },
      });
      assert.deepEqual(parseJsonText(pick(await claudeTitle.json(), 'content', 0, 'text') as string), {
        title: 'mock',
      });

      const router = await post(mock, '/v1beta/models/gemini-3.5-flash-lite:generateContent', {
        contents: [{ role: 'user', parts: [{ text: 'classify' }] }],
        generationConfig: {
          responseMimeType: 'application/json',
          responseJsonSchema: objectSchema({
            complexity_reasoning: str,
            complexity_score: { type: 'integer' },
            next_speaker: { type: 'string', enum: ['model', 'user'] },
          }),
        },
      });
      const routed = parseJsonText(
        pick(await router.json(), 'candidates', 0, 'content', 'parts', 0, 'text') as string,
      );
      assert.deepEqual(routed, { complexity_reasoning: 'mock', complexity_score: 1, next_speaker: 'user' });

      const responsesJson = await post(mock, '/v1/responses', {
        model: 'm',
        input: 'x',
        text: {
          format: { type: 'json_schema', schema: objectSchema({ n: { type: 'number', minimum: 3 } }) },
        },
      });
      assert.equal(pick(await responsesJson.json(), 'output', 0, 'content', 0, 'text'), '{"n":3}');
      assert.deepEqual(
        mock.requests().map((r) => r.rule),
        ['no-tools', 'json', 'json', 'json'],
      );
    });
  });

  it('a background agent with tools (Qwen Code memory extraction) gets text, not the scripted edit', async () => {
    await withMock({}, async (mock) => {
      const res = await post(mock, '/v1/chat/completions', {
        model: 'm',
        tools: copilotTools,
        messages: [
          { role: 'system', content: 'You are the managed memory extraction subagent.' },
          { role: 'user', content: 'extract' },
        ],
      });
      assert.equal(pick(await res.json(), 'choices', 0, 'message', 'content'), 'nothing to record');
      assert.equal(lastRequest(mock).rule, 'side-agent');
    });
  });
});

// --------------------------------------------------------------------------------------------------- log and routes

describe('request log and routes', () => {
  it('records each request with its API, model, turns, tools, scenario and redacted headers', async () => {
    await withMock({}, async (mock) => {
      await post(
        mock,
        '/v1/messages?beta=true',
        {
          model: 'claude-opus-4-8',
          system: claudeSystem,
          tools: claudeTools,
          messages: [{ role: 'user', content: 'go' }],
        },
        {
          'x-api-key': 'sk-ant-secret-value',
          'anthropic-version': '2023-06-01',
          'x-claude-code-session-id': 's1',
          'x-unrelated': 'no',
        },
      );
      await post(
        mock,
        '/v1/responses',
        { model: 'gpt-5.5', input: 'mock:text' },
        { authorization: 'Bearer sk-secret-token' },
      );
      const [first, second] = mock.requests();
      assert.ok(first && second);
      assert.equal(first.seq, 1);
      assert.equal(first.method, 'POST');
      assert.equal(first.path, '/v1/messages');
      assert.equal(first.query, '?beta=true');
      assert.equal(first.api, 'anthropic');
      assert.equal(first.model, 'claude-opus-4-8');
      assert.equal(first.userTurns, 1);
      assert.deepEqual(first.tools, ['Bash', 'Edit', 'Read', 'Write']);
      assert.equal(first.scenario, 'write');
      assert.equal(first.directive, undefined);
      assert.equal(first.headers['x-api-key'], '[redacted]');
      assert.equal(first.headers['anthropic-version'], '2023-06-01');
      assert.equal(first.headers['x-claude-code-session-id'], 's1');
      assert.equal(first.headers['x-unrelated'], undefined);
      assert.equal(pick(first.body, 'model'), 'claude-opus-4-8');
      assert.equal(second.headers['authorization'], 'Bearer [redacted]');
      assert.equal(second.directive, 'text');
      assert.ok(!JSON.stringify(mock.requests()).includes('secret'), 'no credential anywhere in the log');

      mock.reset();
      assert.deepEqual(mock.requests(), []);
    });
  });

  it('404s and logs unknown routes, lists models, refuses WebSocket upgrades with 426', async () => {
    await withMock({}, async (mock) => {
      const missing = await fetch(`${mock.url}/api/sessions/abc`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      const models = await fetch(`${mock.url}/v1/models`);
      assert.ok(Array.isArray(pick(await models.json(), 'data')));
      const model = await fetch(`${mock.url}/v1/models/gpt-5`);
      assert.equal(pick(await model.json(), 'id'), 'gpt-5');

      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = httpRequest(`${mock.url}/v1/responses`, {
          headers: { connection: 'Upgrade', upgrade: 'websocket' },
        });
        req.on('upgrade', (_res, socket) => {
          socket.destroy();
          resolve(101);
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 426);
      assert.deepEqual(
        mock.requests().map((r) => [r.api, r.reply]),
        [
          ['not-found', { kind: 'status', status: 404 }],
          ['models', { kind: 'status', status: 200 }],
          ['models', { kind: 'status', status: 200 }],
          ['websocket', { kind: 'status', status: 426 }],
        ],
      );
    });
  });

  it('answers a body that is not JSON with a 400 in the API’s shape', async () => {
    await withMock({}, async (mock) => {
      const res = await fetch(`${mock.url}/v1/messages`, { method: 'POST', body: 'not json' });
      assert.equal(res.status, 400);
      assert.equal(pick(await res.json(), 'error', 'type'), 'invalid_request_error');
    });
  });

  it('setScript validates and names the bad field', async () => {
    await withMock({}, async (mock) => {
      assert.throws(() => mock.setScript({ scenario: 'nope' as 'write' }), /scenario must be one of/);
      assert.throws(() => mock.setScript({ slowWords: 0 }), /slowWords/);
      mock.setScript({ scenario: 'text' });
      const res = await post(mock, '/v1/chat/completions', {
        model: 'm',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(pick(await res.json(), 'choices', 0, 'message', 'content'), 'ok: seen 1 user message(s)');
    });
  });
});

describe('command-line entry', () => {
  it('prints MOCK_LISTENING, obeys the control endpoints and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/mock-llm/cli.ts'], {
      env: { ...process.env, MOCK_PORT: '0', MOCK_SCENARIO: 'text', MOCK_CWD: workdir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no MOCK_LISTENING within 20 s')), 20_000);
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /MOCK_LISTENING (\d+)\n/.exec(out);
          if (match?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once('exit', () => reject(new Error('exited before listening')));
      });
      const url = `http://127.0.0.1:${port}`;
      const ask = async (): Promise<unknown> =>
        (
          await fetch(`${url}/v1/chat/completions`, {
            method: 'POST',
            body: JSON.stringify({
              model: 'm',
              tools: copilotTools,
              messages: [{ role: 'user', content: 'hi' }],
            }),
          })
        ).json();
      assert.equal(pick(await ask(), 'choices', 0, 'message', 'content'), 'ok: seen 1 user message(s)');

      const changed = await fetch(`${url}/__mock/scenario`, {
        method: 'POST',
        body: JSON.stringify({ scenario: 'write' }),
      });
      assert.equal(pick(await changed.json(), 'scenario'), 'write');
      const call = pick(await ask(), 'choices', 0, 'message', 'tool_calls', 0, 'function', 'arguments');
      assert.deepEqual(parseJsonText(call as string), { path: join(workdir, 'hello.txt'), file_text: 'hi' });

      const bad = await fetch(`${url}/__mock/scenario`, {
        method: 'POST',
        body: JSON.stringify({ scenario: 'nope' }),
      });
      assert.equal(bad.status, 400);

      const logged = await (await fetch(`${url}/__mock/requests`)).json();
      assert.deepEqual(
        (logged as LoggedRequest[]).map((r) => r.scenario),
        ['text', 'write'],
      );
      assert.equal(pick(logged, 0, 'body'), undefined, 'bodies only on request');
      assert.equal((await fetch(`${url}/__mock/reset`, { method: 'POST' })).status, 200);
      assert.deepEqual(await (await fetch(`${url}/__mock/requests`)).json(), []);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});
