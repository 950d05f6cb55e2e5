import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SqliteTaskStore } from '../../src/stores/sqlite-store.js';
import { rpc, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'direct-reads-test-key-0123456789';
const V1 = { 'a2a-version': '1.0', 'x-api-key': KEY };
const CONFIG = `
backends:
  quick:
    type: fake
    summary: "fixed it: ünïcödé, \\"quotes\\", <tags> & a tab\\t"
    steps:
      - { event: { type: text, text: "looking at the code" } }
      - { event: { type: usage, usage: { inputTokens: 120, outputTokens: 40, costUsd: 0.0021, model: fake-1 } } }
      - { event: { type: tool_call, name: Edit, summary: "src/app.ts" } }
      - { event: { type: file_change, path: "src/app.ts", kind: update } }
skills:
  code: { backend: quick }
`;

interface Answer {
  status: number;
  text: string;
  type: string | null;
  etag: string | null;
}

async function get(url: string, init: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  return {
    status: res.status,
    text: await res.text(),
    type: res.headers.get('content-type'),
    etag: res.headers.get('etag'),
  };
}

function getTask(url: string, params: Record<string, unknown>, id: unknown = 7): Promise<Answer> {
  return get(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...V1 },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'GetTask', params }),
  });
}

describe('direct read path: GetTask answers the bytes the SDK path answers', () => {
  let gw: TestGateway;
  const ids: string[] = [];
  let loads = 0;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, called with its own `this`
  const realLoad = SqliteTaskStore.prototype.load;

  before(async () => {
    // Counts the SDK path's reads: the direct path reads the stored JSON without them.
    SqliteTaskStore.prototype.load = function (this: SqliteTaskStore, ...args) {
      loads += 1;
      return realLoad.apply(this, args);
    };
    gw = await startTestGateway({ env: { API_KEY: KEY, LOG_LEVEL: 'warn' }, configYaml: CONFIG });
    // A 1.0 send and a 0.3 send, each with a data part and metadata: different shapes in history and status.
    const v1 = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: {
            messageId: randomUUID(),
            role: 'ROLE_USER',
            parts: [{ text: 'fix it' }, { data: { instructions: 'keep the API', workdir: null } }],
            metadata: { from: 'test' },
          },
          metadata: { skill: 'code' },
        },
      },
      V1,
    );
    assert.ok(v1.body.result, JSON.stringify(v1.body));
    ids.push(v1.body.result.task.id);
    const v03 = await rpc(
      gw.url,
      {
        jsonrpc: '2.0',
        id: 2,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: randomUUID(),
            parts: [
              { kind: 'text', text: 'and this' },
              { kind: 'data', data: { instructions: 'and keep it short' } },
            ],
          },
          metadata: { skill: 'code' },
          configuration: { blocking: true },
        },
      },
      { 'x-api-key': KEY },
    );
    assert.ok(v03.body.result, JSON.stringify(v03.body));
    ids.push(v03.body.result.id);
  });
  after(async () => {
    SqliteTaskStore.prototype.load = realLoad;
    await gw.stop();
  });

  test('JSON-RPC GetTask: same status, body, content type and ETag as through the SDK, without its store read', async () => {
    for (const id of ids) {
      for (const rpcId of [7, 'req-1']) {
        loads = 0;
        const direct = await getTask(gw.url, { id }, rpcId);
        assert.equal(loads, 0, 'the direct path answered');
        // A tenant of '' means no tenant to the SDK; it is not a plain GetTask, so the SDK's path answers it.
        const viaSdk = await getTask(gw.url, { id, tenant: '' }, rpcId);
        assert.ok(loads > 0, 'the SDK path answered');
        assert.equal(direct.status, 200);
        assert.deepEqual(direct, viaSdk);
        assert.equal(JSON.parse(direct.text).result.status.state, 'TASK_STATE_COMPLETED');
      }
    }
  });

  test('REST GET /tasks/{id}: same status, body, content type and ETag as through the SDK', async () => {
    for (const id of ids) {
      loads = 0;
      const direct = await get(`${gw.url}/tasks/${id}`, { headers: V1 });
      assert.equal(loads, 0, 'the direct path answered');
      const viaSdk = await get(`${gw.url}/tasks/${id}?tenant=`, { headers: V1 });
      assert.ok(loads > 0, 'the SDK path answered');
      assert.equal(direct.status, 200);
      assert.deepEqual(direct, viaSdk);
    }
  });

  test('what the direct path does not serve is answered as before: unknown task, no key, another content type', async () => {
    const missing = await getTask(gw.url, { id: 'no-such-task' });
    assert.equal(JSON.parse(missing.text).error.code, -32001);
    const restMissing = await get(`${gw.url}/tasks/no-such-task`, { headers: V1 });
    assert.equal(restMissing.status, 404);
    const anonymous = await fetch(`${gw.url}/tasks/${ids[0]}`, { headers: { 'a2a-version': '1.0' } });
    assert.equal(anonymous.status, 401);
    // Whatever the SDK answers a GET with another content type, both paths answer the same.
    const odd = { headers: { ...V1, 'content-type': 'text/plain' } };
    const wrongType = await get(`${gw.url}/tasks/${ids[0]}`, odd);
    assert.deepEqual(wrongType, await get(`${gw.url}/tasks/${ids[0]}?tenant=`, odd));
  });
});
