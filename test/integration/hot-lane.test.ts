import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { HOT_LANE_SETTING } from '../../src/transport/hot-lane.js';
import { sendMessage10, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { requestInits, seenOf, type SeenAnswer } from '../helpers/answers.js';

const KEY = 'hot-lane-test-key-0123456789abcdef';
const CONFIG = `
backends:
  quick: { type: fake, summary: "done" }
skills:
  code: { backend: quick }
`;

describe('hot lane: JSON-RPC calls and REST task reads answer as through the router', () => {
  let gw: TestGateway;
  let taskId = '';

  before(async () => {
    gw = await startTestGateway({
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', BODY_LIMIT: '4kb', RATE_LIMIT_PER_MINUTE: '100000' },
      configYaml: CONFIG,
    });
    taskId = await sendMessage10(gw.url, { headers: { 'x-api-key': KEY } });
  });
  after(() => gw.stop());

  const send = async (path: string, init: RequestInit): Promise<SeenAnswer> => {
    const res = await fetch(`${gw.url}${path}`, init);
    return seenOf(res);
  };

  test('status, headers and body are the same with the lane on and off', async () => {
    const v1 = { 'a2a-version': '1.0', 'x-api-key': KEY };
    const { post, call } = requestInits(v1);
    const cases: Array<[string, string, RequestInit]> = [
      ['plain GetTask', '/', call('GetTask', { id: taskId })],
      ['GetTask with a tenant', '/', call('GetTask', { id: taskId, tenant: '' }, 'x')],
      ['GetTask of no task', '/', call('GetTask', { id: 'no-such-task' })],
      [
        '0.3 tasks/get',
        '/',
        post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { id: taskId } }), {
          'x-api-key': KEY,
        }),
      ],
      ['ListTasks', '/', call('ListTasks', {})],
      ['an unknown method', '/', call('NoSuchMethod', {})],
      ['a bad id', '/', call('GetTask', { id: taskId }, { not: 'an id' })],
      ['a wrongly typed param', '/', call('GetTask', { id: 42 })],
      ['not JSON', '/', post('{"jsonrpc": "2.0", "id": 5, "method": ')],
      [
        'too large',
        '/',
        post(JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'GetTask', params: { id: 'x'.repeat(5000) } })),
      ],
      [
        'no key',
        '/',
        post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: taskId } }), {
          'a2a-version': '1.0',
        }),
      ],
      ['REST read', `/tasks/${taskId}`, { headers: v1 }],
      ['REST read with a query', `/tasks/${taskId}?tenant=`, { headers: v1 }],
      ['REST read of no task', '/tasks/no-such-task', { headers: v1 }],
      ['REST read, broken path', '/tasks/%ff', { headers: v1 }],
      ['REST read, no key', `/tasks/${taskId}`, { headers: { 'a2a-version': '1.0' } }],
      [
        'REST read, If-None-Match',
        `/tasks/${taskId}`,
        { headers: { ...v1, 'if-none-match': 'W/"nothing"' } },
      ],
    ];
    for (const [name, path, init] of cases) {
      gw.gateway.app.enable(HOT_LANE_SETTING);
      const lane = await send(path, init);
      gw.gateway.app.disable(HOT_LANE_SETTING);
      const router = await send(path, init);
      gw.gateway.app.enable(HOT_LANE_SETTING);
      assert.deepEqual(lane, router, name);
    }
    // A fresh ETag gets 304 either way (over node:http: fetch adds `cache-control: no-cache` to a conditional GET).
    const first = await fetch(`${gw.url}/tasks/${taskId}`, { headers: v1 });
    const etag = first.headers.get('etag') ?? '';
    assert.ok(etag);
    const conditional = (): Promise<number | undefined> =>
      new Promise((resolve, reject) => {
        get(`${gw.url}/tasks/${taskId}`, { headers: { ...v1, 'if-none-match': etag } }, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on('error', reject);
      });
    assert.equal(await conditional(), 304);
    gw.gateway.app.disable(HOT_LANE_SETTING);
    assert.equal(await conditional(), 304);
    gw.gateway.app.enable(HOT_LANE_SETTING);
  });
});
