import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.js';

const KEY = 'redis-outage-test-key-0123456789';
const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };

async function getTask(url: string): Promise<{ status: number; body: any; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${url}/v1/tasks/00000000-0000-4000-8000-000000000000`, {
    headers,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json(), ms: Date.now() - t0 };
}

async function rpcGetTask(url: string): Promise<{ status: number; body: any; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tasks/get',
      params: { id: '00000000-0000-4000-8000-000000000000' },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.json(), ms: Date.now() - t0 };
}

// A Redis of the test's own (not the shared one), stopped and started again while a gateway uses it.
describe('Redis enabled and stopped: refused at once naming Redis, not ready, degraded; back by itself', () => {
  let redis: TestRedisServer;
  let gw: TestGateway;
  before(async () => {
    redis = await startRedisServer();
    gw = await startTestGateway({
      env: { API_KEY: KEY, REDIS_ENABLED: 'true', REDIS_URL: redis.url, STORE: 'memory' },
    });
  });
  after(async () => {
    await gw.stop();
    await redis.stop();
  });

  test('before, during and after the outage', async () => {
    // Up: keyed requests are served (task not found is the gateway's answer, not an error of Redis).
    assert.equal((await getTask(gw.url)).status, 404);
    assert.equal((await fetch(`${gw.url}/ready`)).status, 200);

    await redis.stop();
    await waitFor(
      async () => ((await fetch(`${gw.url}/ready`)).status === 503 ? true : undefined),
      5000,
      '/ready to say not ready',
    );
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { redis?: boolean };
    assert.equal(ready.redis, false);
    const health = (await (await fetch(`${gw.url}/health`)).json()) as { status?: string };
    assert.equal(health.status, 'degraded');

    const rest = await getTask(gw.url);
    assert.equal(rest.status, 503, JSON.stringify(rest.body));
    assert.match(rest.body.error.message, /Redis is unavailable/);
    assert.equal(rest.body.error.status, 'UNAVAILABLE');
    assert.ok(rest.ms < 1000, `REST answered in ${rest.ms} ms`);

    const rpc = await rpcGetTask(gw.url);
    assert.equal(rpc.status, 503);
    assert.equal(rpc.body.error.code, -32050);
    assert.match(rpc.body.error.message, /Redis is unavailable/);
    assert.equal(rpc.body.error.data.reason, 'REDIS_UNAVAILABLE');
    assert.ok(rpc.ms < 1000, `JSON-RPC answered in ${rpc.ms} ms`);

    // The public probes and the card do not need Redis.
    assert.equal((await fetch(`${gw.url}/.well-known/agent-card.json`)).status, 200);

    await redis.start();
    await waitFor(
      async () => ((await fetch(`${gw.url}/ready`)).status === 200 ? true : undefined),
      15_000,
      '/ready once Redis is back',
    );
    assert.equal((await getTask(gw.url)).status, 404, 'served again with no restart');
    assert.equal(
      (await rpcGetTask(gw.url)).body.error.code,
      -32001,
      'the JSON-RPC answer is the task not found',
    );
  });

  test('a gateway started while Redis is down serves once Redis comes up', async () => {
    await redis.stop();
    const late = await startTestGateway({
      env: { API_KEY: KEY, REDIS_ENABLED: 'true', REDIS_URL: redis.url, STORE: 'memory' },
    });
    try {
      assert.equal((await getTask(late.url)).status, 503);
      await redis.start();
      await waitFor(
        async () => ((await getTask(late.url)).status === 404 ? true : undefined),
        15_000,
        'keyed requests to be served once Redis is up',
      );
    } finally {
      await late.stop();
    }
  });
});
