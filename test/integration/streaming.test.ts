import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('SSE heartbeats', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { SSE_HEARTBEAT_SECONDS: '0.2' },
      configYaml: `
backends:
  quiet:
    type: fake
    summary: done thinking
    steps:
      - { sleepMs: 1200 }
skills:
  code: { backend: quiet }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  for (const [name, method, headers, params] of [
    [
      'JSON-RPC 0.3 message/stream',
      'message/stream',
      {},
      { kind: 'message', role: 'user', parts: [{ kind: 'text', text: 'x' }] },
    ],
    [
      'JSON-RPC 1.0 SendStreamingMessage',
      'SendStreamingMessage',
      { 'a2a-version': '1.0' },
      { role: 'ROLE_USER', parts: [{ text: 'x' }] },
    ],
  ] as const) {
    test(`${name}: a quiet stream carries heartbeat comments, and the events are unchanged`, async () => {
      const res = await fetch(`${gw.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method,
          params: { message: { messageId: `h-${Math.random()}`, metadata: { skill: 'code' }, ...params } },
        }),
      });
      const text = await res.text();
      const beats = text.split('\n\n').filter((b) => b.startsWith(': keepalive'));
      assert.ok(beats.length >= 3, `saw ${beats.length} heartbeats during a 1.2 s quiet spell`);
      // Each event is an `id:` line and a `data:` line; heartbeats come only between events.
      const blocks = text.split('\n\n').filter((b) => !b.startsWith(':') && b !== '');
      assert.ok(blocks.every((b) => /^id: \d+\ndata: /.test(b)));
      const events = blocks.map((b) => JSON.parse(b.slice(b.indexOf('data: ') + 6)) as { result: unknown });
      assert.ok(events.length >= 3);
      assert.match(JSON.stringify(events.at(-1)), /completed|COMPLETED/);
    });
  }

  test('a non-streaming response gets no heartbeat', async () => {
    const res = await fetch(`${gw.url}/health`);
    assert.doesNotMatch(await res.text(), /keepalive/);
  });
});
