import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.js';

const KEY = 'redis-outage-test-key-0123456789';
const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };

async function getTask(url: string, timeoutMs = 10_000): Promise<{ status: number; body: any; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${url}/v1/tasks/00000000-0000-4000-8000-000000000000`, {
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.json(), ms: Date.now() - t0 };
}

async function rpcGetTask(
  url: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: any; ms: number }> {
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
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.json(), ms: Date.now() - t0 };
}

/**
 * A Redis of the suite's own (never the shared one) and a gateway on it with the test key, started before the
 * suite's tests; after them Redis is let answer and started again if a failed step left it stopped (so the
 * gateway's stop records what it must), then both are stopped.
 */
function gatewayOnOwnRedis(env: Record<string, string>): { redis: TestRedisServer; gw: TestGateway } {
  const ctx = {} as { redis: TestRedisServer; gw: TestGateway };
  before(async () => {
    ctx.redis = await startRedisServer();
    ctx.gw = await startTestGateway({
      env: { API_KEY: KEY, REDIS_ENABLED: 'true', REDIS_URL: ctx.redis.url, ...env },
    });
  });
  after(async () => {
    ctx.redis.resume();
    await ctx.redis.start();
    await ctx.gw.stop();
    await ctx.redis.stop();
  });
  return ctx;
}

/** Stops the test's own Redis and waits for the gateway's /ready to say it is not ready. */
async function stopRedis(ctx: { redis: { stop(): Promise<unknown> }; gw: { url: string } }): Promise<void> {
  await ctx.redis.stop();
  await waitFor(
    async () => ((await fetch(`${ctx.gw.url}/ready`)).status === 503 ? true : undefined),
    5000,
    '/ready to say not ready',
  );
}

// A Redis of the test's own (not the shared one), stopped and started again while a gateway uses it.
describe('Redis enabled and stopped: refused at once naming Redis, not ready, degraded; back by itself', () => {
  const ctx = gatewayOnOwnRedis({ STORE: 'memory' });

  test('before, during and after the outage', async () => {
    // Up: keyed requests are served (task not found is the gateway's answer, not an error of Redis).
    assert.equal((await getTask(ctx.gw.url)).status, 404);
    assert.equal((await fetch(`${ctx.gw.url}/ready`)).status, 200);

    await stopRedis(ctx);
    const ready = (await (await fetch(`${ctx.gw.url}/ready`)).json()) as { redis?: boolean };
    assert.equal(ready.redis, false);
    const health = (await (await fetch(`${ctx.gw.url}/health`)).json()) as { status?: string };
    assert.equal(health.status, 'degraded');

    const rest = await getTask(ctx.gw.url);
    assert.equal(rest.status, 503, JSON.stringify(rest.body));
    assert.match(rest.body.error.message, /Redis is unavailable/);
    assert.equal(rest.body.error.status, 'UNAVAILABLE');
    assert.ok(rest.ms < 1000, `REST answered in ${rest.ms} ms`);

    const rpc = await rpcGetTask(ctx.gw.url);
    assert.equal(rpc.status, 503);
    assert.equal(rpc.body.error.code, -32050);
    assert.match(rpc.body.error.message, /Redis is unavailable/);
    assert.equal(rpc.body.error.data.reason, 'REDIS_UNAVAILABLE');
    assert.ok(rpc.ms < 1000, `JSON-RPC answered in ${rpc.ms} ms`);

    // The public probes and the card do not need Redis.
    assert.equal((await fetch(`${ctx.gw.url}/.well-known/agent-card.json`)).status, 200);

    await ctx.redis.start();
    await waitFor(
      async () => ((await fetch(`${ctx.gw.url}/ready`)).status === 200 ? true : undefined),
      15_000,
      '/ready once Redis is back',
    );
    assert.equal((await getTask(ctx.gw.url)).status, 404, 'served again with no restart');
    assert.equal(
      (await rpcGetTask(ctx.gw.url)).body.error.code,
      -32001,
      'the JSON-RPC answer is the task not found',
    );
  });

  test('a gateway started while Redis is down serves once Redis comes up', async () => {
    await ctx.redis.stop();
    const late = await startTestGateway({
      env: { API_KEY: KEY, REDIS_ENABLED: 'true', REDIS_URL: ctx.redis.url, STORE: 'memory' },
    });
    try {
      assert.equal((await getTask(late.url)).status, 503);
      await ctx.redis.start();
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

/**
 * A JSON-RPC call whose headers go now and whose body goes when `send` is called. It resolves once the server has
 * taken the headers in (its `100 Continue`, written as the request is handed to the app), so what the test does
 * next happens after the request passed the edge, however loaded the machine.
 */
async function heldCall(
  url: string,
  body: string,
): Promise<{ send(): Promise<{ status: number; body: any; ms: number }> }> {
  const req = request(`${url}/`, {
    method: 'POST',
    headers: {
      ...headers,
      'a2a-version': '1.0',
      'content-length': Buffer.byteLength(body),
      expect: '100-continue',
    },
    signal: AbortSignal.timeout(10_000),
  });
  req.on('error', () => undefined);
  const answered = once(req, 'response') as Promise<[IncomingMessage]>;
  const taken = once(req, 'continue');
  req.flushHeaders();
  await taken;
  // The edge's middleware runs in the same turn as the hand-over; one more turn of the loop for good measure.
  await new Promise((r) => setTimeout(r, 50));
  return {
    send: async () => {
      const t0 = Date.now();
      req.end(body);
      const [res] = await answered;
      let text = '';
      for await (const chunk of res) text += String(chunk);
      return { status: res.statusCode ?? 0, body: JSON.parse(text), ms: Date.now() - t0 };
    },
  };
}

// Tasks in Redis: the edge lets a request through while Redis is up; if Redis drops before the request reads a
// task, the read fails at once (it does not wait for Redis, as a run's own reads and saves do).
describe('STORE=redis: a task read that passed the edge just before Redis dropped is refused at once', () => {
  const ctx = gatewayOnOwnRedis({ STORE: 'redis', RATE_LIMIT_PER_MINUTE: '0' });

  test('GetTask (the direct read path, then the SDK) and ListTasks: -32050 naming Redis within a second', async () => {
    for (const method of ['GetTask', 'ListTasks']) {
      const params = method === 'GetTask' ? { id: '00000000-0000-4000-8000-000000000000' } : {};
      // The headers pass the edge while Redis is up; the body reader then waits.
      const call = await heldCall(ctx.gw.url, JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }));
      assert.equal((await fetch(`${ctx.gw.url}/ready`)).status, 200);
      await stopRedis(ctx);
      const answer = await call.send();
      // The SDK's JSON-RPC binding answers its errors with HTTP 200; the code says Redis.
      assert.equal(answer.body.error?.code, -32050, `${method}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.id, 7);
      assert.match(answer.body.error.message, /Redis is unavailable/);
      assert.ok(answer.ms < 1000, `${method} answered in ${answer.ms} ms`);
      await ctx.redis.start();
      await waitFor(
        async () => ((await fetch(`${ctx.gw.url}/ready`)).status === 200 ? true : undefined),
        15_000,
        '/ready once Redis is back',
      );
    }
  });
});

// A Redis that hangs (stopped, not gone: its connections stay open and nothing answers) is not one that is down:
// the connection stays "ready", so only a command timeout keeps requests from waiting on it for ever. A request
// needs two answers before it is refused (the failed-authentication count, skipped when it fails, then the request
// count), and commands queued behind an auto-pipeline that is waiting for its answers go out when it has timed
// out: a few command timeouts (3 s each) in all.
describe('STORE=redis and Redis hangs: requests are refused naming Redis after the command timeout, and served again after', () => {
  const ctx = gatewayOnOwnRedis({ STORE: 'redis', RATE_LIMIT_PER_MINUTE: '1000' });

  test('REST and JSON-RPC GetTask while Redis does not answer, then once it does', async () => {
    assert.equal((await getTask(ctx.gw.url)).status, 404);
    ctx.redis.pause();
    try {
      const [rest, rpc] = await Promise.all([getTask(ctx.gw.url, 30_000), rpcGetTask(ctx.gw.url, 30_000)]);
      assert.equal(rest.status, 503, JSON.stringify(rest.body));
      assert.match(rest.body.error.message, /Redis is unavailable \(no answer in time\)/);
      assert.ok(rest.ms < 20_000, `REST answered in ${rest.ms} ms`);
      assert.equal(rpc.body.error?.code, -32050, JSON.stringify(rpc.body));
      assert.match(rpc.body.error.message, /Redis is unavailable/);
      assert.ok(rpc.ms < 20_000, `JSON-RPC answered in ${rpc.ms} ms`);
      // The public probes and the card do not wait on Redis.
      assert.equal((await fetch(`${ctx.gw.url}/.well-known/agent-card.json`)).status, 200);
    } finally {
      ctx.redis.resume();
    }
    await waitFor(
      async () => ((await getTask(ctx.gw.url)).status === 404 ? true : undefined),
      15_000,
      'keyed requests to be served once Redis answers',
    );
  });
});
