// Every A2A 1.0 method on JSON-RPC and HTTP+JSON, every 0.3 and 0.1 method name on JSON-RPC, for a task that
// completes, one that fails, one that is canceled and one that asks for input. The requests we send and the answers
// we get are checked against the published JSON schemas (1.0.1 and 0.3.0); error codes and HTTP statuses against
// the spec's mapping table. (gRPC has its own file: grpc.test.ts.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAKE_CLI_DIR, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { readAll } from '../helpers/sse.js';
import { assertSchema } from './schemas.js';

const ASKER = join(FAKE_CLI_DIR, 'claude-asks.mjs');
const CONFIG = `
backends:
  quick:
    type: fake
    summary: done
    steps:
      - { event: { type: text, text: "working on it" } }
      - { sleepMs: 20 }
      - { event: { type: tool_call, name: Edit, summary: "src/app.ts" } }
  broken:
    type: command
    command: ${join(FAKE_CLI_DIR, 'exit-code.mjs')}
    args: ["3", "the agent crashed"]
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "60"]
  asker: { type: claude, command: ${JSON.stringify(ASKER)} }
skills:
  code: { backend: quick }
  fix_bug: { backend: broken }
  refactor_code: { backend: slow }
  write_unit_tests: { backend: asker, permissions: ask }
`;

const V1 = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
const V03 = { 'content-type': 'application/json' };

type Rpc = {
  jsonrpc: string;
  id: unknown;
  result?: any;
  error?: { code: number; message: string; data?: unknown };
};

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: Rpc }> {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Rpc };
}

let nextId = 0;

/** A 1.0 JSON-RPC call: the params checked against the method's request schema, the result against its answer's. */
async function call1(
  url: string,
  method: string,
  params: any,
  schemas: { request?: string; result?: string } = {},
) {
  if (schemas.request) assertSchema('1.0', schemas.request, params);
  const res = await post(url, { jsonrpc: '2.0', id: ++nextId, method, params }, V1);
  assert.equal(res.body.jsonrpc, '2.0');
  assert.equal(res.body.id, nextId, 'the response echoes the request id');
  if (res.body.result !== undefined && schemas.result) assertSchema('1.0', schemas.result, res.body.result);
  return res.body;
}

/** A 0.3 JSON-RPC call: the whole request and the whole response checked against the 0.3 schema. */
async function call03(
  url: string,
  method: string,
  params: any,
  schemas: { request: string; response: string },
) {
  const request = { jsonrpc: '2.0', id: ++nextId, method, params };
  assertSchema('0.3', schemas.request, request);
  const res = await post(url, request, V03);
  assertSchema('0.3', schemas.response, res.body);
  return res.body;
}

function message1(text: string, skill: string, extra: Record<string, unknown> = {}) {
  return { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }], metadata: { skill }, ...extra };
}

function message03(text: string, skill: string, extra: Record<string, unknown> = {}) {
  return {
    kind: 'message',
    messageId: randomUUID(),
    role: 'user',
    parts: [{ kind: 'text', text }],
    metadata: { skill },
    ...extra,
  };
}

/** The ErrorInfo 1.0 puts in a JSON-RPC error's data (an array of ProtoJSON Any). */
function reasonOf(error: Rpc['error']): string | undefined {
  const data = error?.data;
  if (!Array.isArray(data)) return undefined;
  const infos = data as Array<{ '@type'?: string; reason?: string } | undefined>;
  return infos.find((d) => d?.['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo')?.reason;
}

describe('A2A methods on every binding, against the schemas', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      configYaml: CONFIG,
      env: { RATE_LIMIT_PER_MINUTE: '0', INPUT_TIMEOUT: '60', PUSH_ALLOWLIST: '127.0.0.1' },
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('1.0 JSON-RPC: SendMessage for a task that completes, fails, is canceled, asks for input', async () => {
    const done = await call1(
      gw.url,
      'SendMessage',
      { message: message1('add a flag', 'code') },
      {
        request: 'Send Message Request',
        result: 'Send Message Response',
      },
    );
    assert.equal(done.result.task.status.state, 'TASK_STATE_COMPLETED');

    const failed = await call1(
      gw.url,
      'SendMessage',
      { message: message1('crash', 'fix_bug') },
      {
        request: 'Send Message Request',
        result: 'Send Message Response',
      },
    );
    assert.equal(failed.result.task.status.state, 'TASK_STATE_FAILED');
    assert.match(JSON.stringify(failed.result.task.status.message), /crashed|exit/i, 'the reason is given');

    const running = await call1(
      gw.url,
      'SendMessage',
      { message: message1('split it', 'refactor_code'), configuration: { returnImmediately: true } },
      { request: 'Send Message Request', result: 'Send Message Response' },
    );
    const id = running.result.task.id as string;
    const canceled = await call1(
      gw.url,
      'CancelTask',
      { id },
      { request: 'Cancel Task Request', result: 'Task' },
    );
    assert.equal(canceled.result.status.state, 'TASK_STATE_CANCELED');

    const asking = await call1(
      gw.url,
      'SendMessage',
      { message: message1('make a file', 'write_unit_tests') },
      {
        request: 'Send Message Request',
        result: 'Send Message Response',
      },
    );
    const question = asking.result.task;
    assert.equal(question.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const answered = await call1(
      gw.url,
      'SendMessage',
      {
        message: message1('allow', 'write_unit_tests', {
          taskId: question.id,
          contextId: question.contextId,
        }),
      },
      { request: 'Send Message Request', result: 'Send Message Response' },
    );
    assert.equal(answered.result.task.status.state, 'TASK_STATE_COMPLETED');

    // The other read methods, on the tasks above.
    const got = await call1(
      gw.url,
      'GetTask',
      { id: question.id, historyLength: 1 },
      {
        request: 'Get Task Request',
        result: 'Task',
      },
    );
    assert.equal(got.result.history.length, 1);
    const listed = await call1(
      gw.url,
      'ListTasks',
      { contextId: question.contextId, pageSize: 5 },
      {
        request: 'List Tasks Request',
        result: 'List Tasks Response',
      },
    );
    assert.deepEqual(
      listed.result.tasks.map((t: any) => t.id),
      [question.id],
    );
  });

  test('1.0 JSON-RPC: streaming, resubscribe with replay, push configs, extended card and errors', async () => {
    const params = { message: message1('add a flag', 'code') };
    assertSchema('1.0', 'Send Message Request', params);
    const stream = await readAll(gw.url, {
      headers: { 'A2A-Version': '1.0' },
      body: { jsonrpc: '2.0', id: 1, method: 'SendStreamingMessage', params },
    });
    assert.match(stream.contentType, /^text\/event-stream/);
    const events = stream.events.map((e) => JSON.parse(e.data) as Rpc);
    for (const e of events) assertSchema('1.0', 'Stream Response', e.result);
    assert.ok(events[0]?.result.task, 'the stream starts with the task');
    assert.equal(events.at(-1)?.result.statusUpdate?.status.state, 'TASK_STATE_COMPLETED');
    const taskId = events[0]?.result.task.id as string;

    const subscribe = { id: taskId };
    assertSchema('1.0', 'Subscribe To Task Request', subscribe);
    const replay = await readAll(gw.url, {
      headers: { 'A2A-Version': '1.0', 'Last-Event-ID': '0' },
      body: { jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: subscribe },
    });
    const replayed = replay.events.map((e) => JSON.parse(e.data) as Rpc);
    for (const e of replayed) assertSchema('1.0', 'Stream Response', e.result);
    assert.equal(replayed.length, events.length, 'the replay has every event of the stream');

    const config = { taskId, url: 'http://127.0.0.1:9/hook', token: 'tok-1' };
    const created = await call1(gw.url, 'CreateTaskPushNotificationConfig', config, {
      request: 'Task Push Notification Config',
      result: 'Task Push Notification Config',
    });
    const configId = created.result.id as string;
    assert.ok(configId);
    await call1(
      gw.url,
      'GetTaskPushNotificationConfig',
      { taskId, id: configId },
      {
        request: 'Get Task Push Notification Config Request',
        result: 'Task Push Notification Config',
      },
    );
    const configs = await call1(
      gw.url,
      'ListTaskPushNotificationConfigs',
      { taskId },
      {
        request: 'List Task Push Notification Configs Request',
        result: 'List Task Push Notification Configs Response',
      },
    );
    assert.equal(configs.result.configs.length, 1);
    const deleted = await call1(
      gw.url,
      'DeleteTaskPushNotificationConfig',
      { taskId, id: configId },
      {
        request: 'Delete Task Push Notification Config Request',
      },
    );
    assert.ok(deleted.result !== undefined && !deleted.error);

    // No keys on this gateway: the card declares no extended card, so asking for one is unsupported (-32004).
    const card = await call1(
      gw.url,
      'GetExtendedAgentCard',
      {},
      { request: 'Get Extended Agent Card Request' },
    );
    assert.equal(card.error?.code, -32004);
    assert.equal(reasonOf(card.error), 'UNSUPPORTED_OPERATION');

    const missing = await call1(gw.url, 'GetTask', { id: 'no-such-task' });
    assert.equal(missing.error?.code, -32001);
    assert.equal(reasonOf(missing.error), 'TASK_NOT_FOUND');
    const notCancelable = await call1(gw.url, 'CancelTask', { id: taskId });
    assert.equal(notCancelable.error?.code, -32002);
    assert.equal(reasonOf(notCancelable.error), 'TASK_NOT_CANCELABLE');
    const unknown = await call1(gw.url, 'NoSuchMethod', {});
    assert.equal(unknown.error?.code, -32601);
    const badParams = await call1(gw.url, 'GetTask', { id: 42 });
    assert.equal(badParams.error?.code, -32602);
    const parse = await fetch(gw.url, {
      method: 'POST',
      headers: V1,
      body: '{"jsonrpc": "2.0", "id": 1, "met',
    });
    assert.equal(((await parse.json()) as Rpc).error?.code, -32700);
  });

  test('1.0 HTTP+JSON: every route, statuses and bodies as the spec maps them', async () => {
    const rest = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(gw.url + path, {
        method,
        headers: V1,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return {
        status: res.status,
        type: res.headers.get('content-type') ?? '',
        body: text ? JSON.parse(text) : undefined,
      };
    };
    const send = { message: message1('add a flag', 'code') };
    assertSchema('1.0', 'Send Message Request', send);
    const done = await rest('POST', '/message:send', send);
    assert.equal(done.status, 200);
    assertSchema('1.0', 'Send Message Response', done.body);
    const id = done.body.task.id as string;

    const failed = await rest('POST', '/message:send', { message: message1('crash', 'fix_bug') });
    assertSchema('1.0', 'Send Message Response', failed.body);
    assert.equal(failed.body.task.status.state, 'TASK_STATE_FAILED');

    const got = await rest('GET', `/tasks/${id}?historyLength=1`);
    assertSchema('1.0', 'Task', got.body);
    assert.equal(got.body.history.length, 1);
    const listed = await rest('GET', `/tasks?contextId=${done.body.task.contextId}`);
    assertSchema('1.0', 'List Tasks Response', listed.body);
    assert.equal(listed.body.tasks[0].id, id);

    const running = await rest('POST', '/message:send', {
      message: message1('split it', 'refactor_code'),
      configuration: { returnImmediately: true },
    });
    const canceled = await rest('POST', `/tasks/${running.body.task.id}:cancel`, {});
    assertSchema('1.0', 'Task', canceled.body);
    assert.equal(canceled.body.status.state, 'TASK_STATE_CANCELED');

    const asking = await rest('POST', '/message:send', {
      message: message1('make a file', 'write_unit_tests'),
    });
    assert.equal(asking.body.task.status.state, 'TASK_STATE_INPUT_REQUIRED');
    const answered = await rest('POST', '/message:send', {
      message: message1('deny: not now', 'write_unit_tests', {
        taskId: asking.body.task.id,
        contextId: asking.body.task.contextId,
      }),
    });
    assertSchema('1.0', 'Send Message Response', answered.body);
    assert.notEqual(
      answered.body.task.status.state,
      'TASK_STATE_INPUT_REQUIRED',
      'the reply resumed the run',
    );

    const stream = await readAll(`${gw.url}/message:stream`, {
      headers: { 'A2A-Version': '1.0' },
      body: send,
    });
    assert.match(stream.contentType, /^text\/event-stream/);
    for (const e of stream.events) assertSchema('1.0', 'Stream Response', JSON.parse(e.data));
    const replay = await readAll(`${gw.url}/tasks/${id}:subscribe`, {
      method: 'GET',
      headers: { 'A2A-Version': '1.0', 'Last-Event-ID': '0' },
    });
    assert.ok(replay.events.length >= 3);
    for (const e of replay.events) assertSchema('1.0', 'Stream Response', JSON.parse(e.data));

    const created = await rest('POST', `/tasks/${id}/pushNotificationConfigs`, {
      url: 'http://127.0.0.1:9/h',
      token: 't',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assertSchema('1.0', 'Task Push Notification Config', created.body);
    const configs = await rest('GET', `/tasks/${id}/pushNotificationConfigs`);
    assertSchema('1.0', 'List Task Push Notification Configs Response', configs.body);
    const one = await rest('GET', `/tasks/${id}/pushNotificationConfigs/${created.body.id}`);
    assertSchema('1.0', 'Task Push Notification Config', one.body);
    const gone = await rest('DELETE', `/tasks/${id}/pushNotificationConfigs/${created.body.id}`);
    assert.ok(gone.status === 200 || gone.status === 204, String(gone.status));

    // Errors: google.rpc.Status bodies, application/json, statuses from the table.
    const notFound = await rest('GET', '/tasks/no-such-task');
    assert.equal(notFound.status, 404);
    assert.equal(notFound.body.error.status, 'NOT_FOUND');
    assert.equal(notFound.body.error.details[0]?.reason, 'TASK_NOT_FOUND');
    assert.match(notFound.type, /^application\/json/);
    const notCancelable = await rest('POST', `/tasks/${id}:cancel`, {});
    assert.equal(notCancelable.status, 400);
    assert.equal(notCancelable.body.error.details[0]?.reason, 'TASK_NOT_CANCELABLE');
    const noCard = await rest('GET', '/extendedAgentCard');
    assert.equal(noCard.status, 400);
    assert.equal(noCard.body.error.details[0]?.reason, 'UNSUPPORTED_OPERATION');
    const badBody = await rest('POST', '/message:send', { message: { role: 'ROLE_USER', parts: 'x' } });
    assert.equal(badBody.status, 400);
  });

  test('0.3 JSON-RPC: every method name, requests and responses valid against the 0.3 schema', async () => {
    const done = await call03(
      gw.url,
      'message/send',
      { message: message03('add a flag', 'code') },
      {
        request: 'SendMessageRequest',
        response: 'SendMessageResponse',
      },
    );
    assert.equal(done.result.status.state, 'completed');
    const id = done.result.id as string;

    const failed = await call03(
      gw.url,
      'message/send',
      { message: message03('crash', 'fix_bug') },
      {
        request: 'SendMessageRequest',
        response: 'SendMessageResponse',
      },
    );
    assert.equal(failed.result.status.state, 'failed');

    const got = await call03(
      gw.url,
      'tasks/get',
      { id, historyLength: 1 },
      {
        request: 'GetTaskRequest',
        response: 'GetTaskResponse',
      },
    );
    assert.equal(got.result.history.length, 1);

    const running = await call03(
      gw.url,
      'message/send',
      {
        message: message03('split it', 'refactor_code'),
        configuration: { blocking: false, acceptedOutputModes: [] },
      },
      { request: 'SendMessageRequest', response: 'SendMessageResponse' },
    );
    const canceled = await call03(
      gw.url,
      'tasks/cancel',
      { id: running.result.id },
      {
        request: 'CancelTaskRequest',
        response: 'CancelTaskResponse',
      },
    );
    assert.equal(canceled.result.status.state, 'canceled');

    const asking = await call03(
      gw.url,
      'message/send',
      { message: message03('make a file', 'write_unit_tests') },
      {
        request: 'SendMessageRequest',
        response: 'SendMessageResponse',
      },
    );
    assert.equal(asking.result.status.state, 'input-required');
    const answered = await call03(
      gw.url,
      'message/send',
      {
        message: message03('allow', 'write_unit_tests', {
          taskId: asking.result.id,
          contextId: asking.result.contextId,
        }),
      },
      { request: 'SendMessageRequest', response: 'SendMessageResponse' },
    );
    assert.equal(answered.result.status.state, 'completed');

    const streamRequest = {
      jsonrpc: '2.0',
      id: 5,
      method: 'message/stream',
      params: { message: message03('add a flag', 'code') },
    };
    assertSchema('0.3', 'SendStreamingMessageRequest', streamRequest);
    const stream = await readAll(gw.url, { body: streamRequest });
    const events = stream.events.map((e) => JSON.parse(e.data) as Rpc);
    for (const e of events) assertSchema('0.3', 'SendStreamingMessageResponse', e);
    assert.equal(events.at(-1)?.result.final, true);
    const streamed = events[0]?.result.id as string;
    const resubscribeRequest = {
      jsonrpc: '2.0',
      id: 6,
      method: 'tasks/resubscribe',
      params: { id: streamed, metadata: { lastEventId: '0' } },
    };
    assertSchema('0.3', 'TaskResubscriptionRequest', resubscribeRequest);
    const replay = await readAll(gw.url, { body: resubscribeRequest });
    for (const e of replay.events) assertSchema('0.3', 'SendStreamingMessageResponse', JSON.parse(e.data));
    assert.equal(replay.events.length, events.length);

    const set = await call03(
      gw.url,
      'tasks/pushNotificationConfig/set',
      { taskId: id, pushNotificationConfig: { url: 'http://127.0.0.1:9/hook', token: 'tok' } },
      { request: 'SetTaskPushNotificationConfigRequest', response: 'SetTaskPushNotificationConfigResponse' },
    );
    const configId = set.result.pushNotificationConfig.id as string;
    await call03(
      gw.url,
      'tasks/pushNotificationConfig/get',
      { id, pushNotificationConfigId: configId },
      {
        request: 'GetTaskPushNotificationConfigRequest',
        response: 'GetTaskPushNotificationConfigResponse',
      },
    );
    const list = await call03(
      gw.url,
      'tasks/pushNotificationConfig/list',
      { id },
      {
        request: 'ListTaskPushNotificationConfigRequest',
        response: 'ListTaskPushNotificationConfigResponse',
      },
    );
    assert.equal(list.result.length, 1);
    await call03(
      gw.url,
      'tasks/pushNotificationConfig/delete',
      { id, pushNotificationConfigId: configId },
      {
        request: 'DeleteTaskPushNotificationConfigRequest',
        response: 'DeleteTaskPushNotificationConfigResponse',
      },
    );
    const card = await call03(gw.url, 'agent/getAuthenticatedExtendedCard', undefined, {
      request: 'GetAuthenticatedExtendedCardRequest',
      response: 'GetAuthenticatedExtendedCardResponse',
    });
    assert.ok(card.error, 'no keys: no extended card');

    const missing = await call03(
      gw.url,
      'tasks/get',
      { id: 'no-such-task' },
      { request: 'GetTaskRequest', response: 'GetTaskResponse' },
    );
    assert.equal(missing.error?.code, -32001);
  });

  test('0.1 names (the original brief): tasks/send, tasks/get, tasks/cancel, tasks/sendSubscribe', async () => {
    const send01 = (skill: string, text: string, extra: Record<string, unknown> = {}) =>
      post(
        gw.url,
        {
          jsonrpc: '2.0',
          id: ++nextId,
          method: 'tasks/send',
          params: { skill, message: { role: 'user', parts: [{ type: 'text', text }] }, ...extra },
        },
        V03,
      );
    const done = await send01('code', 'add a flag');
    assert.equal(done.body.result.status.state, 'completed', JSON.stringify(done.body));
    const failed = await send01('fix_bug', 'crash');
    assert.equal(failed.body.result.status.state, 'failed');
    const asking = await send01('write_unit_tests', 'make a file');
    assert.equal(asking.body.result.status.state, 'input-required');
    const got = await post(
      gw.url,
      { jsonrpc: '2.0', id: 9, method: 'tasks/get', params: { id: done.body.result.id } },
      V03,
    );
    assert.equal(got.body.result.id, done.body.result.id);

    const running = post(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 10,
        method: 'tasks/send',
        params: {
          skill: 'refactor_code',
          message: { role: 'user', parts: [{ type: 'text', text: 'split' }] },
        },
      },
      V03,
    );
    const runningId = await waitFor(async () => {
      const listed = await call1(gw.url, 'ListTasks', { status: 'TASK_STATE_WORKING', pageSize: 50 });
      return (listed.result.tasks as any[]).find((t) => t.metadata?.skill === 'refactor_code')?.id as
        string | undefined;
    });
    const canceled = await post(
      gw.url,
      { jsonrpc: '2.0', id: 11, method: 'tasks/cancel', params: { id: runningId } },
      V03,
    );
    assert.equal(canceled.body.result.status.state, 'canceled');
    assert.equal((await running).body.result.status.state, 'canceled');

    const stream = await readAll(gw.url, {
      body: {
        jsonrpc: '2.0',
        id: 12,
        method: 'tasks/sendSubscribe',
        params: { skill: 'code', message: { role: 'user', parts: [{ type: 'text', text: 'add a flag' }] } },
      },
    });
    const last = JSON.parse(stream.events.at(-1)?.data ?? '{}') as Rpc;
    assert.equal(last.result.status.state, 'completed');
    assert.equal(last.result.final, true);
  });
});
