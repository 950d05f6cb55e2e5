import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SIGNATURE_HEADER, verifyPushJwt } from '../../src/push/index.js';
import { rpc, sendTask, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { PushReceiver } from '../helpers/push-receiver.js';

describe('push notifications through the gateway', () => {
  let gw: TestGateway;
  let receiver: PushReceiver;
  before(async () => {
    receiver = await PushReceiver.start();
    gw = await startTestGateway({
      env: { PUSH_ALLOWLIST: '127.0.0.1' },
      configYaml: `
backends:
  quick:
    type: fake
    summary: fixed
    steps:
      - { event: { type: text, text: "working on it" } }
      - { sleepMs: 50 }
skills:
  code: { backend: quick }
`,
    });
  });
  after(async () => {
    await gw.stop();
    await receiver.close();
  });

  test('a webhook registered with the send gets every state change, signed with a key from the JWKS endpoint', async () => {
    const url = `http://127.0.0.1:${receiver.port}/hook`;
    const res = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: 'p1',
          parts: [{ kind: 'text', text: 'go' }],
          metadata: { skill: 'code' },
        },
        configuration: { blocking: true, pushNotificationConfig: { url, token: 'receiver-token-1' } },
      },
    });
    assert.equal(res.body.result?.status.state, 'completed', JSON.stringify(res.body));
    // The final status update, not just any body mentioning "completed" (the result artifact's metadata does).
    const isCompletedStatus = (body: string): boolean =>
      (JSON.parse(body) as { status?: { state?: string } }).status?.state === 'completed';
    const pushes = await waitFor(
      () => (receiver.received.some((p) => isCompletedStatus(p.body)) ? [...receiver.received] : undefined),
      10_000,
      'the completed state to be pushed',
    );
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.ok(jwks.keys.length >= 1);
    const states: string[] = [];
    for (const push of pushes) {
      assert.equal(push.headers['x-a2a-notification-token'], 'receiver-token-1');
      const token = push.headers[SIGNATURE_HEADER.toLowerCase()];
      assert.equal(typeof token, 'string');
      const verified = await verifyPushJwt(String(token), push.body, { jwks: jwks as never, audience: url });
      assert.ok(verified.ok, verified.ok ? '' : verified.reason);
      const body = JSON.parse(push.body) as { kind?: string; status?: { state: string } };
      if (body.status) states.push(body.status.state);
    }
    assert.ok(states.includes('completed'), `states pushed: ${states.join(', ')}`);
  });

  test('a webhook URL the SSRF guard refuses is rejected at registration, naming the field', async () => {
    for (const bad of ['http://10.0.0.1/hook', 'http://169.254.169.254/latest', 'file:///etc/passwd']) {
      const res = await sendTask(gw.url, { skill: 'code', input: 'go' });
      assert.equal(res.body.result?.status.state, 'completed');
      const set = await rpc(gw.url, {
        jsonrpc: '2.0',
        id: 2,
        method: 'tasks/pushNotificationConfig/set',
        params: { taskId: res.body.result.id, pushNotificationConfig: { url: bad } },
      });
      assert.equal(set.body.error?.code, -32602, `${bad}: ${JSON.stringify(set.body)}`);
      assert.match(set.body.error.message, /^url: /);
    }
  });
});
