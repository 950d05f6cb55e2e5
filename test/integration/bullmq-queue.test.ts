import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RunAbort } from '../../src/agents/types.js';
import { BullMqQueue, RedisUnavailableError, type RemoteRunner } from '../../src/queue/bullmq-queue.js';
import type { TaskJob } from '../../src/queue/job.js';
import { REPO_ROOT } from '../helpers/gateway.js';
import { startRedisServer } from '../helpers/redis-server.js';

// The redis engineer's database on the shared Redis (127.0.0.1:6379, dbs 4-7); each test has its own prefix.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/4';
const logger = pino({ level: 'silent' });
const queues: BullMqQueue[] = [];
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = `a2a-test-redis:${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
}

async function node(
  prefix: string,
  opts: {
    maxConcurrent: number;
    maxQueued?: number;
    stallTimeoutMs?: number;
    runRemote?: RemoteRunner;
    url?: string;
  },
): Promise<BullMqQueue> {
  const q = new BullMqQueue(
    { logger, ...(opts.runRemote ? { runRemote: opts.runRemote } : {}) },
    {
      url: opts.url ?? REDIS_URL,
      prefix,
      maxConcurrent: opts.maxConcurrent,
      maxQueued: opts.maxQueued ?? 100,
      stallTimeoutMs: opts.stallTimeoutMs ?? 10_000,
    },
  );
  queues.push(q);
  await q.ready();
  return q;
}

function taskJob(taskId: string, timeoutMs = 30_000): TaskJob {
  return {
    taskId,
    contextId: 'ctx',
    owner: 'o',
    tenant: '',
    skill: 'code',
    backend: 'fake',
    input: {},
    prompt: 'p',
    timeoutMs,
    workspace: { commit: false, apply: false },
    request: 'r',
    meta: {},
  };
}

/** Resolves with the rejection of `p` (fails the test if it resolves), bounded by `ms`. */
async function rejectionOf(p: Promise<unknown>, ms: number): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, bound]);
  } catch (err) {
    if ((err as Error).message === `still pending after ${ms} ms`) throw err;
    return err as Error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a rejection');
}

after(async () => {
  await Promise.allSettled(queues.map((q) => q.close()));
  const redis = new Redis(REDIS_URL);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('BullMQ task queue (real Redis)', () => {
  test('runs its own jobs with at most MAX_CONCURRENT_TASKS at once, each with its own result', async () => {
    const q = await node(newPrefix(), { maxConcurrent: 2 });
    let now = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        q.submit(`t${i}-${randomUUID()}`, 10_000, async () => {
          now += 1;
          peak = Math.max(peak, now);
          await new Promise((r) => setTimeout(r, 50));
          now -= 1;
          return i * 10;
        }),
      ),
    );
    assert.deepEqual(results, [0, 10, 20, 30, 40, 50]);
    assert.equal(peak, 2, 'two ran at once, never more');
  });

  test('an API node queues serialized runs that two worker nodes take, each within its concurrency', async () => {
    const prefix = newPrefix();
    const ranBy = new Map<string, string>();
    const live = { a: 0, b: 0, peakA: 0, peakB: 0 };
    const runner =
      (name: 'a' | 'b'): RemoteRunner =>
      async (task) => {
        ranBy.set(task.taskId, name);
        live[name] += 1;
        if (name === 'a') live.peakA = Math.max(live.peakA, live.a);
        else live.peakB = Math.max(live.peakB, live.b);
        await new Promise((r) => setTimeout(r, 30));
        live[name] -= 1;
      };
    const api = await node(prefix, { maxConcurrent: 0 });
    await node(prefix, { maxConcurrent: 2, runRemote: runner('a') });
    await node(prefix, { maxConcurrent: 2, runRemote: runner('b') });
    const ids = Array.from({ length: 30 }, () => randomUUID());
    await Promise.all(ids.map((id) => api.submitJob(taskJob(id))));
    assert.equal(ranBy.size, 30, 'every job ran');
    const counts = [...ranBy.values()].reduce<Record<string, number>>((acc, n) => {
      acc[n] = (acc[n] ?? 0) + 1;
      return acc;
    }, {});
    assert.ok((counts.a ?? 0) > 0 && (counts.b ?? 0) > 0, `both workers ran jobs: ${JSON.stringify(counts)}`);
    assert.ok(live.peakA <= 2 && live.peakB <= 2, 'no worker ran more than its concurrency');
  });

  test('a cancel on the API node reaches the worker node running the task', async () => {
    const prefix = newPrefix();
    const api = await node(prefix, { maxConcurrent: 0 });
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let seen: unknown;
    await node(prefix, {
      maxConcurrent: 1,
      runRemote: (_task, signal) =>
        new Promise<void>((_resolve, reject) => {
          started();
          signal.addEventListener('abort', () => {
            seen = signal.reason;
            reject(signal.reason as Error);
          });
        }),
    });
    const id = randomUUID();
    const outcome = api.submitJob(taskJob(id));
    await running;
    assert.equal(api.cancel(id, 'stop it'), true);
    const err = await rejectionOf(outcome, 5000);
    assert.ok(seen instanceof RunAbort && seen.kind === 'canceled', 'the worker saw a cancel');
    assert.ok(err instanceof RunAbort, `the submitter sees the cancel: ${String(err)}`);
    assert.equal(err.kind, 'canceled');
    assert.equal(err.message, 'stop it');
  });

  test('a task canceled while it waits never runs', async () => {
    const prefix = newPrefix();
    const api = await node(prefix, { maxConcurrent: 0 });
    const id = randomUUID();
    const outcome = api.submitJob(taskJob(id));
    api.cancel(id);
    const err = await rejectionOf(outcome, 5000);
    assert.ok(err instanceof RunAbort && err.kind === 'canceled', String(err));
    const ran: string[] = [];
    await node(prefix, {
      maxConcurrent: 1,
      runRemote: (task) => {
        ran.push(task.taskId);
        return Promise.resolve();
      },
    });
    const other = randomUUID();
    await api.submitJob(taskJob(other));
    assert.deepEqual(ran, [other], 'the worker ran only the task that was not canceled');
  });

  test('a job that outlives its time is aborted with a timeout on the worker', async () => {
    const prefix = newPrefix();
    const q = await node(prefix, { maxConcurrent: 1 });
    const err = await rejectionOf(
      q.submit(
        randomUUID(),
        200,
        (signal) =>
          new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
      ),
      5000,
    );
    assert.ok(err instanceof RunAbort && err.kind === 'timeout', String(err));
  });

  test('SIGKILL of the worker running a task: the task fails with the reason within the stall time', async () => {
    const prefix = newPrefix();
    const stallMs = 2000;
    const api = await node(prefix, { maxConcurrent: 0, stallTimeoutMs: stallMs });
    const child = spawnWorker(prefix, stallMs);
    try {
      const lines = createInterface({ input: child.stdout! });
      const iter = lines[Symbol.asyncIterator]();
      assert.equal((await iter.next()).value, 'ready');
      const id = randomUUID();
      const outcome = api.submitJob(taskJob(id));
      assert.equal((await iter.next()).value, `running ${id}`);
      child.kill('SIGKILL');
      await once(child, 'exit');
      const killedAt = Date.now();
      // Another worker node is alive: BullMQ's stalled-job check runs there.
      await node(prefix, { maxConcurrent: 1, stallTimeoutMs: stallMs, runRemote: () => Promise.resolve() });
      const err = await rejectionOf(outcome, stallMs * 4);
      const tookMs = Date.now() - killedAt;
      assert.match(err.message, /worker running the task stopped answering/);
      assert.ok(tookMs <= stallMs * 2, `failed ${tookMs} ms after the kill (stall time ${stallMs} ms)`);
      process.stdout.write(`# stalled task failed ${tookMs} ms after SIGKILL (stall time ${stallMs} ms)\n`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('closing the queue while Redis is down returns within seconds (a gateway can stop on SIGTERM)', async () => {
    const server = await startRedisServer();
    try {
      const q = await node(newPrefix(), { maxConcurrent: 1, url: server.url });
      await server.stop();
      const t0 = Date.now();
      const closed = await Promise.race([
        q.close().then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
      ]);
      assert.ok(closed, 'close() returned while Redis was down');
      assert.ok(Date.now() - t0 < 5000, `closed in ${Date.now() - t0} ms`);
    } finally {
      await server.stop();
    }
  });

  test('Redis down: a send is refused at once naming Redis; when it is back the queue works again', async () => {
    const server = await startRedisServer();
    let opened: BullMqQueue | undefined;
    try {
      const prefix = newPrefix();
      const q = await node(prefix, { maxConcurrent: 1, url: server.url });
      opened = q;
      assert.equal(await q.submit(randomUUID(), 5000, () => Promise.resolve('before')), 'before');
      await server.stop();
      const t0 = Date.now();
      while (Date.now() - t0 < 5000) {
        try {
          q.reserve().release();
        } catch (err) {
          if (err instanceof RedisUnavailableError) break;
          throw err;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const refusedAt = Date.now();
      assert.throws(
        () => q.reserve(),
        (err: unknown) => err instanceof RedisUnavailableError && /Redis/.test(err.message),
      );
      const err = await rejectionOf(
        q.submit(randomUUID(), 5000, () => Promise.resolve('during')),
        1000,
      );
      assert.ok(err instanceof RedisUnavailableError, String(err));
      assert.ok(Date.now() - refusedAt < 1000, 'refused at once');
      await server.start();
      const back = Date.now();
      let result: unknown;
      while (Date.now() - back < 15_000) {
        try {
          result = await q.submit(randomUUID(), 5000, () => Promise.resolve('after'));
          break;
        } catch (e) {
          if (!(e instanceof RedisUnavailableError)) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.equal(result, 'after', 'the queue took and ran a task once Redis was back, with no restart');
    } finally {
      await opened?.close();
      await server.stop();
    }
  });
});

function spawnWorker(prefix: string, stallMs: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/fixtures/queue/worker-node.ts')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      QUEUE_REDIS_URL: REDIS_URL,
      QUEUE_PREFIX: prefix,
      QUEUE_STALL_MS: String(stallMs),
    },
  });
}
