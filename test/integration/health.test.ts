import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { parseExposition } from '../helpers/prom-text.js';

const KEY = 'health-test-key-0123456789';
// The obs suites' own Redis database and key prefix (shared Redis on 127.0.0.1).
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/6';

async function health(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

/** A port on 127.0.0.1 that accepts connections and closes them at once: a Redis that is down. */
async function deadRedis(): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(addr && typeof addr === 'object');
  return { url: `redis://127.0.0.1:${addr.port}/6`, server };
}

describe('/health and /health?detailed=true', () => {
  test('detailed health shows store, Redis, queue and backends with versions, to a caller with a key', async () => {
    const gw = await startTestGateway({
      env: {
        API_KEY: KEY,
        REDIS_ENABLED: 'true',
        REDIS_URL,
        REDIS_KEY_PREFIX: `obs-health-${process.pid}:`,
        MAX_CONCURRENT_TASKS: '2',
      },
      configYaml: `
backends:
  quick: { type: fake }
skills:
  code: { backend: quick }
`,
    });
    try {
      // Anyone may read the summary; the details need the key.
      const open = await health(`${gw.url}/health?detailed=true`);
      assert.equal(open.status, 200);
      assert.equal(open.body.status, 'healthy');
      assert.deepEqual(open.body.redis, { ok: true });
      assert.equal(open.body.backends, undefined, 'no details without a key');

      const { status, body } = await health(`${gw.url}/health?detailed=true`, { 'x-api-key': KEY });
      assert.equal(status, 200);
      assert.equal(body.status, 'healthy');
      // The summary fields stay as they were.
      assert.equal(body.active_tasks, 0);
      assert.equal(body.max_concurrent_tasks, 2);
      // With Redis on, the tasks live there (STORE defaults to redis).
      assert.deepEqual(body.store, { kind: 'redis', ok: true });
      assert.equal(body.redis.enabled, true);
      assert.equal(body.redis.ok, true);
      assert.equal(typeof body.redis.latency_ms, 'number');
      assert.deepEqual(body.queue, {
        running: 0,
        queued: 0,
        max_concurrent: 2,
        max_queued: 100,
        full: false,
      });
      const byName = new Map<string, any>(body.backends.map((b: any) => [b.name, b]));
      assert.equal(byName.get('quick')?.found, true);
      assert.deepEqual(byName.get('quick')?.skills, ['code']);
      const git = byName.get('git');
      assert.equal(git?.found, true);
      assert.match(git?.version ?? '', /^git version \d+\.\d+/);
      // A backend whose CLI is not on PATH is reported missing, not probed.
      const claude = byName.get('claude');
      if (claude && !claude.found) assert.equal(claude.version, undefined);

      const metrics = await fetch(`${gw.url}/metrics`, { headers: { 'x-api-key': KEY } });
      const m = parseExposition(await metrics.text());
      assert.equal(m.value('a2a_gateway_redis_up'), 1);
      assert.ok(m.value('a2a_gateway_redis_latency_seconds') > 0);
    } finally {
      await gw.stop();
      await dropRedisKeys(REDIS_URL, `obs-health-${process.pid}:`);
    }
  });

  test('Redis down: /health says degraded (still 200), /ready is not ready, redis_up is 0', async () => {
    const dead = await deadRedis();
    const gw = await startTestGateway({
      env: { REDIS_ENABLED: 'true', REDIS_URL: dead.url, STORE: 'memory', RATE_LIMIT_PER_MINUTE: '0' },
    });
    try {
      const { status, body } = await health(`${gw.url}/health?detailed=true`);
      assert.equal(status, 200);
      assert.equal(body.status, 'degraded');
      assert.equal(body.redis.ok, false);
      assert.match(body.redis.error, /not connected|PING/);
      // Not ready: a load balancer sends the traffic to a node whose Redis answers (scale-out, issue 11).
      const ready = await fetch(`${gw.url}/ready`);
      assert.equal(ready.status, 503, 'not ready while Redis does not answer');
      assert.deepEqual(await ready.json(), { ready: false, store: true, shutting_down: false, redis: false });
      const m = parseExposition(await (await fetch(`${gw.url}/metrics`)).text());
      assert.equal(m.value('a2a_gateway_redis_up'), 0);
    } finally {
      await gw.stop();
      dead.server.close();
    }
  });
});
