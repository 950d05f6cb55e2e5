// The store ports' contract suites on Redis (the redis engineer's database 5 on the shared 127.0.0.1:6379),
// each store under a prefix of its own that is removed after the test.
import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import { Redis } from 'ioredis';
import { eventRecord, statusEvent, taskEventStoreContract } from '../contracts/task-event-store.js';
import { nextId } from '../helpers/tasks.js';
import { RedisEventStore } from '../../src/stores/redis-event-store.js';
import { RedisConversationStore } from '../../src/stores/redis-conversation-store.js';
import { conversationStoreContract } from '../contracts/conversation-store.js';
import { pushConfigStoreContract } from '../contracts/push-config-store.js';
import { RedisPushConfigStore } from '../../src/push/redis-store.js';
import { taskStoreContract } from '../contracts/task-store.js';
import { RedisTaskStore } from '../../src/stores/redis-task-store.js';

const REDIS_URL = process.env.TEST_REDIS_STORES_URL ?? 'redis://127.0.0.1:6379/5';

/** A client and a fresh prefix; cleanup deletes every key under the prefix and disconnects. */
function redisUnderTest(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  const redis = new Redis(REDIS_URL);
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
