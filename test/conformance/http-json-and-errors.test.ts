// HTTP_JSON-ERR-001 / SVC-001 (media types of REST answers), CORE-SEND-003 (a part in a media type the skills do
// not take), PUSH-CREATE-001 (registration without DNS), and the 0.3 kit's historyLength and cancel-after-send.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAKE_CLI_DIR, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { assertSchema } from './schemas.js';

const V1 = { 'content-type': 'application/json', 'A2A-Version': '1.0' };

async function rpc(url: string, method: string, params: unknown, headers: Record<string, string> = V1) {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }),
  });
  return (await res.json()) as { id: unknown; result?: any; error?: { code: number; message: string } };
}

function message(text: string, extra: Record<string, unknown> = {}) {
  return {
    messageId: `m-${Math.random().toString(36).slice(2)}`,
    role: 'ROLE_USER',
    parts: [{ text }],
    metadata: { skill: 'code' },
    ...extra,
  };
}

describe('HTTP+JSON media types, content types, push registration, history and cancel', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { RATE_LIMIT_PER_MINUTE: '0' },
      configYaml: `
backends:
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "30"]
  quick:
    type: command
    command: ${join(FAKE_CLI_DIR, 'echo-args.mjs')}
    args: ["{prompt}"]
skills:
  code: { backend: slow }
  fix_bug: { backend: quick }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('REST errors are application/json (AIP-193 body); successes are application/a2a+json', async () => {
    const missing = await fetch(`${gw.url}/tasks/no-such-task`, { headers: { 'A2A-Version': '1.0' } });
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await missing.json()) as { error: { code: number; status: string; message: string } };
    assert.equal(body.error.code, 404);
    assert.equal(body.error.status, 'NOT_FOUND');

    const bad = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: V1,
      body: '{"message": 5}',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /^application\/json/);

    const sent = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: V1,
      body: JSON.stringify({
        message: message('{"bug_description": "x"}', { metadata: { skill: 'fix_bug' } }),
      }),
    });
    assert.equal(sent.status, 200);
    assert.match(sent.headers.get('content-type') ?? '', /^application\/a2a\+json/);
    const task = ((await sent.json()) as { task: any }).task;
    assertSchema('1.0', 'Task', task);
    const got = await fetch(`${gw.url}/tasks/${task.id}`, { headers: { 'A2A-Version': '1.0' } });
    assert.equal(got.status, 200);
    assert.match(got.headers.get('content-type') ?? '', /^application\/a2a\+json/);
    assertSchema('1.0', 'Task', await got.json());
  });

  test('a REST body in another media type is refused with 415', async () => {
    const res = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'A2A-Version': '1.0' },
      body: JSON.stringify({ message: message('hello') }),
    });
    assert.equal(res.status, 415);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(((await res.json()) as any).error.message, /text\/plain/);
  });

  test('a part in a media type the skills do not take: ContentTypeNotSupported (-32005, REST 415)', async () => {
    const png = {
      raw: Buffer.from('not really a png').toString('base64'),
      mediaType: 'image/png',
      filename: 'x.png',
    };
    const viaRpc = await rpc(gw.url, 'SendMessage', {
      message: { ...message('fix it'), parts: [png] },
    });
    assert.equal(viaRpc.error?.code, -32005, JSON.stringify(viaRpc));
    assert.match(viaRpc.error?.message ?? '', /parts\[0\].*image\/png/);

    const textAsHtml = await rpc(gw.url, 'SendMessage', {
      message: { ...message('x'), parts: [{ text: '<b>hi</b>', mediaType: 'text/html' }] },
    });
    assert.equal(textAsHtml.error?.code, -32005);

    const viaRest = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: V1,
      body: JSON.stringify({ message: { ...message('fix it'), parts: [{ text: 'look' }, png] } }),
    });
    assert.equal(viaRest.status, 415);
    const body = (await viaRest.json()) as any;
    assert.match(body.error.message, /parts\[1\]/);

    // The 0.3 shape of the same refusal.
    const v03 = await rpc(
      gw.url,
      'message/send',
      {
        message: {
          kind: 'message',
          messageId: 'm-03-file',
          role: 'user',
          parts: [{ kind: 'file', file: { bytes: 'AAAA', mimeType: 'image/png' } }],
          metadata: { skill: 'code' },
        },
      },
      { 'content-type': 'application/json' },
    );
    assert.equal(v03.error?.code, -32005, JSON.stringify(v03));
    // A mimeType that is not a string (found by the fuzz suite: it was -32603) is malformed, not a media type the
    // skills do not take: invalid params naming the field.
    const oddType = await rpc(
      gw.url,
      'message/send',
      {
        message: {
          kind: 'message',
          messageId: 'm-03-odd-type',
          role: 'user',
          parts: [{ kind: 'file', file: { uri: 'https://example.com/x', mimeType: {} } }],
          metadata: { skill: 'code' },
        },
      },
      { 'content-type': 'application/json' },
    );
    assert.equal(oddType.error?.code, -32602, JSON.stringify(oddType));
    assert.match(
      oddType.error?.message ?? '',
      /params\.message\.parts\.0\.file\.mimeType: expected a string/,
    );

    // Plain and JSON text parts with their media types named are still input.
    const ok = await rpc(gw.url, 'SendMessage', {
      message: {
        ...message('x', { metadata: { skill: 'fix_bug' } }),
        parts: [{ text: 'the bug', mediaType: 'text/plain; charset=utf-8' }],
      },
    });
    assert.ok(ok.result, JSON.stringify(ok));
  });

  test('a push config for a host that does not resolve now is accepted; literal private addresses are not', async () => {
    const sent = await rpc(gw.url, 'SendMessage', {
      message: message('{"bug_description": "y"}', { metadata: { skill: 'fix_bug' } }),
    });
    const taskId = sent.result.task.id as string;
    const unresolvable = await rpc(gw.url, 'CreateTaskPushNotificationConfig', {
      taskId,
      url: 'https://hooks.does-not-resolve.invalid/a2a',
      token: 'tok',
    });
    assert.ok(unresolvable.result, JSON.stringify(unresolvable));
    assertSchema('1.0', 'Task Push Notification Config', unresolvable.result);
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://[::1]/x',
      'http://10.1.2.3/x',
      'ftp://example.com/x',
      'https://u:p@example.com/x',
    ]) {
      const refused = await rpc(gw.url, 'CreateTaskPushNotificationConfig', { taskId, url });
      assert.ok(refused.error, `${url} is refused at registration`);
      assert.match(refused.error.message, /^url: /);
    }
  });

  test('historyLength cuts the history to the most recent messages (0 means none)', async () => {
    const first = await rpc(gw.url, 'SendMessage', {
      message: message('{"bug_description": "first turn"}', { metadata: { skill: 'fix_bug' } }),
    });
    const task = first.result.task;
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    const full = (await rpc(gw.url, 'GetTask', { id: task.id })).result;
    const all = (full.history ?? []) as any[];
    assert.ok(all.length >= 2, `a finished task has the request and the agent's answer (${all.length})`);
    for (const n of [1, all.length - 1]) {
      const cut = (await rpc(gw.url, 'GetTask', { id: task.id, historyLength: n })).result;
      assert.equal(cut.history.length, n, `historyLength ${n}`);
      assert.deepEqual(
        cut.history.map((m: any) => m.messageId),
        all.slice(-n).map((m: any) => m.messageId),
      );
    }
    const none = (await rpc(gw.url, 'GetTask', { id: task.id, historyLength: 0 })).result;
    assert.equal((none.history ?? []).length, 0);
    const v03 = await rpc(
      gw.url,
      'tasks/get',
      { id: task.id, historyLength: 1 },
      { 'content-type': 'application/json' },
    );
    assert.equal(v03.result.history.length, 1);
    const rest = (await (
      await fetch(`${gw.url}/tasks/${task.id}?historyLength=1`, { headers: { 'A2A-Version': '1.0' } })
    ).json()) as any;
    assert.equal(rest.history.length, 1);
  });

  test('a task cancelled right after it was sent ends canceled, on both versions', async () => {
    for (const [method, headers, params] of [
      ['SendMessage', V1, { message: message('wait'), configuration: { returnImmediately: true } }],
      [
        'message/send',
        { 'content-type': 'application/json' },
        {
          message: {
            kind: 'message',
            messageId: `m-${Date.now()}`,
            role: 'user',
            parts: [{ kind: 'text', text: 'wait' }],
            metadata: { skill: 'code' },
          },
          configuration: { blocking: false },
        },
      ],
    ] as const) {
      const sent = await rpc(gw.url, method, params, headers);
      const id = (sent.result.task?.id ?? sent.result.id) as string;
      assert.ok(id, JSON.stringify(sent));
      const cancelMethod = method === 'SendMessage' ? 'CancelTask' : 'tasks/cancel';
      const canceled = await rpc(gw.url, cancelMethod, { id }, headers);
      assert.ok(canceled.result, `${cancelMethod} right after ${method}: ${JSON.stringify(canceled)}`);
      const state = canceled.result.status.state as string;
      assert.ok(state === 'TASK_STATE_CANCELED' || state === 'canceled', state);
    }
  });
});
