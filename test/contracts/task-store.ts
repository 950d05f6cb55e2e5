// The tasks port's contract (GatewayTaskStore, src/stores/task-store.ts): one suite every implementation runs
// (memory, SQLite, Redis). Call `taskStoreContract(name, make)` from a test file with a factory of empty stores.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { TaskState, taskStateToJSON, type ListTasksRequest, type Task } from '@a2a-js/sdk';
import type { ServerCallContext } from '@a2a-js/sdk/server';
import { anonymousScope, type GatewayTaskStore, type ScopeResolver } from '../../src/stores/task-store.js';
import {
  callContext,
  makeArtifact,
  makeMessage,
  makeRichTask,
  makeTask,
  nextId,
  rawPart,
  textPart,
} from '../helpers/tasks.js';

export interface StoreUnderTest {
  store: GatewayTaskStore;
  cleanup(): Promise<void>;
}

/**
 * Builds a fresh, empty store. The contract passes the scope resolver it needs; a factory that ignores its
 * argument still type-checks, but then the admin tests fail.
 */
export type MakeStore = (opts: { scope?: ScopeResolver }) => Promise<StoreUnderTest>;

/** The contract's callers: `anonymousScope`, plus the user `root` as admin. */
export const contractScope: ScopeResolver = (context) => ({
  ...anonymousScope(context),
  admin: context.user?.userName === 'root',
});

const alice = callContext('alice');
const bob = callContext('bob');
const root = callContext('root');
const anonymous = callContext();

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A ListTasksRequest with the SDK's "no filter" values, overridden by `fields`. */
export function listRequest(fields: Partial<ListTasksRequest> = {}): ListTasksRequest {
  return {
    tenant: '',
    contextId: '',
    status: TaskState.TASK_STATE_UNSPECIFIED,
    pageToken: '',
    statusTimestampAfter: undefined,
    ...fields,
  };
}

/** Every task id the caller can list, following page tokens, newest first. */
export async function listAllIds(
  store: GatewayTaskStore,
  context: ServerCallContext,
  fields: Partial<ListTasksRequest> = {},
): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = '';
  for (let page = 0; page < 1000; page++) {
    const response = await store.list(listRequest({ pageSize: 100, ...fields, pageToken }), context);
    ids.push(...response.tasks.map((t) => t.id));
    if (!response.nextPageToken) return ids;
    pageToken = response.nextPageToken;
  }
  throw new Error('paging did not end');
}

function isoAgo(now: number, ms: number): string {
  return new Date(now - ms).toISOString();
}

/** Runs the tasks port's contract suite against the stores `make` builds (one fresh store per test). */
export function taskStoreContract(name: string, make: MakeStore): void {
  void describe(`${name} store: tasks port (GatewayTaskStore) contract`, () => {
    let sut: StoreUnderTest;
    let store: GatewayTaskStore;

    beforeEach(async () => {
      sut = await make({ scope: contractScope });
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    void describe('save and load', () => {
      void test('a task round trips with history, artifacts of every part kind, metadata and status message', async () => {
        const task = makeRichTask();
        await store.save(task, alice);
        const loaded = await store.load(task.id, alice);
        assert.deepEqual(loaded, task);
        assert.deepEqual(await store.get(task.id), task);
        const raw = loaded?.artifacts[0]?.parts[2]?.content;
        assert.ok(raw?.$case === 'raw');
        assert.ok(Buffer.isBuffer(raw.value), 'raw part bytes come back as a Buffer');
      });

      void test('a bare task (no status, context id or metadata) round trips', async () => {
        const task: Task = {
          id: nextId(),
          contextId: '',
          status: undefined,
          artifacts: [],
          history: [],
          metadata: undefined,
        };
        await store.save(task, alice);
        assert.deepEqual(await store.load(task.id, alice), task);
      });

      void test('a task with a 1 MB artifact round trips', async () => {
        const bytes = randomBytes(1024 * 1024);
        const text = 'x'.repeat(1024 * 1024);
        const task = makeTask({ artifacts: [makeArtifact([rawPart(bytes), textPart(text)])] });
        await store.save(task, alice);
        const loaded = await store.load(task.id, alice);
        assert.deepEqual(loaded, task);
      });

      void test('saving again replaces the stored task', async () => {
        const task = makeTask({ state: TaskState.TASK_STATE_WORKING });
        await store.save(task, alice);
        const done = {
          ...task,
          status: {
            state: TaskState.TASK_STATE_COMPLETED,
            message: undefined,
            timestamp: new Date().toISOString(),
          },
          artifacts: [makeArtifact([textPart('result')])],
        };
        await store.save(done, alice);
        assert.deepEqual(await store.load(task.id, alice), done);
      });

      void test('an unknown id is undefined', async () => {
        assert.equal(await store.load('no-such-task', alice), undefined);
        assert.equal(await store.get('no-such-task'), undefined);
      });

      void test('callers get copies: mutating a saved or returned task does not change the store', async () => {
        const task = makeRichTask();
        const pristine = structuredClone(task);
        await store.save(task, alice);
        task.metadata!.skill = 'changed after save';
        task.history.pop();

        const loaded = (await store.load(task.id, alice))!;
        loaded.status!.state = TaskState.TASK_STATE_FAILED;
        loaded.artifacts.push(makeArtifact([textPart('injected')]));
        loaded.history[0]!.parts.push(textPart('injected'));
        loaded.metadata!.skill = 'changed after load';
        const got = (await store.get(task.id))!;
        got.artifacts.length = 0;
        const listed = (await store.list(listRequest({ includeArtifacts: true }), alice)).tasks[0]!;
        listed.metadata!.nested = null;

        const again = await store.load(task.id, alice);
        assert.deepEqual(again?.metadata, pristine.metadata);
        assert.deepEqual(again?.history.length, pristine.history.length);
        assert.deepEqual(again?.status, pristine.status);
        assert.deepEqual(
          again?.artifacts.map((a) => a.parts.length),
          [4],
        );
      });
    });

    void describe('scoping', () => {
      void test("another owner can neither load nor list a task; an admin and the gateway's get() can", async () => {
        const task = makeTask();
        await store.save(task, alice);
        assert.equal(await store.load(task.id, bob), undefined);
        assert.equal(await store.load(task.id, anonymous), undefined);
        const bobs = await store.list(listRequest(), bob);
        assert.deepEqual(bobs.tasks, []);
        assert.equal(bobs.totalSize, 0);

        assert.deepEqual(await store.load(task.id, root), task);
        assert.deepEqual(await listAllIds(store, root), [task.id]);
        assert.deepEqual(await store.get(task.id), task);
      });

      void test("findByMessageId finds the task a message created, in the caller's own scope only", async () => {
        const task = makeTask({ history: [makeMessage({ messageId: 'retry-me' })] });
        await store.save(task, callContext('alice', 'tenant-1'));
        assert.equal(
          (await store.findByMessageId('retry-me', callContext('alice', 'tenant-1')))?.id,
          task.id,
        );
        assert.equal(await store.findByMessageId('retry-me', callContext('bob', 'tenant-1')), undefined);
        assert.equal(await store.findByMessageId('retry-me', callContext('alice', 'tenant-2')), undefined);
        assert.equal(await store.findByMessageId('other', callContext('alice', 'tenant-1')), undefined);
        // A later save (the task's status moves on) keeps it findable.
        await store.save(
          { ...task, status: { ...task.status, state: TaskState.TASK_STATE_COMPLETED } } as typeof task,
          callContext('alice', 'tenant-1'),
        );
        assert.equal(
          (await store.findByMessageId('retry-me', callContext('alice', 'tenant-1')))?.id,
          task.id,
        );
      });

      void test('a task is visible only in its own tenant', async () => {
        const task = makeTask();
        await store.save(task, callContext('alice', 'tenant-1'));
        assert.deepEqual(await store.load(task.id, callContext('alice', 'tenant-1')), task);
        assert.equal(await store.load(task.id, callContext('alice', 'tenant-2')), undefined);
        assert.equal(await store.load(task.id, alice), undefined);
        assert.deepEqual(await listAllIds(store, callContext('alice', 'tenant-2')), []);
        assert.deepEqual(await listAllIds(store, callContext('alice', 'tenant-1')), [task.id]);
      });

      void test('a save by an admin or a put() keeps the original owner', async () => {
        const task = makeTask({ state: TaskState.TASK_STATE_WORKING });
        await store.save(task, alice);
        const canceled = { ...task, status: { ...task.status!, state: TaskState.TASK_STATE_CANCELED } };
        await store.save(canceled, root);
        assert.deepEqual(await store.load(task.id, alice), canceled);
        assert.deepEqual(
          await store.load(task.id, callContext('root', 'other')),
          canceled,
          'an admin sees every tenant',
        );

        const failed = { ...task, status: { ...task.status!, state: TaskState.TASK_STATE_FAILED } };
        await store.put(failed, { tenant: '', owner: 'bob', admin: false });
        assert.deepEqual(await store.load(task.id, alice), failed);
        assert.equal(await store.load(task.id, bob), undefined);
      });

      void test("a save over another owner's task is refused and leaves it intact", async () => {
        const task = makeTask();
        await store.save(task, alice);
        const hijack = { ...task, metadata: { hijacked: true } };
        await assert.rejects(store.save(hijack, bob), (error: Error & { code?: string }) => {
          assert.equal(error.code, 'task_owned_elsewhere');
          return true;
        });
        assert.deepEqual(await store.load(task.id, alice), task);
        assert.equal(await store.load(task.id, bob), undefined);
      });

      void test('put() of a new task stores it in the given scope, or the anonymous one', async () => {
        const scoped = makeTask();
        await store.put(scoped, { tenant: 't', owner: 'carol', admin: false });
        assert.deepEqual(await store.load(scoped.id, callContext('carol', 't')), scoped);
        assert.equal(await store.load(scoped.id, anonymous), undefined);

        const unscoped = makeTask();
        await store.put(unscoped);
        assert.deepEqual(await store.load(unscoped.id, anonymous), unscoped);
        assert.equal(await store.load(unscoped.id, alice), undefined);
      });

      void test('without a scope resolver every caller is scoped by anonymousScope and nobody is admin', async () => {
        const plain = await make({});
        try {
          const task = makeTask();
          await plain.store.save(task, anonymous);
          assert.deepEqual(await plain.store.load(task.id, callContext()), task);
          assert.equal(await plain.store.load(task.id, callContext('root')), undefined);
          const mine = makeTask();
          await plain.store.save(mine, callContext('root'));
          assert.deepEqual(await listAllIds(plain.store, callContext('root')), [mine.id]);
        } finally {
          await plain.cleanup();
        }
      });
    });

    void describe('list', () => {
      void test('filters by context id, by state (unspecified means all) and by status time (strictly after)', async () => {
        const base = Date.parse('2025-06-01T12:00:00.000Z');
        const a1 = makeTask({
          contextId: 'ctx-a',
          state: TaskState.TASK_STATE_WORKING,
          ts: isoAgo(base, 3 * HOUR),
        });
        const a2 = makeTask({
          contextId: 'ctx-a',
          state: TaskState.TASK_STATE_COMPLETED,
          ts: isoAgo(base, 2 * HOUR),
        });
        const b1 = makeTask({
          contextId: 'ctx-b',
          state: TaskState.TASK_STATE_COMPLETED,
          ts: isoAgo(base, HOUR),
        });
        const none = makeTask({ contextId: 'ctx-b', state: TaskState.TASK_STATE_COMPLETED, ts: null });
        for (const t of [a1, a2, b1, none]) await store.save(t, alice);
        await store.save(makeTask({ contextId: 'ctx-a' }), bob);

        assert.deepEqual(await listAllIds(store, alice, { contextId: 'ctx-a' }), [a2.id, a1.id]);
        assert.deepEqual(await listAllIds(store, alice, { status: TaskState.TASK_STATE_COMPLETED }), [
          b1.id,
          a2.id,
          none.id,
        ]);
        assert.deepEqual(
          await listAllIds(store, alice, { contextId: 'ctx-b', status: TaskState.TASK_STATE_COMPLETED }),
          [b1.id, none.id],
        );
        assert.equal(
          (await listAllIds(store, alice, { status: TaskState.TASK_STATE_UNSPECIFIED })).length,
          4,
        );
        // Strictly after, in any ISO form; a task without a timestamp never matches.
        assert.deepEqual(await listAllIds(store, alice, { statusTimestampAfter: a2.status!.timestamp }), [
          b1.id,
        ]);
        assert.deepEqual(
          await listAllIds(store, alice, { statusTimestampAfter: '2025-06-01T10:30:00+01:00' }),
          [b1.id, a2.id],
        );
        const counted = await store.list(listRequest({ contextId: 'ctx-a', pageSize: 1 }), alice);
        assert.equal(counted.totalSize, 2);
        assert.equal(counted.tasks.length, 1);
      });

      void test('orders newest status time first, then id descending; tasks without a timestamp come last', async () => {
        const ts = '2025-01-01T09:00:00.000Z';
        const tasks = [
          makeTask({ id: 'order-b', ts }),
          makeTask({ id: 'order-a', ts }),
          makeTask({ id: 'order-c', ts }),
          makeTask({ id: 'order-old', ts: '2024-12-31T23:59:59.999Z' }),
          // 10:30+02:00 is 08:30Z: older than 09:00Z though its text sorts higher.
          makeTask({ id: 'order-offset', ts: '2025-01-01T10:30:00+02:00' }),
          makeTask({ id: 'order-new', ts: '2025-01-01T09:00:01Z' }),
          makeTask({ id: 'order-none', ts: null }),
        ];
        for (const t of tasks) await store.save(t, alice);
        assert.deepEqual(await listAllIds(store, alice), [
          'order-new',
          'order-c',
          'order-b',
          'order-a',
          'order-offset',
          'order-old',
          'order-none',
        ]);
      });

      void test('paging 25 tasks by 10 returns each task exactly once, in order, with the total', async () => {
        const base = Date.parse('2025-02-01T00:00:00.000Z');
        // Groups of three share a timestamp so page boundaries fall inside ties.
        for (let i = 0; i < 25; i++) {
          await store.save(
            makeTask({
              id: `page-${String(i).padStart(2, '0')}`,
              ts: isoAgo(base, Math.floor(i / 3) * 1000),
            }),
            alice,
          );
        }
        await store.save(makeTask(), bob);
        const expected = await listAllIds(store, alice, { pageSize: 100 });
        assert.equal(expected.length, 25);

        const pages: string[][] = [];
        let pageToken = '';
        do {
          const response = await store.list(listRequest({ pageSize: 10, pageToken }), alice);
          assert.equal(response.totalSize, 25);
          assert.equal(response.pageSize, 10);
          pages.push(response.tasks.map((t) => t.id));
          pageToken = response.nextPageToken;
        } while (pageToken && pages.length < 10);
        assert.deepEqual(
          pages.map((p) => p.length),
          [10, 10, 5],
        );
        assert.deepEqual(pages.flat(), expected);
        assert.equal(new Set(pages.flat()).size, 25);
      });

      void test('paging goes on when the task a page ended on changed in between', async () => {
        const base = Date.parse('2025-02-01T00:00:00.000Z');
        for (let i = 0; i < 25; i++)
          await store.save(makeTask({ id: `moved-${i}`, ts: isoAgo(base, i * 1000) }), alice);
        const expected = await listAllIds(store, alice);
        const first = await store.list(listRequest({ pageSize: 10 }), alice);
        const last = first.tasks.at(-1)!;
        await store.save(
          { ...last, status: { ...last.status!, timestamp: new Date(base + DAY).toISOString() } },
          alice,
        );
        const second = await store.list(listRequest({ pageSize: 10, pageToken: first.nextPageToken }), alice);
        assert.deepEqual(
          second.tasks.map((t) => t.id),
          expected.slice(10, 20),
        );
      });

      void test('context, state and status time combined: paged in order through ties, with the total of the combination', async () => {
        const base = Date.parse('2025-03-01T00:00:00.000Z');
        const done = TaskState.TASK_STATE_COMPLETED;
        const failed = TaskState.TASK_STATE_FAILED;
        // 14 tasks in ctx-x, pairs sharing a timestamp, alternating states; noise in ctx-y and in bob's scope.
        for (let i = 0; i < 14; i++) {
          await store.save(
            makeTask({
              id: `combo-${String(i).padStart(2, '0')}`,
              contextId: 'ctx-x',
              state: i % 3 === 0 ? failed : done,
              ts: isoAgo(base, Math.floor(i / 2) * 1000),
            }),
            alice,
          );
        }
        await store.save(makeTask({ contextId: 'ctx-y', state: done, ts: isoAgo(base, 0) }), alice);
        await store.save(makeTask({ contextId: 'ctx-x', state: done, ts: isoAgo(base, 0) }), bob);

        const everyDone = await listAllIds(store, alice, { contextId: 'ctx-x', status: done });
        assert.deepEqual(everyDone, [
          'combo-01',
          'combo-02',
          'combo-05',
          'combo-04',
          'combo-07',
          'combo-08',
          'combo-11',
          'combo-10',
          'combo-13',
        ]);
        const pages: string[][] = [];
        let pageToken = '';
        do {
          const response = await store.list(
            listRequest({ contextId: 'ctx-x', status: done, pageSize: 2, pageToken }),
            alice,
          );
          assert.equal(response.totalSize, 9);
          pages.push(response.tasks.map((t) => t.id));
          pageToken = response.nextPageToken;
        } while (pageToken && pages.length < 10);
        assert.deepEqual(pages.flat(), everyDone);
        assert.equal(pages.length, 5);

        // Strictly after 4 s before base: the tasks at 3, 2, 1 and 0 s (combo-00 to combo-07), completed ones.
        const recent = await store.list(
          listRequest({
            contextId: 'ctx-x',
            status: done,
            statusTimestampAfter: isoAgo(base, 4000),
            pageSize: 3,
          }),
          alice,
        );
        assert.equal(recent.totalSize, 5);
        assert.deepEqual(
          recent.tasks.map((t) => t.id),
          ['combo-01', 'combo-02', 'combo-05'],
        );
        const afterOnly = await store.list(listRequest({ statusTimestampAfter: isoAgo(base, 4000) }), alice);
        assert.equal(afterOnly.totalSize, 9, 'combo-00 to combo-07 and the ctx-y task');

        // An admin filters everyone's tasks the same way.
        assert.equal(
          (await store.list(listRequest({ contextId: 'ctx-x', status: done }), root)).totalSize,
          10,
        );
        assert.equal((await store.list(listRequest({ status: failed }), root)).totalSize, 5);
      });

      void test('page tokens across writes: a task that moved, left the filter or arrived meanwhile is not listed twice', async () => {
        const base = Date.parse('2025-04-01T00:00:00.000Z');
        const working = TaskState.TASK_STATE_WORKING;
        const tasks = Array.from({ length: 12 }, (_, i) =>
          makeTask({
            id: `moving-${String(i).padStart(2, '0')}`,
            state: working,
            ts: isoAgo(base, i * 1000),
          }),
        );
        for (const t of tasks) await store.save(t, alice);
        const first = await store.list(listRequest({ status: working, pageSize: 5 }), alice);
        assert.deepEqual(
          first.tasks.map((t) => t.id),
          ['moving-00', 'moving-01', 'moving-02', 'moving-03', 'moving-04'],
        );
        // Meanwhile: a new task (newest of all), one of page 2 completes, one of page 1 is updated (newer).
        await store.save(makeTask({ id: 'moving-new', state: working, ts: isoAgo(base, -5000) }), alice);
        const leaving = tasks[6]!;
        await store.save(
          { ...leaving, status: { ...leaving.status!, state: TaskState.TASK_STATE_COMPLETED } },
          alice,
        );
        const touched = tasks[1]!;
        await store.save(
          { ...touched, status: { ...touched.status!, timestamp: isoAgo(base, -9000) } },
          alice,
        );
        const second = await store.list(
          listRequest({ status: working, pageSize: 5, pageToken: first.nextPageToken }),
          alice,
        );
        assert.deepEqual(
          second.tasks.map((t) => t.id),
          ['moving-05', 'moving-07', 'moving-08', 'moving-09', 'moving-10'],
        );
        assert.equal(second.totalSize, 12, '12 working: one left, one arrived');
        const third = await store.list(
          listRequest({ status: working, pageSize: 5, pageToken: second.nextPageToken }),
          alice,
        );
        assert.deepEqual(
          third.tasks.map((t) => t.id),
          ['moving-11'],
        );
        assert.equal(third.nextPageToken, '');
        assert.deepEqual((await listAllIds(store, alice, { status: working })).slice(0, 2), [
          'moving-01',
          'moving-new',
        ]);
      });

      void test('purged tasks leave every listing and count', async () => {
        const now = Date.now();
        const old = makeTask({
          contextId: 'ctx-p',
          state: TaskState.TASK_STATE_COMPLETED,
          ts: isoAgo(now, 2 * DAY),
        });
        const kept = makeTask({
          contextId: 'ctx-p',
          state: TaskState.TASK_STATE_COMPLETED,
          ts: isoAgo(now, HOUR),
        });
        await store.save(old, alice);
        await store.save(kept, alice);
        assert.equal(
          await store.purgeFinished({
            completedBefore: new Date(now - DAY),
            otherTerminalBefore: new Date(now - DAY),
          }),
          1,
        );
        for (const fields of [{}, { contextId: 'ctx-p' }, { status: TaskState.TASK_STATE_COMPLETED }]) {
          const response = await store.list(listRequest(fields), alice);
          assert.deepEqual(
            response.tasks.map((t) => t.id),
            [kept.id],
          );
          assert.equal(response.totalSize, 1);
          assert.equal((await store.list(listRequest(fields), root)).totalSize, 1);
        }
        assert.equal((await store.countByState()).TASK_STATE_COMPLETED, 1);
      });

      void test('leaves artifacts out unless includeArtifacts is set', async () => {
        const task = makeRichTask();
        await store.save(task, alice);
        const without = await store.list(listRequest(), alice);
        assert.deepEqual(without.tasks, [{ ...task, artifacts: [] }]);
        const withArtifacts = await store.list(listRequest({ includeArtifacts: true }), alice);
        assert.deepEqual(withArtifacts.tasks, [task]);
        assert.deepEqual(await store.load(task.id, alice), task);
      });

      void test('uses a default page size of 50 and rejects a bad page token or page size', async () => {
        await store.save(makeTask(), alice);
        const response = await store.list(listRequest(), alice);
        assert.equal(response.pageSize, 50);
        assert.equal(response.nextPageToken, '');
        await assert.rejects(store.list(listRequest({ pageToken: 'not a token' }), alice), /pageToken/);
        await assert.rejects(store.list(listRequest({ pageSize: 0 }), alice), /pageSize/);
        await assert.rejects(
          store.list(listRequest({ statusTimestampAfter: 'yesterday' }), alice),
          /statusTimestampAfter/,
        );
      });
    });

    void describe('gateway bookkeeping', () => {
      void test('listUnfinished returns every non-terminal task of every owner, oldest save first', async () => {
        const submitted = makeTask({ state: TaskState.TASK_STATE_SUBMITTED });
        const completed = makeTask({ state: TaskState.TASK_STATE_COMPLETED });
        const working = makeTask({ state: TaskState.TASK_STATE_WORKING });
        const failed = makeTask({ state: TaskState.TASK_STATE_FAILED });
        const inputRequired = makeTask({ state: TaskState.TASK_STATE_INPUT_REQUIRED });
        const canceled = makeTask({ state: TaskState.TASK_STATE_CANCELED });
        const authRequired = makeTask({ state: TaskState.TASK_STATE_AUTH_REQUIRED });
        const rejected = makeTask({ state: TaskState.TASK_STATE_REJECTED });
        const noStatus: Task = { ...makeTask(), status: undefined };
        await store.save(submitted, alice);
        await store.save(completed, alice);
        await store.save(working, bob);
        await store.save(failed, bob);
        await store.put(inputRequired);
        await store.save(canceled, alice);
        await store.save(authRequired, callContext('alice', 'tenant-9'));
        await store.save(rejected, alice);
        await store.save(noStatus, alice);
        // Updating a task does not move it in recovery order.
        await store.save({ ...submitted, metadata: { retried: 1 } }, alice);

        const unfinished = await store.listUnfinished();
        assert.deepEqual(
          unfinished.map((t) => t.id),
          [submitted.id, working.id, inputRequired.id, authRequired.id, noStatus.id],
        );
        assert.deepEqual(unfinished[0]?.metadata, { retried: 1 });
      });

      void test('purgeFinished removes finished tasks older than their cutoff and never an unfinished one', async () => {
        const now = Date.now();
        const at = (state: TaskState, ageMs: number | null): Task =>
          makeTask({ state, ts: ageMs === null ? null : isoAgo(now, ageMs) });
        const oldCompleted = at(TaskState.TASK_STATE_COMPLETED, 2 * DAY);
        const recentCompleted = at(TaskState.TASK_STATE_COMPLETED, 12 * HOUR);
        const oldFailed = at(TaskState.TASK_STATE_FAILED, 8 * DAY);
        const recentFailed = at(TaskState.TASK_STATE_FAILED, 2 * DAY);
        const oldCanceled = at(TaskState.TASK_STATE_CANCELED, 10 * DAY);
        const oldRejected = at(TaskState.TASK_STATE_REJECTED, 30 * DAY);
        const ancientWorking = at(TaskState.TASK_STATE_WORKING, 100 * DAY);
        const ancientSubmitted = at(TaskState.TASK_STATE_SUBMITTED, 100 * DAY);
        const ancientInput = at(TaskState.TASK_STATE_INPUT_REQUIRED, 100 * DAY);
        const undatedCompleted = at(TaskState.TASK_STATE_COMPLETED, null);
        const all = [
          oldCompleted,
          recentCompleted,
          oldFailed,
          recentFailed,
          oldCanceled,
          oldRejected,
          ancientWorking,
          ancientSubmitted,
          ancientInput,
          undatedCompleted,
        ];
        for (const t of all) await store.save(t, alice);

        const cutoffs = {
          completedBefore: new Date(now - DAY),
          otherTerminalBefore: new Date(now - 7 * DAY),
        };
        assert.equal(await store.purgeFinished(cutoffs), 4);
        const removed = new Set([oldCompleted.id, oldFailed.id, oldCanceled.id, oldRejected.id]);
        for (const t of all) {
          assert.equal(
            (await store.get(t.id)) === undefined,
            removed.has(t.id),
            `task in ${t.status?.state}`,
          );
        }
        assert.equal(await store.purgeFinished(cutoffs), 0);

        // With cutoffs in the future every finished task goes, the undated one aging from its save.
        const future = new Date(now + DAY);
        assert.equal(await store.purgeFinished({ completedBefore: future, otherTerminalBefore: future }), 3);
        assert.deepEqual(
          (await store.listUnfinished()).map((t) => t.id),
          [ancientWorking.id, ancientSubmitted.id, ancientInput.id],
        );
        assert.deepEqual(
          (await listAllIds(store, alice)).sort(),
          [ancientWorking.id, ancientSubmitted.id, ancientInput.id].sort(),
        );
      });

      void test('countByState counts every owner and reports each known state, at 0 when empty', async () => {
        const empty = await store.countByState();
        for (const state of [1, 2, 3, 4, 5, 6, 7, 8]) assert.equal(empty[taskStateToJSON(state)], 0);

        await store.save(makeTask({ state: TaskState.TASK_STATE_WORKING }), alice);
        await store.save(makeTask({ state: TaskState.TASK_STATE_WORKING }), bob);
        await store.save(makeTask({ state: TaskState.TASK_STATE_COMPLETED }), alice);
        const moved = makeTask({ state: TaskState.TASK_STATE_SUBMITTED });
        await store.save(moved, alice);
        await store.save(
          { ...moved, status: { ...moved.status!, state: TaskState.TASK_STATE_FAILED } },
          alice,
        );
        const counts = await store.countByState();
        assert.equal(counts.TASK_STATE_WORKING, 2);
        assert.equal(counts.TASK_STATE_COMPLETED, 1);
        assert.equal(counts.TASK_STATE_FAILED, 1);
        assert.equal(counts.TASK_STATE_SUBMITTED, 0);
        assert.equal(
          Object.values(counts).reduce((a, b) => a + b, 0),
          4,
        );
      });

      void test('ping answers true on an open store', async () => {
        assert.equal(await store.ping(), true);
      });

      void test('a history message from the caller is kept as sent', async () => {
        const message = makeMessage({ parts: [textPart('hi', { metadata: { a: [1, { b: null }] } })] });
        const task = makeTask({ history: [message] });
        await store.save(task, alice);
        assert.deepEqual((await store.load(task.id, alice))?.history, [message]);
      });
    });
  });
}
