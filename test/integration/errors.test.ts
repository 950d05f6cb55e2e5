import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rpc, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const CONFIG = `
backends:
  quick: { type: fake, summary: ok }
skills:
  code: { backend: quick }
`;

function sendParams(parts: unknown[], metadata: Record<string, unknown> = { skill: 'code' }) {
  return {
    message: { kind: 'message', role: 'user', messageId: `m-${Math.random()}`, parts, metadata },
    configuration: { blocking: true },
  };
}

describe('bad requests get clear errors and the server keeps serving', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { BODY_LIMIT: '64kb' } });
  });
  after(async () => {
    await gw.stop();
  });

  async function stillServing(): Promise<void> {
    const res = await fetch(`${gw.url}/health`);
    assert.equal(res.status, 200);
    const ok = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 9,
      method: 'message/send',
      params: sendParams([{ kind: 'text', text: 'hi' }]),
    });
    assert.equal(ok.body.result?.status?.state, 'completed');
  }

  const cases: Array<[string, unknown, (b: any, status: number) => void]> = [
    [
      'malformed JSON',
      '{"jsonrpc": "2.0", "id": 1, "method": ',
      (b, s) => {
        assert.equal(s, 200);
        assert.equal(b.error.code, -32700);
        assert.match(b.error.message, /not valid JSON/);
      },
    ],
    [
      'an unknown method',
      { jsonrpc: '2.0', id: 2, method: 'tasks/explode', params: {} },
      (b) => {
        assert.equal(b.error.code, -32601);
        assert.equal(b.id, 2);
      },
    ],
    [
      'bad params (message without parts)',
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'message/send',
        params: { message: { kind: 'message', role: 'user' } },
      },
      (b) => assert.ok([-32602, -32600].includes(b.error.code), JSON.stringify(b)),
    ],
    [
      'an unknown skill',
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'message/send',
        params: sendParams([{ kind: 'text', text: 'x' }], { skill: 'make_coffee' }),
      },
      (b) => {
        assert.equal(b.error.code, -32602);
        assert.match(b.error.message, /unknown skill "make_coffee"/);
        assert.match(b.error.message, /fix_bug/);
      },
    ],
    [
      'invalid skill input (wrong type)',
      {
        jsonrpc: '2.0',
        id: 5,
        method: 'message/send',
        params: sendParams([{ kind: 'data', data: { bug_description: 42 } }], { skill: 'fix_bug' }),
      },
      (b) => {
        assert.equal(b.error.code, -32602);
        assert.match(b.error.message, /input\.bug_description/);
      },
    ],
    [
      'a timeout above the maximum',
      {
        jsonrpc: '2.0',
        id: 6,
        method: 'message/send',
        params: sendParams([{ kind: 'text', text: 'x' }], { skill: 'code', timeout: 999999 }),
      },
      (b) => {
        assert.equal(b.error.code, -32602);
        assert.match(b.error.message, /metadata\.timeout.*MAX_TASK_TIMEOUT/);
      },
    ],
    [
      'a 0.1 tasks/send without parts',
      { jsonrpc: '2.0', id: 7, method: 'tasks/send', params: { message: { role: 'user' }, skill: 'code' } },
      (b) => {
        assert.equal(b.error.code, -32602);
        assert.match(b.error.message, /params\.message\.parts/);
      },
    ],
  ];

  for (const [name, body, check] of cases) {
    test(`JSON-RPC: ${name}`, async () => {
      const res = await rpc(gw.url, body);
      check(res.body, res.status);
      await stillServing();
    });
  }

  test('an oversize body gets 413 with a JSON error, not an HTML page', async () => {
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 8,
      method: 'message/send',
      params: sendParams([{ kind: 'text', text: 'x'.repeat(100_000) }]),
    });
    const res = await fetch(`${gw.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    assert.equal(res.status, 413);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const b = (await res.json()) as { error: { code: number; message: string } };
    assert.equal(b.error.code, -32600);
    assert.match(b.error.message, /larger than the 64 kB limit \(BODY_LIMIT\)/);
    const rest = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    assert.equal(rest.status, 413);
    assert.match(((await rest.json()) as { error: { message: string } }).error.message, /BODY_LIMIT/);
    await stillServing();
  });

  test('REST: invalid input is 400 naming the field; an unknown task is 404; an unknown route is a JSON 404', async () => {
    const bad = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({
        message: { messageId: 'r1', role: 'ROLE_USER', parts: [{ text: 'x' }], metadata: { skill: 'nope' } },
      }),
    });
    assert.equal(bad.status, 400);
    assert.match(
      ((await bad.json()) as { error: { message: string } }).error.message,
      /unknown skill "nope"/,
    );
    const missing = await fetch(`${gw.url}/tasks/does-not-exist`, { headers: { 'a2a-version': '1.0' } });
    assert.equal(missing.status, 404);
    const nowhere = await fetch(`${gw.url}/no/such/route`);
    assert.equal(nowhere.status, 404);
    assert.match(((await nowhere.json()) as { error: { message: string } }).error.message, /no route/);
    await stillServing();
  });

  test('a request with no A2A-Version header and a 1.0 method name works', async () => {
    const res = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 10,
      method: 'SendMessage',
      params: {
        message: { messageId: 'v1', role: 'ROLE_USER', parts: [{ text: 'hi' }], metadata: { skill: 'code' } },
      },
    });
    assert.equal(res.body.result?.task?.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(res.body));
  });
});
