import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RunAbort } from '../../src/agents/types.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { QueueFullError, SchedulerClosedError } from '../../src/queue/task-queue.js';

/** A job that runs until `finish` is called (or its signal aborts). */
function gate(): {
  job: (signal: AbortSignal) => Promise<string>;
  finish: () => void;
  started: Promise<void>;
} {
  let finish!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  const done = new Promise<void>((r) => {
    finish = r;
  });
  return {
    job: (signal) => {
      markStarted();
      return new Promise((resolve, reject) => {
        void done.then(() => resolve('ok'));
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    },
    finish,
    started,
  };
}

describe('InProcessQueue (the TaskQueue port, in process)', () => {
  test('reserve holds places: with 1 running + 1 waiting allowed, a third reservation is refused until one is released', () => {
    const queue = new InProcessQueue({ maxConcurrent: 1, maxQueued: 1 });
    const a = queue.reserve();
    queue.reserve();
    assert.throws(() => queue.reserve(), QueueFullError);
    assert.equal(queue.stats().reserved, 2);
    a.release();
    a.release(); // once only
    assert.equal(queue.stats().reserved, 1);
    queue.reserve();
    assert.ok(queue.isFull());
  });

  test('a submission with its reservation is never refused; one without is refused when full; an owed one always goes in', async () => {
    const queue = new InProcessQueue({ maxConcurrent: 1, maxQueued: 0 });
    const held = queue.reserve();
    const first = gate();
    const running = queue.submit('a', 10_000, first.job, { reservation: held });
    await first.started;
    await assert.rejects(queue.submit('b', 10_000, gate().job), QueueFullError);
    const owed = gate();
    const queued = queue.submit('c', 10_000, owed.job, { owed: true });
    assert.deepEqual(
      { running: queue.stats().running, queued: queue.stats().queued, reserved: queue.stats().reserved },
      { running: 1, queued: 1, reserved: 0 },
    );
    first.finish();
    assert.equal(await running, 'ok');
    await owed.started;
    owed.finish();
    assert.equal(await queued, 'ok');
  });

  test('drain gives back waiting jobs as shutdown, lets running ones finish, then refuses new work', async () => {
    const queue = new InProcessQueue({ maxConcurrent: 1, maxQueued: 5 });
    const first = gate();
    const running = queue.submit('a', 10_000, first.job);
    await first.started;
    const waiting = queue.submit('b', 10_000, gate().job);
    const drained = queue.drain(5000, 1000, 'stopping');
    await assert.rejects(waiting, (err: unknown) => err instanceof RunAbort && err.kind === 'shutdown');
    first.finish();
    assert.deepEqual(await drained, { aborted: 0 });
    assert.equal(await running, 'ok');
    assert.throws(() => queue.reserve(), SchedulerClosedError);
  });

  test('drain aborts what is still running when its time is up, with the reason', async () => {
    const queue = new InProcessQueue({ maxConcurrent: 1, maxQueued: 0 });
    const stuck = gate();
    const running = queue.submit('a', 10_000, stuck.job);
    await stuck.started;
    assert.deepEqual(await queue.drain(50, 1000, 'stopping now'), { aborted: 1 });
    await assert.rejects(
      running,
      (err: unknown) => err instanceof RunAbort && err.message === 'stopping now',
    );
  });
});
