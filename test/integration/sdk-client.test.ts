import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Role, TaskState, type Message, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, type Client } from '@a2a-js/sdk/client';
import { ClientFactory as ClientFactoryV03 } from 'a2a-sdk-v03/client';
import { FAKE_CLI_DIR, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';

/** `code` runs a scripted fake that talks, calls a tool and reports usage; `refactor_code` hangs until killed. */
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
      - { event: { type: file_change, path: src/app.ts, kind: update } }
      - { event: { type: usage, usage: { inputTokens: 120, outputTokens: 40, costUsd: 0.0021, model: fake-1 } } }
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "60"]
skills:
  code: { backend: quick }
  refactor_code: { backend: slow }
`;

function userMessage(text: string, metadata?: Record<string, unknown>): Message {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [
      { content: { $case: 'text', value: text }, mediaType: 'text/plain', filename: '', metadata: undefined },
    ],
    metadata,
    extensions: [],
    referenceTaskIds: [],
  };
}

function request(text: string, skill: string, returnImmediately = false): SendMessageRequest {
  return {
    tenant: '',
    message: userMessage(text, { skill }),
    configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately },
    metadata: undefined,
  };
}

function asTask(result: unknown): Task {
  assert.ok(result && typeof result === 'object' && 'status' in result, 'expected a task');
  return result as Task;
}

for (const transport of ['JSONRPC', 'HTTP+JSON'] as const) {
  describe(`official @a2a-js/sdk 1.3 client over ${transport}`, () => {
    let gw: TestGateway;
    let client: Client;
    before(async () => {
      gw = await startTestGateway({ configYaml: CONFIG });
      const factory = new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: [transport] }),
      );
      client = await factory.createFromUrl(gw.url);
      assert.equal(client.protocolVersion, '1.0');
    });
    after(async () => {
      await gw.stop();
    });

    test('blocking send returns the completed task with the result artifact and usage', async () => {
      const task = asTask(await client.sendMessage(request('add a health check', 'code')));
      assert.equal(task.status?.state, TaskState.TASK_STATE_COMPLETED);
      const parts = task.artifacts[0]?.parts ?? [];
      assert.deepEqual(parts[0]?.content, { $case: 'text', value: 'fixed it' });
      const details =
        parts[1]?.content?.$case === 'data' ? (parts[1].content.value as Record<string, any>) : {};
      assert.equal(details.usage.costUsd, 0.0021);
      // Changed files come from the workspace's diff, not from what the agent claims: the fake reports an edit of
      // src/app.ts but writes nothing, so no file is listed.
      assert.equal(details.changedFiles, undefined);
      assert.equal(details.workspace.kind, 'scratch', 'no workdir: the conversation scratch directory');
      assert.equal(task.metadata?.usage?.inputTokens, 120, 'usage is in the task metadata too');
    });

    test('non-blocking send returns at once, and get shows the task complete later', async () => {
      const first = asTask(await client.sendMessage(request('add a health check', 'code', true)));
      assert.notEqual(first.status?.state, TaskState.TASK_STATE_COMPLETED);
      const done = await waitFor(async () => {
        const t = await client.getTask({ tenant: '', id: first.id, historyLength: undefined });
        return t.status?.state === TaskState.TASK_STATE_COMPLETED ? t : undefined;
      });
      assert.equal(done.id, first.id);
    });

    test('stream delivers progress in order and the terminal state last', async () => {
      const kinds: string[] = [];
      const states: TaskState[] = [];
      const texts: string[] = [];
      for await (const event of client.sendMessageStream(request('add a health check', 'code'))) {
        const payload = event.payload;
        if (!payload) continue;
        kinds.push(payload.$case);
        if (payload.$case === 'statusUpdate') {
          states.push(payload.value.status!.state);
          const part = payload.value.status?.message?.parts[0]?.content;
          if (part?.$case === 'text') texts.push(part.value);
        }
      }
      assert.equal(kinds[0], 'task');
      assert.equal(kinds.at(-1), 'statusUpdate');
      assert.equal(states.at(-1), TaskState.TASK_STATE_COMPLETED);
      assert.ok(states.slice(0, -1).every((s) => s === TaskState.TASK_STATE_WORKING));
      assert.ok(kinds.indexOf('artifactUpdate') < kinds.lastIndexOf('statusUpdate'));
      const saysIdx = texts.findIndex((t) => t.includes('looking at the code'));
      const toolIdx = texts.findIndex((t) => t.includes('Edit: src/app.ts'));
      assert.ok(saysIdx >= 0 && toolIdx > saysIdx, `progress in order: ${JSON.stringify(texts)}`);
    });

    test('list finds tasks by context', async () => {
      const task = asTask(await client.sendMessage(request('add a health check', 'code')));
      const listed = await client.listTasks({
        tenant: '',
        contextId: task.contextId,
        status: TaskState.TASK_STATE_UNSPECIFIED,
        pageSize: 10,
        pageToken: '',
        historyLength: undefined,
        statusTimestampAfter: undefined,
        includeArtifacts: true,
      });
      assert.deepEqual(
        listed.tasks.map((t) => t.id),
        [task.id],
      );
    });

    test('cancel ends a running task canceled', async () => {
      const task = asTask(await client.sendMessage(request('restructure everything', 'refactor_code', true)));
      await waitFor(async () => {
        const t = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
        return t.status?.state === TaskState.TASK_STATE_WORKING ? t : undefined;
      });
      const canceled = await client.cancelTask({ tenant: '', id: task.id, metadata: undefined });
      assert.equal(canceled.status?.state, TaskState.TASK_STATE_CANCELED);
      const again = await client.getTask({ tenant: '', id: task.id, historyLength: undefined });
      assert.equal(again.status?.state, TaskState.TASK_STATE_CANCELED);
    });
  });
}

describe('a 0.3-era client (@a2a-js/sdk 0.3.14)', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG });
  });
  after(async () => {
    await gw.stop();
  });

  test('sends (blocking) and streams with 0.3 shapes', async () => {
    const client = await new ClientFactoryV03().createFromUrl(gw.url);
    const result = await client.sendMessage({
      message: {
        kind: 'message',
        role: 'user',
        messageId: randomUUID(),
        parts: [{ kind: 'text', text: 'add a health check' }],
        metadata: { skill: 'code' },
      },
      configuration: { blocking: true },
    });
    assert.equal(result.kind, 'task');
    assert.equal(result.kind === 'task' ? result.status.state : '', 'completed');

    const events: Array<{ kind: string; final?: boolean; state?: string }> = [];
    for await (const ev of client.sendMessageStream({
      message: {
        kind: 'message',
        role: 'user',
        messageId: randomUUID(),
        parts: [{ kind: 'text', text: 'add a health check' }],
        metadata: { skill: 'code' },
      },
    })) {
      events.push({
        kind: ev.kind,
        ...('final' in ev ? { final: ev.final } : {}),
        ...(ev.kind === 'status-update' ? { state: ev.status.state } : {}),
      });
    }
    assert.equal(events[0]?.kind, 'task');
    const last = events.at(-1);
    assert.deepEqual(last, { kind: 'status-update', final: true, state: 'completed' });
  });
});
