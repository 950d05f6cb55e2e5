// The task event stream port's contract (TaskEventStore, src/stores/task-event-store.ts): one suite every
// implementation runs (memory, SQLite, Redis). Call `taskEventStoreContract(name, make)` from a test file with a
// factory of empty stores.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { TaskState, type StreamResponse } from '@a2a-js/sdk';
import type { LoggedEvent, TaskEventRecord, TaskEventStore } from '../../src/stores/task-event-store.js';
import { makeArtifact, makeMessage, makeRichTask, nextId, rawPart, textPart } from '../helpers/tasks.js';

export interface EventStoreUnderTest {
  store: TaskEventStore;
  cleanup(): Promise<void>;
}

/** Builds a fresh, empty store. */
export type MakeEventStore = () => Promise<EventStoreUnderTest>;

/** A status update of a task, as the event stream keeps it. */
export function statusEvent(taskId: string, state: TaskState, text = 'progress'): StreamResponse {
  return {
    payload: {
      $case: 'statusUpdate',
      value: {
        taskId,
        contextId: 'ctx',
        status: {
          state,
          message: makeMessage({ taskId, contextId: 'ctx', parts: [textPart(text)] }),
          timestamp: '2025-01-01T00:00:00.000Z',
        },
        metadata: undefined,
      },
    },
  };
}

export function eventRecord(seq: number, event: StreamResponse, droppable = false): TaskEventRecord {
  return { seq, droppable, event };
}

const record = eventRecord;

/** Reads `count` events from a live subscription, failing after `ms` rather than hanging. */
async function take(live: AsyncIterable<LoggedEvent>, count: number, ms = 5000): Promise<LoggedEvent[]> {
  const got: LoggedEvent[] = [];
  if (count === 0) return got;
  const iterator = live[Symbol.asyncIterator]();
  const timeout = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${count} events came`)), ms);
    timer.unref();
  });
  while (got.length < count) {
    const next = await Promise.race([iterator.next(), timeout]);
    if (next.done) break;
    got.push(next.value);
  }
  return got;
}

/** Runs the task event stream port's contract suite against the stores `make` builds (one per test). */
export function taskEventStoreContract(name: string, make: MakeEventStore): void {
  void describe(`${name} store: task event stream port (TaskEventStore) contract`, () => {
    let sut: EventStoreUnderTest;
    let store: TaskEventStore;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    void test('events round trip in seq order, a Task snapshot with every part kind included', async () => {
      const task = makeRichTask();
      const events = [
        record(1, { payload: { $case: 'task', value: task } }),
        record(2, statusEvent(task.id, TaskState.TASK_STATE_WORKING, 'started')),
        record(3, statusEvent(task.id, TaskState.TASK_STATE_WORKING), true),
        record(5, {
          payload: {
            $case: 'artifactUpdate',
            value: {
              taskId: task.id,
              contextId: task.contextId,
              artifact: makeArtifact([textPart('result'), rawPart(Buffer.from([0, 1, 2]))]),
              append: false,
              lastChunk: true,
              metadata: undefined,
            },
          },
        }),
        record(6, statusEvent(task.id, TaskState.TASK_STATE_COMPLETED, 'done')),
      ];
      for (const e of events) await store.appendTaskEvent(task.id, e, 100);
      assert.deepEqual(await store.readTaskEvents(task.id, 0), events);
      assert.deepEqual(await store.readTaskEvents(task.id, 3), events.slice(3));
      assert.deepEqual(await store.readTaskEvents(task.id, 6), []);
      assert.deepEqual(await store.lastTaskEvent(task.id), events[4]);
      const read = await store.readTaskEvents(task.id, 4);
      const raw =
        read[0]?.event.payload?.$case === 'artifactUpdate' ? read[0].event.payload.value : undefined;
      assert.ok(Buffer.isBuffer(raw?.artifact?.parts[1]?.content?.value), 'raw bytes come back as a Buffer');
    });

    void test('each task has its own log, and a task without events has none', async () => {
      await store.appendTaskEvent('t-a', record(1, statusEvent('t-a', TaskState.TASK_STATE_WORKING)), 100);
      await store.appendTaskEvent('t-b', record(1, statusEvent('t-b', TaskState.TASK_STATE_FAILED)), 100);
      assert.equal((await store.readTaskEvents('t-a', 0)).length, 1);
      assert.equal((await store.lastTaskEvent('t-b'))?.event.payload?.$case, 'statusUpdate');
      assert.deepEqual(await store.readTaskEvents('t-none', 0), []);
      assert.equal(await store.lastTaskEvent('t-none'), undefined);
    });

    void test('a seq the task already has is refused and the log is left as it was', async () => {
      const id = nextId();
      await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING, 'a')), 100);
      await assert.rejects(
        store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING, 'b')), 100),
      );
      const log = await store.readTaskEvents(id, 0);
      assert.equal(log.length, 1);
      const status = log[0]?.event.payload?.$case === 'statusUpdate' ? log[0].event.payload.value : undefined;
      assert.equal(status?.status?.message?.parts[0]?.content?.value, 'a');
    });

    void test('over the bound the oldest droppable events go; state changes stay even past it', async () => {
      const id = nextId();
      const limit = 5;
      await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_SUBMITTED)), limit);
      await store.appendTaskEvent(id, record(2, statusEvent(id, TaskState.TASK_STATE_WORKING)), limit);
      for (let seq = 3; seq <= 12; seq++) {
        await store.appendTaskEvent(
          id,
          record(seq, statusEvent(id, TaskState.TASK_STATE_WORKING), true),
          limit,
        );
      }
      assert.deepEqual(
        (await store.readTaskEvents(id, 0)).map((r) => r.seq),
        [1, 2, 10, 11, 12],
      );
      for (let seq = 13; seq <= 17; seq++) {
        await store.appendTaskEvent(
          id,
          record(seq, statusEvent(id, TaskState.TASK_STATE_INPUT_REQUIRED)),
          limit,
        );
      }
      // Only non-droppable events are left, more of them than the bound.
      assert.deepEqual(
        (await store.readTaskEvents(id, 0)).map((r) => r.seq),
        [1, 2, 13, 14, 15, 16, 17],
      );
      assert.equal((await store.lastTaskEvent(id))?.seq, 17);
    });

    void test('the newest event stays however far over the bound: the last seq stored is the last appended', async () => {
      const id = nextId();
      const limit = 3;
      await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_SUBMITTED)), limit);
      await store.appendTaskEvent(id, record(2, statusEvent(id, TaskState.TASK_STATE_WORKING)), limit);
      await store.appendTaskEvent(id, record(3, statusEvent(id, TaskState.TASK_STATE_INPUT_REQUIRED)), limit);
      // Over the bound with only non-droppable events before it: the droppable one just appended is kept.
      await store.appendTaskEvent(id, record(4, statusEvent(id, TaskState.TASK_STATE_WORKING), true), limit);
      assert.equal((await store.lastTaskEvent(id))?.seq, 4);
      // The next one is newest now: the one before it goes, as the oldest droppable.
      await store.appendTaskEvent(id, record(5, statusEvent(id, TaskState.TASK_STATE_WORKING), true), limit);
      assert.deepEqual(
        (await store.readTaskEvents(id, 0)).map((r) => r.seq),
        [1, 2, 3, 5],
      );
      assert.equal((await store.lastTaskEvent(id))?.seq, 5);
      // The sequence goes on from it: a seq at or below it is refused.
      await assert.rejects(
        store.appendTaskEvent(id, record(5, statusEvent(id, TaskState.TASK_STATE_WORKING), true), limit),
      );
    });

    void test('read events are copies', async () => {
      const id = nextId();
      await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING, 'a')), 100);
      const [first] = await store.readTaskEvents(id, 0);
      if (first?.event.payload?.$case === 'statusUpdate') first.event.payload.value.taskId = 'changed';
      const [again] = await store.readTaskEvents(id, 0);
      assert.equal(again?.event.payload?.$case === 'statusUpdate' && again.event.payload.value.taskId, id);
    });

    void describe('live subscribe', () => {
      void test('a subscriber hears the events appended after it began, in seq order, and not the earlier ones', async () => {
        const id = nextId();
        await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_SUBMITTED)), 100);
        const live = await store.subscribeTaskEvents(id);
        const other = await store.subscribeTaskEvents(nextId());
        try {
          await store.appendTaskEvent(id, record(2, statusEvent(id, TaskState.TASK_STATE_WORKING, 'a')), 100);
          await store.appendTaskEvent(id, record(3, statusEvent(id, TaskState.TASK_STATE_WORKING, 'b')), 100);
          await store.appendTaskEvent(id, record(4, statusEvent(id, TaskState.TASK_STATE_COMPLETED)), 100);
          const got = await take(live, 3);
          assert.deepEqual(
            got.map((e) => e.seq),
            [2, 3, 4],
          );
          assert.deepEqual(
            got.map((e) => e.event),
            (await store.readTaskEvents(id, 1)).map((r) => r.event),
          );
        } finally {
          live.close();
          other.close();
        }
        // Another task's subscriber heard nothing, and a closed subscription ends.
        assert.deepEqual(await take(other, 1, 1000), []);
      });

      void test('subscribe, then read from a seq: every event is seen exactly once while appends go on', async () => {
        const id = nextId();
        const total = 60;
        let seq = 0;
        const append = async (n: number): Promise<void> => {
          for (let i = 0; i < n; i++) {
            seq += 1;
            await store.appendTaskEvent(id, record(seq, statusEvent(id, TaskState.TASK_STATE_WORKING)), 1000);
          }
        };
        await append(20);
        const live = await store.subscribeTaskEvents(id);
        try {
          const appending = append(total - 20);
          const seen = (await store.readTaskEvents(id, 0)).map((r) => r.seq);
          const lastRead = seen.at(-1) ?? 0;
          await appending;
          const rest = await take(live, total - 20);
          seen.push(...rest.map((e) => e.seq).filter((s) => s > lastRead));
          assert.deepEqual(
            seen,
            Array.from({ length: total }, (_, i) => i + 1),
          );
        } finally {
          live.close();
        }
      });

      void test('several subscribers each hear every event; close() and an aborted signal end a subscription', async () => {
        const id = nextId();
        const controller = new AbortController();
        const a = await store.subscribeTaskEvents(id);
        const b = await store.subscribeTaskEvents(id, controller.signal);
        const c = await store.subscribeTaskEvents(id, AbortSignal.abort());
        await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING)), 100);
        assert.deepEqual(
          (await take(a, 1)).map((e) => e.seq),
          [1],
        );
        assert.deepEqual(
          (await take(b, 1)).map((e) => e.seq),
          [1],
        );
        controller.abort();
        a.close();
        await store.appendTaskEvent(id, record(2, statusEvent(id, TaskState.TASK_STATE_COMPLETED)), 100);
        // Ended subscriptions finish their iteration instead of waiting for more.
        assert.deepEqual(await take(a, 1), []);
        assert.deepEqual(await take(b, 1), []);
        assert.deepEqual(await take(c, 1), []);
      });

      void test('a refused append is not heard by subscribers', async () => {
        const id = nextId();
        await store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING, 'a')), 100);
        const live = await store.subscribeTaskEvents(id);
        try {
          await assert.rejects(
            store.appendTaskEvent(id, record(1, statusEvent(id, TaskState.TASK_STATE_WORKING, 'b')), 100),
          );
          await store.appendTaskEvent(id, record(2, statusEvent(id, TaskState.TASK_STATE_COMPLETED)), 100);
          assert.deepEqual(
            (await take(live, 1)).map((e) => e.seq),
            [2],
          );
        } finally {
          live.close();
        }
      });
    });
  });
}
