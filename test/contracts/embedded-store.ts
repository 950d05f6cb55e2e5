// What the embedded stores (memory, SQLite: tasks, event streams and conversations in one place) promise
// beyond each port's own contract: retention removes a task and its events together.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { TaskState } from '@a2a-js/sdk';
import type { EmbeddedStore } from '../../src/stores/types.js';
import { callContext, makeTask } from '../helpers/tasks.js';
import { eventRecord as record, statusEvent } from './task-event-store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const alice = callContext('alice');

function isoAgo(now: number, ms: number): string {
  return new Date(now - ms).toISOString();
}

export function embeddedStoreChecks(
  name: string,
  make: () => Promise<{ store: EmbeddedStore; cleanup(): Promise<void> }>,
): void {
  void describe(`${name} store: one store for tasks and their events`, () => {
    let sut: { store: EmbeddedStore; cleanup(): Promise<void> };
    let store: EmbeddedStore;
    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    void test('purgeFinished removes the events of the tasks it removes, and only those', async () => {
      const now = Date.now();
      const old = makeTask({ state: TaskState.TASK_STATE_COMPLETED, ts: isoAgo(now, 2 * DAY) });
      const kept = makeTask({ state: TaskState.TASK_STATE_COMPLETED, ts: isoAgo(now, HOUR) });
      for (const t of [old, kept]) {
        await store.save(t, alice);
        await store.appendTaskEvent(t.id, record(1, statusEvent(t.id, TaskState.TASK_STATE_COMPLETED)), 100);
      }
      const cutoffs = { completedBefore: new Date(now - DAY), otherTerminalBefore: new Date(now - DAY) };
      assert.equal(await store.purgeFinished(cutoffs), 1);
      assert.deepEqual(await store.readTaskEvents(old.id, 0), []);
      assert.equal(await store.lastTaskEvent(old.id), undefined);
      assert.equal((await store.readTaskEvents(kept.id, 0)).length, 1);
    });
  });
}
