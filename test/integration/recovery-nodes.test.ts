// Start-up recovery on a task store several nodes share (issue 11): a node that restarts settles only the tasks
// it ran, never a task another node is running. Real Redis on 127.0.0.1 (db 6), under a prefix removed after.
import { dropRedisKeys } from '../helpers/redis-keys.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { TaskState, type Task } from '@a2a-js/sdk';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { TaskEventLog } from '../../src/events/task-event-log.js';
import { MemoryJobStore } from '../../src/queue/job-store.js';
import { agentMessage, newTask, textPart } from '../../src/service/a2a.js';
import { markNode, settleUnfinished } from '../../src/service/recovery.js';
import { RedisEventStore } from '../../src/stores/redis-event-store.js';
import { RedisTaskStore } from '../../src/stores/redis-task-store.js';

const REDIS_URL = process.env.TEST_RECOVERY_NODES_REDIS_URL ?? 'redis://127.0.0.1:6379/6';
const logger = pino({ level: 'silent' });

function working(id: string, meta: Record<string, unknown>): Task {
  const task = newTask(id, 'ctx', [agentMessage(id, 'ctx', [textPart('go')])], { skill: 'fix_bug', ...meta });
  return {
    ...task,
    status: {
      state: TaskState.TASK_STATE_WORKING,
      message: agentMessage(id, 'ctx', [textPart('working')]),
      timestamp: new Date().toISOString(),
    },
  };
}

describe('start-up recovery on a shared store', () => {
  test('a restarting node fails only the tasks it ran; another node’s running task is left working', async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = `a2a-test-recovery-nodes:${randomUUID().slice(0, 8)}:`;
    try {
      const store = new RedisTaskStore({ redis }, { prefix });
      const events = new TaskEventLog(
        { store: new RedisEventStore({ redis }, { prefix, finishedTtlMs: 60_000, blockMs: 1000 }), logger },
        { limit: 100 },
      );
      await store.put(working('mine', markNode('node-a')));
      await store.put(working('theirs', markNode('node-b')));
      // Node A's own job list (its local job store) knows only its own task, which was running.
      const jobs = new MemoryJobStore();
      const reason = 'interrupted: gateway restarted';
      const owed = await settleUnfinished(
        { store, events, jobs, logger },
        { reason, retryOnRestart: () => false, node: 'node-a' },
      );
      assert.deepEqual(owed, []);
      const mine = await store.get('mine');
      assert.equal(mine?.status?.state, TaskState.TASK_STATE_FAILED);
      assert.match(JSON.stringify(mine?.status?.message), /gateway restarted/);
      assert.equal((await store.get('theirs'))?.status?.state, TaskState.TASK_STATE_WORKING);
      assert.deepEqual(
        (await store.listUnfinished()).map((t) => t.id),
        ['theirs'],
      );

      // A store of its own (no node given, the single-node gateway): every unfinished task is settled.
      await settleUnfinished({ store, events, jobs, logger }, { reason, retryOnRestart: () => false });
      assert.equal((await store.get('theirs'))?.status?.state, TaskState.TASK_STATE_FAILED);
    } finally {
      await dropRedisKeys(REDIS_URL, prefix);
      redis.disconnect();
    }
  });
});
