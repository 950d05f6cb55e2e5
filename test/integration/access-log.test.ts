import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAKE_CLI_DIR, rpc, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'access-log-test-key-0123456789';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

function send(text = 'print your environment') {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'message/send',
    params: {
      message: { kind: 'message', role: 'user', messageId: randomUUID(), parts: [{ kind: 'text', text }] },
      metadata: { skill: 'code' },
      configuration: { blocking: true },
    },
  };
}

type Line = Record<string, unknown>;

function lines(gw: TestGateway): Line[] {
  return gw.logs.lines.map((l) => JSON.parse(l) as Line);
}

describe('access log and trace context', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { API_KEY: KEY },
      configYaml: `
backends:
  env:
    type: command
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(FAKE_CLI_DIR, 'print-env.mjs'))}]
skills:
  code: { backend: env }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test("a caller's traceparent reaches the CLI as TRACEPARENT and the task's log lines; one access line, without the key", async () => {
    const { status, body, headers } = await rpc(gw.url, send(), {
      'x-api-key': KEY,
      traceparent: TRACEPARENT,
    });
    assert.equal(status, 200);
    const task = body.result;
    assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
    // The response names the gateway's hop in the caller's trace.
    const response = headers.get('traceresponse') ?? '';
    assert.match(response, new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    const gatewaySpan = response.split('-')[2];
    assert.notEqual(gatewaySpan, CALLER_SPAN);

    // The CLI printed its environment: the trace goes on under the gateway's span; the key never reaches it.
    const env = JSON.parse(task.status.message.parts[0].text) as Record<string, string>;
    assert.equal(env.TRACEPARENT, `00-${TRACE_ID}-${gatewaySpan}-01`);
    assert.equal(env.API_KEY, undefined);

    const logged = lines(gw);
    const requests = logged.filter((l) => l.msg === 'request' && l.traceId === TRACE_ID);
    assert.equal(requests.length, 1, 'one access-log line for the request');
    const line = requests[0]!;
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/');
    assert.equal(line.a2aMethod, 'message/send');
    assert.equal(line.a2aVersion, '0.3');
    assert.equal(line.taskId, task.id);
    assert.equal(line.status, 200);
    assert.equal(line.keyId, 'default');
    assert.equal(typeof line.durationMs, 'number');
    const taskLines = logged.filter((l) => l.taskId === task.id && l.msg !== 'request');
    assert.ok(taskLines.some((l) => l.msg === 'task started'));
    assert.ok(taskLines.length >= 2);
    for (const l of taskLines) assert.equal(l.traceId, TRACE_ID, `${String(l.msg)} carries the trace id`);
    assert.ok(!gw.logs.text().includes(KEY), 'the key is in no log line');
  });

  test('no traceparent, or an invalid one: a new trace; a GET names its route template and task', async () => {
    for (const header of [undefined, `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`, 'garbage']) {
      const res = await fetch(`${gw.url}/v1/tasks/some-task-7`, {
        headers: { 'x-api-key': KEY, ...(header ? { traceparent: header } : {}) },
      });
      assert.equal(res.status, 404);
      const traceId = /^00-([0-9a-f]{32})-/.exec(res.headers.get('traceresponse') ?? '')?.[1];
      assert.ok(traceId && traceId !== '0'.repeat(32));
      const line = lines(gw).find((l) => l.msg === 'request' && l.traceId === traceId);
      assert.ok(line, 'the access line carries the new trace id');
      assert.equal(line.route, '/v1/tasks/{id}');
      assert.equal(line.taskId, 'some-task-7');
      assert.equal(line.a2aMethod, 'GetTask');
      assert.equal(line.status, 404);
    }
  });

  test('a refused request is logged with its reason; a probe is logged at debug', async () => {
    const res = await fetch(`${gw.url}/v1/tasks/x`);
    assert.equal(res.status, 401);
    const refused = lines(gw).find((l) => l.msg === 'request' && l.status === 401);
    assert.ok(refused);
    assert.equal(refused.refusal, 'auth');
    assert.equal(refused.keyId, undefined);
    await fetch(`${gw.url}/health`);
    const probe = lines(gw).findLast((l) => l.msg === 'request' && l.route === '/health');
    assert.equal(probe?.level, 20);
  });
});
