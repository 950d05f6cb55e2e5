// The A2A 1.0 gRPC binding, driven by the official SDK's gRPC client: declared on the card, same keys, ownership,
// admission and event log as the HTTP bindings; send, stream, cancel, resubscribe with replay.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Role, TaskState, type SendMessageRequest, type StreamResponse, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, type Client } from '@a2a-js/sdk/client';
import { GrpcTransportFactory } from '@a2a-js/sdk/client/grpc';
import { writeFileSync } from 'node:fs';
import { hashKey } from '../../src/transport/auth.js';
import { FAKE_CLI_DIR, startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';
import { assertSchema } from './schemas.js';

const KEY_A = 'grpc-key-a-0123456789abcdef';
const KEY_B = 'grpc-key-b-0123456789abcdef';

const CONFIG = `
backends:
  quick:
    type: fake
    summary: fixed it
    steps:
      - { event: { type: text, text: "looking at the code" } }
      - { sleepMs: 30 }
      - { event: { type: tool_call, name: Edit, summary: "src/app.ts" } }
      - { sleepMs: 30 }
      - { event: { type: usage, usage: { inputTokens: 120, outputTokens: 40, costUsd: 0.0021, model: fake-1 } } }
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "60"]
skills:
  code: { backend: quick }
  refactor_code: { backend: slow }
`;

function request(text: string, skill: string, returnImmediately = false): SendMessageRequest {
  return {
    tenant: '',
    message: {
      messageId: randomUUID(),
      contextId: '',
      taskId: '',
      role: Role.ROLE_USER,
      parts: [{ content: { $case: 'text', value: text }, mediaType: '', filename: '', metadata: undefined }],
      metadata: { skill },
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
    metadata: undefined,
  };
}

const as = (key: string, extra: Record<string, string> = {}) => ({
  serviceParameters: { 'x-api-key': key, ...extra },
});

function asTask(result: unknown): Task {
  assert.ok(result && typeof result === 'object' && 'status' in result, 'expected a task');
  return result as Task;
}

async function collect(stream: AsyncGenerator<StreamResponse>): Promise<StreamResponse[]> {
  const events: StreamResponse[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function stateOf(event: StreamResponse | undefined): TaskState | undefined {
  const p = event?.payload;
  if (p?.$case === 'statusUpdate') return p.value.status?.state;
  if (p?.$case === 'task') return p.value.status?.state;
  return undefined;
}

describe('A2A 1.0 over gRPC (GRPC_PORT)', () => {
  let gw: TestGateway;
  let client: Client;
  const keysDir = tempDir('a2a-grpc-keys-');
  before(async () => {
    const keysFile = join(keysDir.dir, 'keys.yaml');
    writeFileSync(
      keysFile,
      `keys:\n  - { id: a, hash: "${hashKey(KEY_A)}", scopes: ["*"] }\n  - { id: b, hash: "${hashKey(KEY_B)}", scopes: ["*"] }\n`,
    );
    gw = await startTestGateway({
      configYaml: CONFIG,
      env: { GRPC_PORT: '0', API_KEYS_FILE: keysFile, RATE_LIMIT_PER_MINUTE: '0' },
    });
    const factory = new ClientFactory(
      ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new GrpcTransportFactory()],
        preferredTransports: ['GRPC'],
      }),
    );
    client = await factory.createFromUrl(gw.url);
  });
  after(async () => {
    await gw.stop();
    keysDir.cleanup();
  });

  test('the 1.0 card declares the gRPC interface at host:port, and stays valid against the schema', async () => {
    const card = (await (
      await fetch(`${gw.url}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } })
    ).json()) as any;
    assertSchema('1.0', 'Agent Card', card);
    const grpc = card.supportedInterfaces.filter((i: any) => i.protocolBinding === 'GRPC');
    assert.equal(grpc.length, 1);
    assert.match(grpc[0].url, /^127\.0\.0\.1:\d+$/);
    assert.equal(grpc[0].protocolVersion, '1.0');
    assert.notEqual(grpc[0].url.endsWith(':0'), true, 'the bound port, not 0');
  });

  test('send (blocking) completes with the result; get and list see it; another key does not', async () => {
    const task = asTask(await client.sendMessage(request('add a health check', 'code'), as(KEY_A)));
    assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
    const parts = task.artifacts[0]?.parts ?? [];
    assert.deepEqual(parts[0]?.content, { $case: 'text', value: 'fixed it' });
    const got = await client.getTask({ tenant: '', id: task.id, historyLength: undefined }, as(KEY_A));
    assert.equal(got.id, task.id);
    const listed = await client.listTasks(
      {
        tenant: '',
        contextId: task.contextId,
        status: 0,
        pageSize: 10,
        pageToken: '',
        historyLength: undefined,
        statusTimestampAfter: undefined,
        includeArtifacts: false,
      },
      as(KEY_A),
    );
    assert.ok(listed.tasks.some((t) => t.id === task.id));
    await assert.rejects(
      client.getTask({ tenant: '', id: task.id, historyLength: undefined }, as(KEY_B)),
      /not found/i,
      "key b cannot read key a's task",
    );
  });

  test('stream: progress in order, the terminal state last; resubscribe with last-event-id 0 replays it all', async () => {
    const events = await collect(client.sendMessageStream(request('add a health check', 'code'), as(KEY_A)));
    assert.ok(events.length >= 4, `events: ${events.length}`);
    assert.equal(stateOf(events.at(-1)), TaskState.TASK_STATE_COMPLETED);
    const first = events[0]?.payload;
    const taskId =
      first?.$case === 'task' ? first.value.id : first?.$case === 'statusUpdate' ? first.value.taskId : '';
    assert.ok(taskId);
    const replayed = await collect(
      client.resubscribeTask({ tenant: '', id: taskId }, as(KEY_A, { 'last-event-id': '0' })),
    );
    assert.equal(stateOf(replayed.at(-1)), TaskState.TASK_STATE_COMPLETED);
    assert.equal(replayed.length, events.length, 'the replay has every event the stream had');
    // Without last-event-id a finished task cannot be subscribed to (the spec's rule).
    await assert.rejects(
      collect(client.resubscribeTask({ tenant: '', id: taskId }, as(KEY_A))),
      /ended|terminal/i,
    );
  });

  test('cancel a running task: it ends canceled, and a subscriber sees the end', async () => {
    const task = asTask(
      await client.sendMessage(request('split the module', 'refactor_code', true), as(KEY_A)),
    );
    const stream = collect(client.resubscribeTask({ tenant: '', id: task.id }, as(KEY_A)));
    await waitFor(async () => {
      const t = await client.getTask({ tenant: '', id: task.id, historyLength: undefined }, as(KEY_A));
      return t.status?.state === TaskState.TASK_STATE_WORKING ? t : undefined;
    });
    const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined }, as(KEY_A));
    assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
    const seen = await stream;
    assert.equal(stateOf(seen.at(-1)), TaskState.TASK_STATE_CANCELED);
  });

  test('no key or a wrong key: UNAUTHENTICATED; bad input names the field', async () => {
    await assert.rejects(
      client.sendMessage(request('x', 'code'), as('wrong-key-0123456789abc')),
      (err: any) => {
        assert.match(String(err?.message ?? err), /Unauthorized|UNAUTHENTICATED|16/);
        return true;
      },
    );
    await assert.rejects(
      client.getTask({ tenant: '', id: 'nope', historyLength: undefined }),
      /Unauthorized|UNAUTHENTICATED/,
    );
    await assert.rejects(client.sendMessage(request('x', 'no_such_skill'), as(KEY_A)), /skill/);
  });
});
