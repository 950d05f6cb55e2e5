/**
 * Mistyped fields found by probing the gateway from outside (issue 10, items 10 to 14): each gets a clear error
 * naming the field, never -32603 or HTTP 500, and the gateway keeps serving.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';
import { rpc, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const CONFIG = `
backends:
  quick: { type: fake, summary: ok }
skills:
  code: { backend: quick }
`;
const KEY = 'bad-input-test-key-0123456789';
const as = { 'x-api-key': KEY };
const NOT_STRINGS: ReadonlyArray<[string, unknown]> = [
  ['null', null],
  ['5', 5],
  ['true', true],
  ['[]', []],
  ['{}', {}],
];

function send03(parts: unknown[], extra: Record<string, unknown> = {}) {
  return {
    jsonrpc: '2.0',
    id: 'req-7',
    method: 'message/send',
    params: {
      message: { kind: 'message', role: 'user', messageId: `m-${Math.random()}`, parts, ...extra },
      metadata: { skill: 'code' },
    },
  };
}

describe('mistyped fields get errors naming the field', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { API_KEY: KEY } });
  });
  after(async () => {
    await gw.stop();
  });

  async function stillServing(): Promise<void> {
    assert.equal((await fetch(`${gw.url}/health`)).status, 200);
    const ok = await rpc(gw.url, send03([{ kind: 'text', text: 'hi' }]), as);
    assert.equal(ok.body.result?.status?.state, 'completed', JSON.stringify(ok.body));
  }

  test('a text part whose text is not a string (0.3 and 0.1): -32602 naming parts.0.text', async () => {
    for (const [label, value] of NOT_STRINGS) {
      const res = await rpc(gw.url, send03([{ kind: 'text', text: value }]), as);
      assert.equal(res.status, 200);
      assert.equal(res.body.id, 'req-7');
      assert.equal(res.body.error?.code, -32602, `text ${label}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /params\.message\.parts\.0\.text: expected a string/);
      const legacy = await rpc(
        gw.url,
        {
          jsonrpc: '2.0',
          id: 8,
          method: 'tasks/send',
          params: {
            id: `t-${Math.random()}`,
            message: { role: 'user', parts: [{ type: 'text', text: value }] },
          },
        },
        as,
      );
      assert.equal(legacy.body.error?.code, -32602, `0.1 text ${label}: ${JSON.stringify(legacy.body)}`);
      assert.match(legacy.body.error.message, /parts\.0\.text: expected a string/);
    }
    await stillServing();
  });

  test('tasks/get and tasks/cancel with an id that is not a string: -32602 naming params.id', async () => {
    for (const method of ['tasks/get', 'tasks/cancel']) {
      for (const [label, value] of NOT_STRINGS.filter(([l]) => l !== 'null')) {
        const res = await rpc(gw.url, { jsonrpc: '2.0', id: 11, method, params: { id: value } }, as);
        assert.equal(res.body.error?.code, -32602, `${method} id ${label}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.message, /params\.id: expected a string/);
        assert.equal(res.body.id, 11);
      }
    }
    await stillServing();
  });

  test('a message whose taskId is not a string: -32602 naming params.message.taskId', async () => {
    for (const [label, value] of NOT_STRINGS.filter(([l]) => l !== 'null')) {
      const res = await rpc(gw.url, send03([{ kind: 'text', text: 'x' }], { taskId: value }), as);
      assert.equal(res.body.error?.code, -32602, `taskId ${label}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /params\.message\.taskId: expected a string/);
    }
    const rest = await fetch(`${gw.url}/v1/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as },
      body: JSON.stringify({
        message: { role: 'user', messageId: 'r1', parts: [{ kind: 'text', text: 5 }] },
      }),
    });
    assert.equal(rest.status, 400);
    assert.match(((await rest.json()) as { error: { message: string } }).error.message, /parts\.0\.text/);
    await stillServing();
  });

  test('bad percent-encoding in a REST path is 400, with no URIError in the log', async () => {
    const probes: Array<[string, string]> = [
      ['GET', '/tasks/%ff'],
      ['POST', '/tasks/%ff:cancel'],
      ['POST', '/%ff/message:send'],
      ['GET', '/v1/tasks/%E0%A4%A'],
      ['GET', '/%c0%af/tasks'],
    ];
    for (const [method, path] of probes) {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...as },
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      assert.equal(res.status, 400, `${method} ${path}`);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /percent-encoded/);
    }
    assert.doesNotMatch(gw.logs.text(), /URIError|unhandled error/);
    await stillServing();
  });

  test('a REST body that is JSON but not an object is 400 naming what was expected, on tenant routes too', async () => {
    const send = await rpc(gw.url, send03([{ kind: 'text', text: 'hi' }]), as);
    const id = (send.body as { result: { id: string } }).result.id;
    const probes: Array<[string, string, string]> = [
      ['DELETE', `/tenant-a/tasks/${id}/pushNotificationConfigs/%00`, '-5.2e+146'],
      ['POST', `/tenant-a/tasks/${id}:cancel`, 'true'],
      ['POST', '/tenant-a/message:send', '"text"'],
      ['POST', '/message:send', '[1, 2]'],
      ['GET', `/tenant-a/tasks/${id}`, '7'],
    ];
    for (const [method, path, body] of probes) {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as },
        ...(method === 'GET' ? {} : { body }),
      });
      if (method === 'GET') {
        assert.notEqual(res.status, 500, `${method} ${path}`);
        continue;
      }
      assert.equal(res.status, 400, `${method} ${path} ${body}`);
      const answer = (await res.json()) as { error: { message: string } };
      assert.match(answer.error.message, /body must be a JSON object/);
    }
    assert.doesNotMatch(gw.logs.text(), /unhandled error/);
    await stillServing();
  });

  test('0.1 tasks/send with a skill that is not a string is refused, not run as the default skill', async () => {
    for (const [label, value] of [
      ['0', 0],
      ['true', true],
      ['[]', []],
      ['{}', {}],
    ] as const) {
      const res = await rpc(
        gw.url,
        {
          jsonrpc: '2.0',
          id: 21,
          method: 'tasks/send',
          params: {
            id: `t-${Math.random()}`,
            skill: value,
            message: { role: 'user', parts: [{ type: 'text', text: 'x' }] },
          },
        },
        as,
      );
      assert.equal(res.body.error?.code, -32602, `skill ${label}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /params\.skill: expected a skill id/);
    }
    const named = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 22,
        method: 'tasks/send',
        params: {
          id: 't-ok',
          skill: 'code',
          message: { role: 'user', parts: [{ type: 'text', text: 'x' }] },
        },
      },
      as,
    );
    assert.equal(named.body.result?.status?.state, 'completed', JSON.stringify(named.body));
  });

  test('what the fuzz suite found: odd ids, deep nesting, push config without a config, file parts, REST bodies', async () => {
    const objectId = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: { a: 1 }, method: 'tasks/get', params: { id: 'x' } },
      as,
    );
    assert.equal(objectId.body.error?.code, -32600);
    assert.equal(objectId.body.id, null);
    let deep: unknown = 'x';
    for (let i = 0; i < 3000; i++) deep = { a: deep };
    const nested = await rpc(gw.url, send03([{ kind: 'text', text: 'x', metadata: deep }]), as);
    assert.equal(nested.body.error?.code, -32600, JSON.stringify(nested.body).slice(0, 300));
    const push = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tasks/pushNotificationConfig/set',
        params: { taskId: 'x', config: {} },
      },
      as,
    );
    assert.equal(push.body.error?.code, -32602);
    assert.match(push.body.error.message, /params\.pushNotificationConfig/);
    const file = await rpc(gw.url, send03([{ kind: 'file', file: 5 }]), as);
    assert.equal(file.body.error?.code, -32602);
    assert.match(file.body.error.message, /parts\.0\.file/);
    // File fields that are not strings (fuzz seed 1145343231: bytes true, uri a number) reached Buffer.from: -32603.
    for (const [file, field] of [
      [{ bytes: true }, /parts\.0\.file\.bytes: expected a string/],
      [{ uri: -5.8e283 }, /parts\.0\.file\.uri: expected a string/],
      [{ uri: 'https://x.example/a', mimeType: 7 }, /parts\.0\.file\.mimeType: expected a string/],
      // A null bytes beside a uri (fuzz seed 1228488662): the SDK tests `'bytes' in file`, Buffer.from(null): -32603.
      [{ uri: 'https://x.example/a', bytes: null }, /parts\.0\.file\.bytes: expected a string, got null/],
      [{ uri: null }, /parts\.0\.file\.uri: expected a string, got null/],
    ] as const) {
      const answer = await rpc(gw.url, send03([{ kind: 'file', file }]), as);
      assert.equal(answer.body.error?.code, -32602, JSON.stringify(answer.body));
      assert.match(answer.body.error.message, field);
    }
    // The same part in the 0.1 dialect, streamed, as the fuzz sent it.
    const v01File = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 6,
        method: 'tasks/sendSubscribe',
        params: {
          id: 'v01-file',
          message: {
            role: 'user',
            parts: [{ type: 'file', file: { uri: 'https://x.example/a', bytes: null } }],
          },
        },
      },
      as,
    );
    assert.equal(v01File.body.error?.code, -32602, JSON.stringify(v01File.body));
    assert.match(v01File.body.error.message, /parts\.0\.file\.bytes: expected a string, got null/);
    const raw = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as },
      body: JSON.stringify({ message: { messageId: 'm-raw', role: 'ROLE_USER', parts: [{ raw: 12 }] } }),
    });
    assert.equal(raw.status, 400);
    assert.match(((await raw.json()) as { error: { message: string } }).error.message, /parts\.0\.raw/);
    const noFile = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'tasks/send',
        params: { message: { role: 'user', parts: [{ kind: 'file' }] } },
      },
      as,
    );
    assert.equal(noFile.body.error?.code, -32602, JSON.stringify(noFile.body));
    // A 0.3 push config whose authentication.schemes is a string, not a list (fuzz seed 1114992766): the SDK's
    // conversion called schemes.join on it and answered -32603.
    const pushConfig = (authentication: unknown) => ({ url: 'https://hooks.example/x', authentication });
    for (const [label, params, field] of [
      [
        'set, schemes a string',
        { id: 'x', pushNotificationConfig: pushConfig({ schemes: 'Bearer' }) },
        /params\.pushNotificationConfig\.authentication\.schemes: expected a list/,
      ],
      [
        'set, a scheme a number',
        { id: 'x', pushNotificationConfig: pushConfig({ schemes: ['Bearer', 7] }) },
        /authentication\.schemes\.1: expected a string/,
      ],
      [
        'send, configuration push token a number',
        {
          message: { role: 'user', messageId: 'm-push', parts: [{ kind: 'text', text: 'x' }] },
          configuration: { pushNotificationConfig: { url: 'https://hooks.example/x', token: 5 } },
        },
        /params\.configuration\.pushNotificationConfig\.token: expected a string/,
      ],
      // acceptedOutputModes a number (fuzz seed 1203588521): the SDK spread it, "is not iterable", -32603.
      [
        'send, acceptedOutputModes a number',
        {
          message: { role: 'user', messageId: 'm-modes', parts: [{ kind: 'text', text: 'x' }] },
          configuration: { acceptedOutputModes: 7 },
        },
        /params\.configuration\.acceptedOutputModes: expected a list of strings, got/,
      ],
      [
        'send, an output mode an object with toString',
        {
          message: { role: 'user', messageId: 'm-modes2', parts: [{ kind: 'text', text: 'x' }] },
          configuration: { acceptedOutputModes: ['text/plain', { toString: 1 }] },
        },
        /params\.configuration\.acceptedOutputModes\.1: expected a string/,
      ],
      [
        'send, referenceTaskIds a number',
        {
          message: {
            role: 'user',
            messageId: 'm-refs',
            parts: [{ kind: 'text', text: 'x' }],
            referenceTaskIds: 3,
          },
        },
        /params\.message\.referenceTaskIds: expected a list of strings/,
      ],
      [
        'send, extensions an object',
        {
          message: {
            role: 'user',
            messageId: 'm-ext',
            parts: [{ kind: 'text', text: 'x' }],
            extensions: { a: 1 },
          },
        },
        /params\.message\.extensions: expected a list of strings/,
      ],
    ] as const) {
      const method = label.startsWith('set') ? 'tasks/pushNotificationConfig/set' : 'message/send';
      const res = await rpc(gw.url, { jsonrpc: '2.0', id: 5, method, params }, as);
      assert.equal(res.body.error?.code, -32602, `${label}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, field, label);
    }
    const restSchemes = await fetch(`${gw.url}/v1/tasks/x/pushNotificationConfigs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as },
      body: JSON.stringify({ pushNotificationConfig: pushConfig({ schemes: 'Bearer' }) }),
    });
    assert.equal(restSchemes.status, 400);
    assert.match(JSON.stringify(await restSchemes.json()), /authentication\.schemes: expected a list/);
    const rest = await fetch(`${gw.url}/tasks/x/pushNotificationConfigs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0', ...as },
      body: '"toString"',
    });
    assert.equal(rest.status, 400);
    await stillServing();
  });

  test('a list filter, page size or history length that is an object is -32602 naming it (one with a toString key came back -32603)', async () => {
    // JSON carries a "toString" key as data; String() and Number() of such an object throw.
    const poison = { toString: [null, 's'], valueOf: 1 };
    for (const [method, params, field] of [
      ['ListTasks', { contextId: poison }, /params\.contextId: expected a string, got an object/],
      ['ListTasks', { pageToken: poison }, /params\.pageToken: expected a string/],
      [
        'ListTasks',
        { status: ['TASK_STATE_WORKING'] },
        /params\.status: expected a task state name, got a list/,
      ],
      ['ListTasks', { pageSize: poison }, /params\.pageSize: expected a whole number/],
      ['GetTask', { id: 'x', historyLength: poison }, /params\.historyLength: expected a whole number/],
      [
        'SendMessage',
        {
          message: { role: 'ROLE_USER', messageId: 'm-poison', parts: [{ text: 'x' }] },
          configuration: { historyLength: poison },
        },
        /params\.configuration\.historyLength: expected a whole number/,
      ],
    ] as const) {
      for (const version of ['1.0', '0.3']) {
        const res = await rpc(
          gw.url,
          { jsonrpc: '2.0', id: 'p-1', method, params },
          { ...as, 'a2a-version': version },
        );
        const label = `${method} ${JSON.stringify(params).slice(0, 60)} (${version})`;
        assert.equal(res.body.error?.code, -32602, `${label}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.message, field, label);
        assert.equal(res.body.id, 'p-1');
      }
    }
    await stillServing();
  });

  test('a JSON-RPC 401 echoes the request id when the body could be read', async () => {
    const numeric = await rpc(gw.url, { jsonrpc: '2.0', id: 77, method: 'tasks/get', params: { id: 'x' } });
    assert.equal(numeric.status, 401);
    assert.equal(numeric.body.id, 77);
    assert.equal(numeric.body.error.code, -32040);
    const named = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 'abc', method: 'tasks/get', params: { id: 'x' } },
      { 'x-api-key': 'wrong-key-wrong-key' },
    );
    assert.equal(named.status, 401);
    assert.equal(named.body.id, 'abc');
    const garbage = await rpc(gw.url, '{"jsonrpc": "2.0", "id": 5, ');
    assert.equal(garbage.status, 401);
    assert.equal(garbage.body.id, null);
  });

  test('a JSON-RPC call asking for a version not served is -32009 naming the versions, and logs no error', async () => {
    // The SDK gives the same answer but logs each such call as an unhandled error with its stack.
    const logged: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    try {
      for (const [version, id] of [
        ['2.0', 0],
        ['garbage', 'v-1'],
        ['0.1', 9],
      ] as const) {
        const res = await rpc(
          gw.url,
          { jsonrpc: '2.0', id, method: 'GetTask', params: { id: 'x' } },
          { ...as, 'a2a-version': version },
        );
        assert.equal(res.status, 200);
        assert.equal(res.body.id, id, 'the request id is kept, 0 included');
        assert.equal(res.body.error?.code, -32009, JSON.stringify(res.body));
        assert.equal(
          res.body.error.message,
          `The requested A2A protocol version '${version}' is not supported. Supported versions: 1.0, 0.3`,
        );
        assert.equal(res.body.error.data?.[0]?.reason, 'VERSION_NOT_SUPPORTED');
      }
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(logged, [], 'nothing logged at error level');
    // Served versions still pass, with a patch number or none.
    for (const version of ['1.0.2', '0.3', '']) {
      const res = await rpc(
        gw.url,
        { jsonrpc: '2.0', id: 1, method: version === '0.3' ? 'tasks/get' : 'GetTask', params: { id: 'x' } },
        { ...as, 'a2a-version': version },
      );
      assert.notEqual(res.body.error?.code, -32009, `${version}: ${JSON.stringify(res.body)}`);
    }
  });

  test('what the field-by-field walk found: a part metadata of null, a 1.0 push config field, a repeated list filter', async () => {
    // A data part's metadata of null: the SDK's 0.3 conversion read a flag out of it, -32603.
    const nullMeta = await rpc(
      gw.url,
      send03([{ kind: 'data', data: { instructions: 'x' }, metadata: null }]),
      as,
    );
    assert.equal(nullMeta.body.error?.code, -32602, JSON.stringify(nullMeta.body));
    assert.match(
      nullMeta.body.error.message,
      /params\.message\.parts\.0\.metadata: expected an object, got null/,
    );
    // 1.0's configuration.taskPushNotificationConfig is checked as 0.3's pushNotificationConfig was.
    const push = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 9,
        method: 'SendMessage',
        params: {
          message: {
            messageId: 'm-push10',
            role: 'ROLE_USER',
            parts: [{ text: 'x' }],
            metadata: { skill: 'code' },
          },
          configuration: { taskPushNotificationConfig: { url: { toString: 'x' } } },
        },
      },
      { ...as, 'a2a-version': '1.0' },
    );
    assert.equal(push.body.error?.code, -32602, JSON.stringify(push.body));
    assert.match(
      push.body.error.message,
      /params\.configuration\.taskPushNotificationConfig\.url: expected a string/,
    );
    // A REST list filter given twice became a list, which reached the store's query: a 500.
    for (const query of ['contextId=a&contextId=b', 'status=TASK_STATE_WORKING&status=TASK_STATE_FAILED']) {
      const res = await fetch(`${gw.url}/tasks?${query}`, { headers: { ...as, 'a2a-version': '1.0' } });
      assert.equal(res.status, 400, query);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /query parameter (contextId|status): expected one value/);
    }
    await stillServing();
  });
});

describe('CLI command settings', () => {
  test('DROID_COMMAND and CLAUDE_COMMAND are the command of a config-defined backend of that type without one', () => {
    const dir = tempDir();
    try {
      const file = join(dir.dir, 'gateway.yaml');
      writeFileSync(
        file,
        `backends:
  mydroid: { type: droid, model: some-model }
  myclaude: { type: claude }
  pinned: { type: claude, command: /opt/claude }
`,
      );
      const config = loadConfig({
        env: { DROID_COMMAND: '/opt/tools/droid-1.2', CLAUDE_COMMAND: '/opt/tools/claude-2' },
        configFile: file,
        cwd: dir.dir,
        knownSkills: BUILTIN_SKILLS.map((s) => s.id),
      });
      const command = (name: string) => (config.backends[name] as { command?: string }).command;
      assert.equal(command('mydroid'), '/opt/tools/droid-1.2');
      assert.equal(command('myclaude'), '/opt/tools/claude-2');
      assert.equal(command('pinned'), '/opt/claude', 'a command in the file wins');
      assert.equal(command('droid'), '/opt/tools/droid-1.2');
    } finally {
      dir.cleanup();
    }
  });

  test('a task on such a backend runs the command DROID_COMMAND names (its failure names it)', async () => {
    const gw = await startTestGateway({
      configYaml: 'backends:\n  mydroid: { type: droid }\nskills:\n  code: { backend: mydroid }\n',
      env: { DROID_COMMAND: '/nonexistent/droid-custom-build' },
    });
    try {
      const res = await rpc(gw.url, send03([{ kind: 'text', text: 'x' }]));
      const text = JSON.stringify(res.body);
      assert.match(text, /droid-custom-build/);
      assert.doesNotMatch(text, /command \\"droid\\"/);
    } finally {
      await gw.stop();
    }
  });
});
