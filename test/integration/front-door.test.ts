import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { requestListenerOf } from '../../src/transport/app.js';
import { FRONT_DOOR_SETTING, type FrontDoor } from '../../src/transport/front-door.js';
import { HOT_LANE_SETTING } from '../../src/transport/hot-lane.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashKey } from '../../src/transport/auth.js';
import { rpc, sendMessage10, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { requestInits, seenOf, type SeenAnswer } from '../helpers/answers.js';
import { dropRedisKeys } from '../helpers/redis-keys.js';

const KEY = 'front-door-test-key-0123456789abcdef';
const OTHER_KEY = 'front-door-other-key-0123456789abcdef';
const CONFIG = `
backends:
  quick: { type: fake, summary: "done" }
skills:
  code: { backend: quick }
`;

const sendTask = (url: string, key: string): Promise<string> =>
  sendMessage10(url, { headers: { 'x-api-key': key } });

const keysDir = tempDir('front-door-keys-');
after(() => keysDir.cleanup());

/** Each suite below runs on SQLite (the front door answers at once) and on Redis (once Redis has answered). */
const STORES = ['sqlite', 'redis'] as const;
type StoreKind = (typeof STORES)[number];
const REDIS_URL = 'redis://127.0.0.1:6379/1';
const redisPrefix = `front-door-test-${randomUUID().slice(0, 8)}:`;
after(() => dropRedisKeys(REDIS_URL, redisPrefix));

/** The settings that put a gateway on Redis (tasks, limits and throttle), in this file's own keys; none for SQLite. */
function storeEnv(store: StoreKind, suite: string): Record<string, string> {
  return store === 'redis'
    ? { REDIS_ENABLED: 'true', REDIS_URL, REDIS_KEY_PREFIX: `${redisPrefix}${suite}:` }
    : {};
}

/** A keys file with the two keys (ids `main` and `other`). */
function keysFile(): string {
  const file = join(keysDir.dir, 'keys.yaml');
  writeFileSync(
    file,
    `keys:\n  - { id: main, hash: "${hashKey(KEY)}" }\n  - { id: other, hash: "${hashKey(OTHER_KEY)}" }\n`,
  );
  return file;
}

/** The access-log lines of requests, without what differs between any two (time, duration, trace id). */
function requestLines(gw: TestGateway, from: number): Array<Record<string, unknown>> {
  return gw.logs.lines
    .slice(from)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === 'request')
    .map(({ time: _time, durationMs: _ms, traceId: _trace, ...rest }) => rest);
}

for (const store of STORES)
  describe(`front door (${store}): a plain GetTask is answered before Express exactly as the app answers it`, () => {
    let gw: TestGateway;
    let taskId = '';
    let otherTaskId = '';
    let door: FrontDoor;
    const v1 = { 'a2a-version': '1.0', 'x-api-key': KEY };

    before(async () => {
      gw = await startTestGateway({
        env: {
          API_KEYS_FILE: keysFile(),
          // The wrong-key case would otherwise send this address's requests to the app for a minute (see below).
          AUTH_FAILURE_LIMIT: '0',
          LOG_LEVEL: 'info',
          BODY_LIMIT: '4kb',
          RATE_LIMIT_PER_MINUTE: '100000',
          ...storeEnv(store, 'alike'),
        },
        configYaml: CONFIG,
      });
      taskId = await sendTask(gw.url, KEY);
      otherTaskId = await sendTask(gw.url, OTHER_KEY);
      door = requestListenerOf(gw.gateway.app) as FrontDoor;
      assert.equal(typeof door.answeredCount, 'function', `the gateway on ${store} has a front door`);
    });
    after(() => gw.stop());

    const send = async (path: string, init: RequestInit): Promise<SeenAnswer> => {
      const res = await fetch(`${gw.url}${path}`, init);
      return seenOf(res);
    };

    test('status, headers, body and access-log line are the same with the front door on and off', async () => {
      const { post, call } = requestInits(v1);
      // [name, path, request, whether the front door answers it itself]
      const cases: Array<[string, string, RequestInit, boolean]> = [
        ['plain GetTask', '/', call('GetTask', { id: taskId }), true],
        ['plain GetTask, string id', '/', call('GetTask', { id: taskId }, 'abc'), true],
        [
          'plain GetTask, charset',
          '/',
          {
            method: 'POST',
            headers: { 'content-type': 'application/json; charset=utf-8', ...v1 },
            body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: taskId } }),
          },
          true,
        ],
        ['GetTask with a tenant', '/', call('GetTask', { id: taskId, tenant: '' }, 'x'), false],
        ['GetTask with historyLength', '/', call('GetTask', { id: taskId, historyLength: 0 }), false],
        ['GetTask of no task', '/', call('GetTask', { id: 'no-such-task' }), false],
        ["GetTask of another key's task", '/', call('GetTask', { id: otherTaskId }), false],
        [
          '0.3 tasks/get',
          '/',
          post(JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { id: taskId } }), {
            'x-api-key': KEY,
          }),
          false,
        ],
        ['ListTasks', '/', call('ListTasks', {}), false],
        ['an unknown method', '/', call('NoSuchMethod', {}), false],
        ['a bad id', '/', call('GetTask', { id: taskId }, { not: 'an id' }), false],
        ['a wrongly typed param', '/', call('GetTask', { id: 42 }), false],
        ['not JSON', '/', post('{"jsonrpc": "2.0", "id": 5, "method": '), false],
        [
          'JSON5, as the brief quotes it',
          '/',
          post(`{'jsonrpc': '2.0', 'id': 5, 'method': 'GetTask'}`),
          false,
        ],
        [
          'too large',
          '/',
          post(
            JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'GetTask', params: { id: 'x'.repeat(5000) } }),
          ),
          false,
        ],
        [
          'no key',
          '/',
          post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: taskId } }), {
            'a2a-version': '1.0',
          }),
          false,
        ],
        [
          'a wrong key',
          '/',
          post(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'GetTask', params: { id: taskId } }), {
            'a2a-version': '1.0',
            'x-api-key': 'not-the-key',
          }),
          false,
        ],
        [
          'an extension',
          '/',
          post(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'GetTask', params: { id: taskId } }), {
            ...v1,
            'a2a-extensions': 'https://example.com/ext',
          }),
          false,
        ],
        [
          'text/plain',
          '/',
          {
            method: 'POST',
            headers: { 'content-type': 'text/plain', ...v1 },
            body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: taskId } }),
          },
          false,
        ],
        ['REST read', `/tasks/${taskId}`, { headers: v1 }, true],
        [
          'REST read, bearer',
          `/tasks/${taskId}`,
          { headers: { 'a2a-version': '1.0', authorization: `Bearer ${KEY}` } },
          true,
        ],
        ['REST read with a query', `/tasks/${taskId}?tenant=`, { headers: v1 }, false],
        ['REST read of no task', '/tasks/no-such-task', { headers: v1 }, false],
        ['REST read, broken path', '/tasks/%ff', { headers: v1 }, false],
        ['REST read, no key', `/tasks/${taskId}`, { headers: { 'a2a-version': '1.0' } }, false],
        ['REST read, 0.3', `/v1/tasks/${taskId}`, { headers: { 'x-api-key': KEY } }, false],
        [
          'REST read, If-None-Match',
          `/tasks/${taskId}`,
          { headers: { ...v1, 'if-none-match': 'W/"nothing"' } },
          false,
        ],
        [
          'REST read, text/plain',
          `/tasks/${taskId}`,
          { headers: { ...v1, 'content-type': 'text/plain' } },
          false,
        ],
      ];
      const app = gw.gateway.app;
      for (const [name, path, init, answeredByDoor] of cases) {
        const lines = gw.logs.lines.length;
        const before = door.answeredCount();
        const viaDoor = await send(path, init);
        assert.equal(
          door.answeredCount() - before,
          answeredByDoor ? 1 : 0,
          `${name}: answered by the front door`,
        );
        app.disable(FRONT_DOOR_SETTING);
        const viaApp = await send(path, init);
        app.disable(HOT_LANE_SETTING);
        const viaRouter = await send(path, init);
        app.enable(HOT_LANE_SETTING);
        app.enable(FRONT_DOOR_SETTING);
        assert.equal(door.answeredCount() - before, answeredByDoor ? 1 : 0, `${name}: the door was off`);
        assert.deepEqual(viaDoor, viaApp, name);
        assert.deepEqual(viaDoor, viaRouter, name);
        // The access log cannot tell them apart either.
        const [door1, app1, router1] = requestLines(gw, lines);
        assert.deepEqual(door1, app1, `${name}: log line`);
        assert.deepEqual(door1, router1, `${name}: log line`);
      }
    });

    test('the metrics count what the front door answers', async () => {
      const scrape = async (): Promise<number> => {
        const res = await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': KEY } });
        const text = await res.text();
        const line = text
          .split('\n')
          .find(
            (l) =>
              l.startsWith('a2a_gateway_a2a_requests_total{') &&
              l.includes('"GetTask"') &&
              l.includes('"1.0"'),
          );
        return line ? Number(line.split(' ').at(-1)) : 0;
      };
      const before = await scrape();
      const answered = door.answeredCount();
      for (let i = 0; i < 5; i++) await send(`/tasks/${taskId}`, { headers: v1 });
      assert.equal(door.answeredCount() - answered, 5);
      assert.equal((await scrape()) - before, 5);
    });

    test('pipelined plain GetTasks on one connection each get their own answer, in order', async () => {
      const url = new URL(gw.url);
      const bodies = [1, 2, 3].map((n) =>
        JSON.stringify({
          jsonrpc: '2.0',
          id: n,
          method: 'GetTask',
          params: { id: n === 2 ? 'no-such-task' : taskId },
        }),
      );
      const raw = bodies
        .map(
          (b) =>
            `POST / HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nA2A-Version: 1.0\r\n` +
            `X-API-Key: ${KEY}\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`,
        )
        .join('');
      const { connect } = await import('node:net');
      const text = await new Promise<string>((resolve, reject) => {
        // The connection stays open until the third answer, as a pipelining client keeps it: a client that
        // half-closes after sending has its unanswered requests dropped by Node's server, app or front door alike.
        const socket = connect(Number(url.port), url.hostname, () => socket.write(raw));
        let got = '';
        socket.setEncoding('utf8');
        socket.on('data', (d: string) => {
          got += d;
          if ((got.match(/"jsonrpc":"2.0"/g) ?? []).length >= 3) socket.end();
        });
        socket.on('close', () => resolve(got));
        socket.on('error', reject);
        setTimeout(() => socket.destroy(), 5000).unref();
      });
      const ids = [...text.matchAll(/"jsonrpc":"2.0","id":(\d+)/g)].map((m) => Number(m[1]));
      assert.deepEqual(ids, [1, 2, 3]);
      assert.match(text, /"id":2,"error":\{"code":-32001/);
    });
  });

for (const store of STORES)
  describe(`front door (${store}): limits and throttling hold as they do in the app`, () => {
    let gw: TestGateway;
    let taskId = '';
    const LIMIT = 8;

    before(async () => {
      gw = await startTestGateway({
        env: {
          API_KEY: KEY,
          LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_MINUTE: String(LIMIT),
          AUTH_FAILURE_LIMIT: '3',
          AUTH_FAILURE_WINDOW: '60',
          ...storeEnv(store, 'limits'),
        },
        configYaml: CONFIG,
      });
      taskId = await sendTask(gw.url, KEY);
    });
    after(() => gw.stop());

    test('the request limit counts front-door and app requests in one window, and refuses past it', async () => {
      const door = requestListenerOf(gw.gateway.app) as FrontDoor;
      const v1 = { 'a2a-version': '1.0', 'x-api-key': KEY };
      const seen: Array<[number, string | null]> = [];
      // The send above counted once; alternate the two ways in until the limit is reached.
      for (let i = 0; i < LIMIT; i++) {
        const res =
          i % 2 === 0
            ? await fetch(`${gw.url}/tasks/${taskId}`, { headers: v1 })
            : await fetch(`${gw.url}/tasks`, { headers: v1 });
        await res.text();
        seen.push([res.status, res.headers.get('ratelimit')]);
      }
      assert.ok(door.answeredCount() >= 3, 'the front door answered some');
      assert.deepEqual(
        seen.map(([status, header]) => [status, /r=(\d+)/.exec(header ?? '')?.[1]]),
        [
          [200, '6'],
          [200, '5'],
          [200, '4'],
          [200, '3'],
          [200, '2'],
          [200, '1'],
          [200, '0'],
          [429, '0'],
        ],
      );
      const answered = door.answeredCount();
      const refused = await fetch(`${gw.url}/tasks/${taskId}`, { headers: v1 });
      assert.equal(refused.status, 429);
      assert.ok(refused.headers.get('retry-after'));
      assert.match(await refused.text(), /rate limit exceeded/);
      assert.equal(door.answeredCount(), answered, 'a caller at its limit is not answered by the front door');
    });

    test('an address throttled for failed authentications is refused even with the right key', async () => {
      // A new gateway's limits: the test above spent this one's request limit.
      const fresh = await startTestGateway({
        env: {
          API_KEY: KEY,
          LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_MINUTE: '1000',
          AUTH_FAILURE_LIMIT: '3',
          AUTH_FAILURE_WINDOW: '60',
          ...storeEnv(store, 'throttle'),
        },
        configYaml: CONFIG,
      });
      try {
        const id = await sendTask(fresh.url, KEY);
        const v1 = { 'a2a-version': '1.0', 'x-api-key': KEY };
        const door = requestListenerOf(fresh.gateway.app) as FrontDoor;
        // A read the front door hands to the app (no such task) is counted once, not by both.
        const left: number[] = [];
        for (let i = 0; i < 2; i++) {
          const missing = await fetch(`${fresh.url}/tasks/no-such-task`, { headers: v1 });
          assert.equal(missing.status, 404);
          left.push(Number(/r=(\d+)/.exec(missing.headers.get('ratelimit') ?? '')?.[1]));
        }
        assert.equal(left[0]! - left[1]!, 1, `requests left: ${left.join(', ')}`);
        assert.equal(door.answeredCount(), 0);
        assert.equal((await fetch(`${fresh.url}/tasks/${id}`, { headers: v1 })).status, 200);
        assert.equal(door.answeredCount(), 1);
        // An address with failures below the limit is served: on SQLite by the app, which alone can tell; on Redis
        // by the front door, which asks Redis with its read.
        assert.equal(
          (await fetch(`${fresh.url}/tasks/${id}`, { headers: { ...v1, 'x-api-key': 'wrong' } })).status,
          401,
        );
        assert.equal((await fetch(`${fresh.url}/tasks/${id}`, { headers: v1 })).status, 200);
        const served = store === 'redis' ? 2 : 1;
        assert.equal(door.answeredCount(), served);
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`${fresh.url}/tasks/${id}`, {
            headers: { ...v1, 'x-api-key': `wrong-${i}` },
          });
          assert.equal(res.status, 401);
        }
        const throttled = await fetch(`${fresh.url}/tasks/${id}`, { headers: v1 });
        assert.equal(throttled.status, 429);
        assert.match(await throttled.text(), /too many failed authentications/);
        const rpcThrottled = await rpc(
          fresh.url,
          { jsonrpc: '2.0', id: 11, method: 'GetTask', params: { id } },
          v1,
        );
        assert.equal(rpcThrottled.status, 429);
        assert.equal(
          door.answeredCount(),
          served,
          'nothing answered by the front door while an address is throttled',
        );
      } finally {
        await fresh.stop();
      }
    });
  });

describe('front door: where it stands aside', () => {
  test('with CORS origins configured, the app answers every request', async () => {
    const gw = await startTestGateway({
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', CORS_ORIGINS: 'https://dash.example.com' },
      configYaml: CONFIG,
    });
    try {
      assert.equal(requestListenerOf(gw.gateway.app), gw.gateway.app);
      const id = await sendTask(gw.url, KEY);
      const res = await fetch(`${gw.url}/tasks/${id}`, {
        headers: { 'a2a-version': '1.0', 'x-api-key': KEY, origin: 'https://dash.example.com' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    } finally {
      await gw.stop();
    }
  });

  test('a JSON-RPC body cut off by the client leaves the gateway serving', async () => {
    const gw = await startTestGateway({ env: { API_KEY: KEY, LOG_LEVEL: 'warn' }, configYaml: CONFIG });
    try {
      const id = await sendTask(gw.url, KEY);
      const url = new URL(gw.url);
      await new Promise<void>((resolve) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/',
          headers: {
            'content-type': 'application/json',
            'content-length': '500',
            'a2a-version': '1.0',
            'x-api-key': KEY,
          },
        });
        req.on('error', () => resolve());
        req.write('{"jsonrpc":"2.0","id":1,');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      const res = await rpc(
        gw.url,
        { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id } },
        {
          'a2a-version': '1.0',
          'x-api-key': KEY,
        },
      );
      assert.equal(res.status, 200);
      assert.equal((res.body as { result: { id: string } }).result.id, id);
    } finally {
      await gw.stop();
    }
  });
});
