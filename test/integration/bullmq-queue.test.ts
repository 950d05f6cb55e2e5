import { dropRedisKeys } from '../helpers/redis-keys.js';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pino } from 'pino';
import { RunAbort } from '../../src/agents/types.js';
import {
  BullMqQueue,
  RedisUnavailableError,
  type OrphanedJob,
  type RemoteRunner,
} from '../../src/queue/bullmq-queue.js';
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
    nodeId?: string;
    onOrphan?: (job: OrphanedJob) => Promise<void>;
  },
): Promise<BullMqQueue> {
  const q = new BullMqQueue(
    {
      logger,
      ...(opts.runRemote ? { runRemote: opts.runRemote } : {}),
      ...(opts.onOrphan ? { onOrphan: opts.onOrphan } : {}),
    },
    {
      ...(opts.nodeId ? { nodeId: opts.nodeId } : {}),
      url: opts.url ?? REDIS_URL,
      prefix,
      maxConcurrent: opts.maxConcurrent,
      maxQueued: opts.maxQueued ?? 100,
      stallTimeoutMs: opts.stallTimeoutMs ?? 10_000,
    },
  );
  queues.push(q);
  await within(q.ready(), 10_000, 'the queue getting ready');
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

/** Every test of this file ends within this, so a hang fails fast with the test's name instead of eating the file's time. */
const TEST_MS = 60_000;

/** `p`, or a failure naming `what` once `ms` have passed: no wait in this file is unbounded. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
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
  await within(Promise.allSettled(queues.map((q) => q.close())), 10_000, 'closing the queues').catch(
    (err: unknown) => process.stdout.write(`# ${String(err)}\n`),
  );
  for (const prefix of prefixes) await dropRedisKeys(REDIS_URL, `${prefix}:`);
});

/** The outcome of a serialized job (submitJob resolves once Redis holds the job). */
function outcomeOf(submitted: Promise<{ outcome: Promise<unknown> }>): Promise<unknown> {
  return submitted.then((s) => s.outcome);
}

describe('BullMQ task queue (real Redis)', () => {
  test(
    'runs its own jobs with at most MAX_CONCURRENT_TASKS at once, each with its own result',
    { timeout: TEST_MS },
    async () => {
      const q = await node(newPrefix(), { maxConcurrent: 2 });
      let now = 0;
      let peak = 0;
      const results = await within(
        Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            q.submit(`t${i}-${randomUUID()}`, 10_000, async () => {
              now += 1;
              peak = Math.max(peak, now);
              await new Promise((r) => setTimeout(r, 50));
              now -= 1;
              return i * 10;
            }),
          ),
        ),
        15_000,
        'six jobs on one node',
      );
      assert.deepEqual(results, [0, 10, 20, 30, 40, 50]);
      assert.equal(peak, 2, 'two ran at once, never more');
    },
  );

  test(
    'an API node queues serialized runs that two worker nodes take, each within its concurrency',
    { timeout: TEST_MS },
    async () => {
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
      await within(
        Promise.all(ids.map((id) => outcomeOf(api.submitJob(taskJob(id))))),
        15_000,
        '30 jobs on two workers',
      );
      assert.equal(ranBy.size, 30, 'every job ran');
      const counts = [...ranBy.values()].reduce<Record<string, number>>((acc, n) => {
        acc[n] = (acc[n] ?? 0) + 1;
        return acc;
      }, {});
      assert.ok(
        (counts.a ?? 0) > 0 && (counts.b ?? 0) > 0,
        `both workers ran jobs: ${JSON.stringify(counts)}`,
      );
      assert.ok(live.peakA <= 2 && live.peakB <= 2, 'no worker ran more than its concurrency');
    },
  );

  test(
    "a worker's events reach the submitting node in order, and its return value settles the send",
    { timeout: TEST_MS },
    async () => {
      const prefix = newPrefix();
      const api = await node(prefix, { maxConcurrent: 0 });
      await node(prefix, {
        maxConcurrent: 1,
        runRemote: async (task, _signal, emit) => {
          for (let i = 1; i <= 20; i++) emit({ n: i });
          await new Promise((r) => setTimeout(r, 20));
          return { ranFor: task.taskId };
        },
      });
      const id = randomUUID();
      const heard: unknown[] = [];
      const { outcome } = await api.submitJob(taskJob(id), {}, { onEvent: (e) => heard.push(e) });
      const value = await within(outcome, 10_000, 'the job with events');
      assert.deepEqual(value, { ranFor: id });
      assert.deepEqual(
        heard,
        Array.from({ length: 20 }, (_, i) => ({ n: i + 1 })),
        'every event, once, in the order the worker emitted them, before the end',
      );
    },
  );

  test(
    'a job whose submitting node is gone ends on a worker: another node records it once; a node back under the same name too',
    { timeout: TEST_MS },
    async () => {
      const prefix = newPrefix();
      // Node "api-a" queues two jobs and stops before any worker is there (a clean stop drops its heartbeat).
      const first = await node(prefix, { maxConcurrent: 0, nodeId: 'api-a' });
      const one = randomUUID();
      const two = randomUUID();
      await first.submitJob(taskJob(one));
      await first.submitJob(taskJob(two));
      await first.close();
      const adopted: { by: string; taskId: string; value: unknown }[] = [];
      const watcher = (by: string) => (job: OrphanedJob) => {
        adopted.push({ by, taskId: job.taskId, value: job.returnValue });
        return Promise.resolve();
      };
      // Another API node, and "api-a" started again: between them, each ended job is recorded exactly once.
      await node(prefix, { maxConcurrent: 0, nodeId: 'api-b', onOrphan: watcher('api-b') });
      await node(prefix, { maxConcurrent: 0, nodeId: 'api-a', onOrphan: watcher('api-a again') });
      await node(prefix, { maxConcurrent: 2, runRemote: (task) => Promise.resolve({ ran: task.taskId }) });
      const deadline = Date.now() + 15_000;
      while (adopted.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        adopted.map((a) => a.taskId).sort(),
        [one, two].sort(),
        `each job once: ${JSON.stringify(adopted)}`,
      );
      for (const a of adopted) assert.deepEqual(a.value, { ran: a.taskId });
    },
  );

  test(
    'a send from a node that has just started is settled even when its job ends at once',
    { timeout: TEST_MS },
    async () => {
      // The outcome of a job run elsewhere comes through the queue's events; a node whose events read had not
      // started yet when its job ended used to miss it and its submitter waited forever.
      const prefix = newPrefix();
      await node(prefix, { maxConcurrent: 4, runRemote: () => Promise.resolve() });
      for (let i = 0; i < 10; i += 1) {
        const api = new BullMqQueue(
          { logger },
          { url: REDIS_URL, prefix, maxConcurrent: 0, maxQueued: 100, stallTimeoutMs: 10_000 },
        );
        queues.push(api);
        const t0 = Date.now();
        let outcome: unknown = 'not sent';
        // Sent the moment the node's connection is up, without waiting for ready().
        while (Date.now() - t0 < 5000) {
          outcome = await within(
            api.submitJob(taskJob(randomUUID())).then(
              () => 'done',
              (err: unknown) => err,
            ),
            5000,
            `the job of fresh node ${i}`,
          );
          if (!(outcome instanceof RedisUnavailableError)) break;
          await new Promise((r) => setTimeout(r, 1));
        }
        assert.equal(outcome, 'done', `the job of fresh node ${i} settled`);
        await api.close();
      }
    },
  );

  test(
    'a cancel on the API node reaches the worker node running the task',
    { timeout: TEST_MS },
    async () => {
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
      const outcome = outcomeOf(api.submitJob(taskJob(id)));
      await within(running, 10_000, 'the worker starting the task');
      assert.equal(api.cancel(id, 'stop it'), true);
      const err = await rejectionOf(outcome, 5000);
      assert.ok(seen instanceof RunAbort && seen.kind === 'canceled', 'the worker saw a cancel');
      assert.ok(err instanceof RunAbort, `the submitter sees the cancel: ${String(err)}`);
      assert.equal(err.kind, 'canceled');
      assert.equal(err.message, 'stop it');
    },
  );

  test('a task canceled while it waits never runs', { timeout: TEST_MS }, async () => {
    const prefix = newPrefix();
    const api = await node(prefix, { maxConcurrent: 0 });
    const id = randomUUID();
    const outcome = outcomeOf(api.submitJob(taskJob(id)));
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
    await within(outcomeOf(api.submitJob(taskJob(other))), 10_000, 'the task that was not canceled');
    assert.deepEqual(ran, [other], 'the worker ran only the task that was not canceled');
  });

  test(
    'a job that outlives its time is aborted with a timeout on the worker',
    { timeout: TEST_MS },
    async () => {
      const prefix = newPrefix();
      const q = await node(prefix, { maxConcurrent: 1 });
      const err = await rejectionOf(
        q.submit(
          randomUUID(),
          200,
          (signal) =>
            new Promise((_r, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason as Error)),
            ),
        ),
        5000,
      );
      assert.ok(err instanceof RunAbort && err.kind === 'timeout', String(err));
    },
  );

  test(
    'SIGKILL of the worker running a task: the task fails with the reason within the stall time',
    { timeout: TEST_MS },
    async () => {
      const prefix = newPrefix();
      const stallMs = 2000;
      const api = await node(prefix, { maxConcurrent: 0, stallTimeoutMs: stallMs });
      const child = spawnWorker(prefix, stallMs);
      try {
        const lines = createInterface({ input: child.stdout! });
        const iter = lines[Symbol.asyncIterator]();
        assert.equal((await within(iter.next(), 20_000, 'the worker process starting')).value, 'ready');
        const id = randomUUID();
        const outcome = outcomeOf(api.submitJob(taskJob(id)));
        assert.equal(
          (await within(iter.next(), 10_000, 'the worker process taking the task')).value,
          `running ${id}`,
        );
        child.kill('SIGKILL');
        await within(once(child, 'exit'), 5000, 'the killed worker exiting');
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
    },
  );

  test(
    'closing the queue while Redis is down returns within seconds (a gateway can stop on SIGTERM)',
    { timeout: TEST_MS },
    async () => {
      const server = await startRedisServer();
      try {
        const q = await node(newPrefix(), { maxConcurrent: 1, url: server.url });
        await within(server.stop(), 10_000, 'stopping Redis');
        const t0 = Date.now();
        await within(q.close(), 10_000, 'close() while Redis is down');
        assert.ok(Date.now() - t0 < 5000, `closed in ${Date.now() - t0} ms`);
      } finally {
        await server.stop();
      }
    },
  );

  test(
    'Redis down: a send is refused at once naming Redis; when it is back the queue works again',
    { timeout: TEST_MS },
    async () => {
      const server = await startRedisServer();
      try {
        const prefix = newPrefix();
        const q = await node(prefix, { maxConcurrent: 1, url: server.url });
        assert.equal(
          await within(
            q.submit(randomUUID(), 5000, () => Promise.resolve('before')),
            10_000,
            'a job before',
          ),
          'before',
        );
        await within(server.stop(), 10_000, 'stopping Redis');
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
        await within(server.start(), 10_000, 'starting Redis again');
        const back = Date.now();
        let result: unknown;
        while (Date.now() - back < 15_000) {
          try {
            result = await within(
              q.submit(randomUUID(), 5000, () => Promise.resolve('after')),
              10_000,
              'a job after Redis came back',
            );
            break;
          } catch (e) {
            if (!(e instanceof RedisUnavailableError)) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        assert.equal(result, 'after', 'the queue took and ran a task once Redis was back, with no restart');
        // A node stops while Redis is away (it used to wait for its connections to end forever).
        await within(server.stop(), 10_000, 'stopping Redis again');
        const closeAt = Date.now();
        await within(q.close(), 8000, 'closing the queue while Redis is away');
        process.stdout.write(`# closed in ${Date.now() - closeAt} ms with Redis away\n`);
      } finally {
        await server.stop();
      }
    },
  );
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
