// The conversations port's contract (ConversationStore, src/stores/conversation-store.ts): one suite every
// implementation runs (memory, SQLite, Redis). Call `conversationStoreContract(name, make)` from a test file with a
// factory of empty stores.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ConversationLock, ConversationStore } from '../../src/stores/conversation-store.js';
import { nextId } from '../helpers/tasks.js';

export interface ConversationStoreUnderTest {
  store: ConversationStore;
  cleanup(): Promise<void>;
}

/** Builds a fresh, empty store. */
export type MakeConversationStore = () => Promise<ConversationStoreUnderTest>;

/** Whether `promise` settles within `ms` (a lock that should still be held does not). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the conversations port's contract suite against the stores `make` builds (one per test). */
export function conversationStoreContract(name: string, make: MakeConversationStore): void {
  void describe(`${name} store: conversations port (ConversationStore) contract`, () => {
    let sut: ConversationStoreUnderTest;
    let store: ConversationStore;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    void test('context sessions are upserted per context and returned as copies', async () => {
      assert.equal(await store.getContextSession('ctx-1'), undefined);
      const first = {
        contextId: 'ctx-1',
        backend: 'claude',
        sessionId: 'sess-1',
        workdir: '/srv/repo',
        updatedAt: '2025-01-01T00:00:00.000Z',
      };
      await store.setContextSession(first);
      const got = await store.getContextSession('ctx-1');
      assert.deepEqual(got, first);
      got.sessionId = 'mutated';
      assert.deepEqual(await store.getContextSession('ctx-1'), first);

      const second = {
        contextId: 'ctx-1',
        backend: 'droid',
        sessionId: 'sess-2',
        updatedAt: '2025-01-02T00:00:00.000Z',
      };
      await store.setContextSession(second);
      assert.deepEqual(await store.getContextSession('ctx-1'), second);
      await store.setContextSession({ ...first, contextId: 'ctx-2' });
      assert.deepEqual(await store.getContextSession('ctx-1'), second);
      assert.equal((await store.getContextSession('ctx-2'))?.backend, 'claude');
    });

    void test('a second turn of a conversation waits for the first to release it; other conversations do not wait', async () => {
      const id = nextId();
      const first = await store.lockConversation(id);
      const second = store.lockConversation(id);
      assert.equal(await settlesWithin(second, 200), false, 'the second turn waits');
      const elsewhere = await store.lockConversation(nextId());
      await elsewhere.release();
      await first.release();
      const held = await second;
      await held.release();
      // Released twice is released once: the next turn is not let in early by a stray second release.
      await held.release();
      const third = await store.lockConversation(id);
      await third.release();
    });

    void test('waiting turns get the lock in the order they asked', async () => {
      const id = nextId();
      const order: number[] = [];
      const first = await store.lockConversation(id);
      const waiting = [1, 2, 3].map((n) =>
        store.lockConversation(id).then(async (lock: ConversationLock) => {
          order.push(n);
          await lock.release();
        }),
      );
      await first.release();
      await Promise.all(waiting);
      assert.deepEqual(order, [1, 2, 3]);
    });

    void test('an aborted wait rejects with its reason, never holds the lock and lets the next turn in after the holder', async () => {
      const id = nextId();
      const holder = await store.lockConversation(id);
      const controller = new AbortController();
      const abandoned = store.lockConversation(id, controller.signal);
      const next = store.lockConversation(id);
      controller.abort(new Error('caller went away'));
      await assert.rejects(abandoned, /caller went away/);
      assert.equal(await settlesWithin(next, 200), false, 'the holder still holds it');
      await holder.release();
      const lock = await next;
      await lock.release();
      await assert.rejects(
        store.lockConversation(id, AbortSignal.abort(new Error('already gone'))),
        /already gone/,
      );
      await (await store.lockConversation(id)).release();
    });
  });
}
