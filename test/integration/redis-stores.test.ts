// The store ports' contract suites on Redis (the redis engineer's database 5 on the shared 127.0.0.1:6379),
// each store under a prefix of its own that is removed after the test.
import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Task, TaskState } from '@a2a-js/sdk';
import { Redis } from 'ioredis';
import { eventRecord, statusEvent, taskEventStoreContract } from '../contracts/task-event-store.js';
import { callContext, makeRichTask, makeTask, nextId } from '../helpers/tasks.js';
import { waitFor } from '../helpers/gateway.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { RedisUnavailableError } from '../../src/queue/redis-errors.js';
import { waitForReady } from '../../src/stores/redis-ready.js';
import { RedisEventStore } from '../../src/stores/redis-event-store.js';
import { RedisConversationStore } from '../../src/stores/redis-conversation-store.js';
import { conversationStoreContract } from '../contracts/conversation-store.js';
import { pushConfigStoreContract } from '../contracts/push-config-store.js';
import { RedisPushConfigStore } from '../../src/push/redis-store.js';
import { contractScope, listAllIds, listRequest, taskStoreContract } from '../contracts/task-store.js';
import { RedisTaskStore } from '../../src/stores/redis-task-store.js';
import { STORE_CONNECTION } from '../../src/stores/redis-connection.js';

const REDIS_URL = process.env.TEST_REDIS_STORES_URL ?? 'redis://127.0.0.1:6379/5';

/** A client and a fresh prefix; cleanup deletes every key under the prefix and disconnects. */
function redisUnderTest(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  // Auto-pipelined, as the gateway's store connection is (STORE_CONNECTION).
  const redis = new Redis(REDIS_URL, { enableAutoPipelining: true });
  const prefix = `a2a-test-redis-stores:${randomUUID().slice(0, 8)}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      await dropRedisKeys(REDIS_URL, prefix);
      redis.disconnect();
    },
  };
}

taskEventStoreContract('redis', () => {
  const { redis, prefix, cleanup } = redisUnderTest();
  return Promise.resolve({
    store: new RedisEventStore({ redis }, { prefix, finishedTtlMs: 60_000, blockMs: 1000 }),
    cleanup,
  });
});

conversationStoreContract('redis', () => {
  const { redis, prefix, cleanup } = redisUnderTest();
  const store = new RedisConversationStore({ redis }, { prefix, sessionTtlMs: 60_000, leaseMs: 2000 });
  return Promise.resolve({
    store,
    cleanup: async () => {
      await store.close();
      await cleanup();
    },
  });
});

taskStoreContract('redis', ({ scope }) => {
  const { redis, prefix, cleanup } = redisUnderTest();
  const store = new RedisTaskStore({ redis }, { prefix, ...(scope ? { scope } : {}) });
  return Promise.resolve({ store, cleanup });
});

pushConfigStoreContract('redis', ({ scope }) => {
  const { redis, prefix, cleanup } = redisUnderTest();
  const store = new RedisPushConfigStore({ redis }, { prefix, ...(scope ? { scope } : {}) });
  return Promise.resolve({ store, cleanup });
});

void describe('redis conversation locks: what only Redis does', () => {
  void test('two nodes share a conversation lock, and a node that dies holding it loses it within the lease', async () => {
    const { redis, prefix } = redisUnderTest();
    const other = new Redis(REDIS_URL);
    const leaseMs = 1000;
    const a = new RedisConversationStore({ redis }, { prefix, sessionTtlMs: 0, leaseMs });
    const b = new RedisConversationStore({ redis: other }, { prefix, sessionTtlMs: 0, leaseMs });
    try {
      const held = await a.lockConversation('c1');
      const waiting = b.lockConversation('c1');
      let got = false;
      void waiting.then(() => (got = true));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(got, false, 'the other node waits');
      await held.release();
      const second = await waiting;
      // The node holding c2 goes away: its connection closes, so its lease is no longer renewed.
      await a.lockConversation('c2');
      await a.close();
      redis.disconnect();
      const t0 = Date.now();
      const next = await b.lockConversation('c2');
      assert.ok(Date.now() - t0 < leaseMs * 4, `taken over after ${Date.now() - t0} ms`);
      await next.release();
      await second.release();
    } finally {
      await b.close();
      other.disconnect();
      await dropRedisKeys(REDIS_URL, prefix);
    }
  });
});

void describe('redis event streams: what only Redis does', () => {
  void test("a task's stream expires with the finished-task retention once it holds the task's end", async () => {
    const { redis, prefix, cleanup } = redisUnderTest();
    try {
      const store = new RedisEventStore({ redis }, { prefix, finishedTtlMs: 3_600_000 });
      const id = nextId();
      await store.appendTaskEvent(id, eventRecord(1, statusEvent(id, TaskState.TASK_STATE_WORKING)), 100);
      assert.equal(await redis.pttl(`${prefix}events:${id}`), -1, 'kept while the task runs');
      await store.appendTaskEvent(id, eventRecord(2, statusEvent(id, TaskState.TASK_STATE_COMPLETED)), 100);
      const ttl = await redis.pttl(`${prefix}events:${id}`);
      assert.ok(ttl > 3_500_000 && ttl <= 3_600_000, `expires in ${ttl} ms`);
    } finally {
      await cleanup();
    }
  });
});

void describe('redis task store: what only Redis does', () => {
  const alice = callContext('alice');
  const root = callContext('root');

  void test("tasks saved before the listing indexes existed are indexed once, and removed ones' records dropped", async () => {
    const { redis, prefix, cleanup } = redisUnderTest();
    try {
      const before = new RedisTaskStore({ redis }, { prefix, scope: contractScope });
      const base = Date.parse('2025-05-01T00:00:00.000Z');
      const tasks = Array.from({ length: 7 }, (_, i) =>
        makeTask({
          contextId: i < 3 ? 'ctx-m' : 'ctx-n',
          state: i % 2 ? TaskState.TASK_STATE_WORKING : TaskState.TASK_STATE_COMPLETED,
          ts: new Date(base - i * 1000).toISOString(),
        }),
      );
      for (const t of tasks) await before.save(t, alice);
      // What the previous version left: the same tasks and first-save order, none of the listing indexes.
      await dropRedisKeys(REDIS_URL, `${prefix}tasks:ix:`);
      // And a task it removed after the indexes were built: a record whose task is gone.
      const gone = tasks[6]!;
      await before.indexesReady();
      await redis.del(`${prefix}task:${gone.id}`);
      await redis.zrem(`${prefix}tasks`, gone.id);

      const store = new RedisTaskStore({ redis }, { prefix, scope: contractScope });
      assert.deepEqual(
        (await listAllIds(store, alice)).sort(),
        tasks
          .slice(0, 6)
          .map((t) => t.id)
          .sort(),
        'the first listing waits for the build',
      );
      const again = await new RedisTaskStore({ redis }, { prefix, scope: contractScope }).indexesReady();
      assert.deepEqual([again.indexed, again.dropped], [0, 0], 'built once: nothing left to do');
      assert.deepEqual(await listAllIds(store, alice), await listAllIds(store, root));
      const working = await store.list(
        listRequest({ contextId: 'ctx-n', status: TaskState.TASK_STATE_WORKING }),
        alice,
      );
      assert.deepEqual(
        working.tasks.map((t) => t.id),
        [tasks[3]!.id, tasks[5]!.id],
      );
      assert.equal((await store.countByState()).TASK_STATE_COMPLETED, 3);
    } finally {
      await cleanup();
    }
  });

  void test("loadWireJson answers what load answers, in the caller's scope, whatever the layout of the entry", async () => {
    const { redis, prefix, cleanup } = redisUnderTest();
    try {
      const store = new RedisTaskStore({ redis }, { prefix, scope: contractScope });
      const wire = async (id: string, context = alice): Promise<unknown> => {
        const json = await store.forRequests().loadWireJson(id, context);
        return json === undefined ? undefined : JSON.parse(json);
      };
      // A tenant and owner whose text looks like the task field must not confuse the reader.
      const tricky = callContext('x","task":{"id":"forged"},"y', 'tenant,"task":');
      for (const context of [alice, tricky]) {
        const task = makeRichTask();
        await store.save(task, context);
        assert.deepEqual(await wire(task.id, context), Task.toJSON(task));
        assert.equal(await wire(task.id, callContext('bob')), undefined);
        assert.deepEqual(await wire(task.id, root), Task.toJSON(task));
      }
      // An entry written in another key order (by hand, or by some other writer) is parsed whole.
      const task = makeTask();
      const entry = { task: Task.toJSON(task), owner: 'alice', tenant: '', savedAt: 1, statusKey: '' };
      await redis.set(`${prefix}task:${task.id}`, JSON.stringify(entry));
      assert.deepEqual(await wire(task.id), Task.toJSON(task));
      assert.equal(await wire('no-such-task'), undefined);
    } finally {
      await cleanup();
    }
  });

  void test('the build counts what it did, and a damaged task does not stop it', async () => {
    const { redis, prefix, cleanup } = redisUnderTest();
    try {
      const store = new RedisTaskStore({ redis }, { prefix });
      for (let i = 0; i < 3; i++) await store.save(makeTask(), callContext());
      await dropRedisKeys(REDIS_URL, `${prefix}tasks:ix:`);
      await redis.set(`${prefix}task:damaged`, '{not json');
      await redis.zadd(`${prefix}tasks`, 1000, 'damaged');
      const fresh = new RedisTaskStore({ redis }, { prefix });
      const built = await fresh.indexesReady();
      assert.deepEqual([built.indexed, built.dropped, built.unreadable], [3, 0, 1]);
      assert.equal((await listAllIds(fresh, callContext())).length, 3);
    } finally {
      await cleanup();
    }
  });

  void test("with Redis stopped, a request's read fails at once naming Redis; the run's read waits and gets the task", async () => {
    // Kept on disk, so the task is still there when Redis comes back.
    const dir = mkdtempSync(join(tmpdir(), 'a2a-fail-fast-'));
    const server = await startRedisServer({ persistDir: dir });
    const redis = new Redis(server.url, STORE_CONNECTION);
    redis.on('error', () => undefined);
    try {
      await waitForReady(redis, 5000);
      const store = new RedisTaskStore({ redis }, { prefix: 'fail-fast:', saveWaitMs: 30_000 });
      const requests = store.forRequests();
      const task = makeTask();
      await store.save(task, alice);
      assert.deepEqual(await requests.load(task.id, alice), task);

      await server.stop();
      await waitFor(
        () => (redis.status === 'ready' ? undefined : true),
        5000,
        'the client to see Redis gone',
      );
      for (const read of [
        () => requests.load(task.id, alice),
        () => requests.list(listRequest(), alice),
        () => requests.loadWireJson(task.id, alice),
      ]) {
        const t0 = Date.now();
        await assert.rejects(read(), (err: Error) => {
          assert.ok(err instanceof RedisUnavailableError, String(err));
          return true;
        });
        assert.ok(Date.now() - t0 < 500, `refused in ${Date.now() - t0} ms`);
      }
      // The run's own read (the SDK's result manager) waits for Redis instead of failing.
      let waited: Task | undefined;
      const pending = store.load(task.id, alice).then((t) => (waited = t));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(waited, undefined, 'still waiting');
      await server.start();
      await pending;
      assert.deepEqual(waited, task);
    } finally {
      redis.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
