import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Task, TaskState } from '@a2a-js/sdk';
import { SCHEMA_VERSION } from '../../src/stores/sqlite-schema.js';
import { SqliteTaskStore } from '../../src/stores/sqlite-store.js';
import { SqlitePushConfigStore } from '../../src/push/store.js';
import { SqliteJobStore } from '../../src/queue/sqlite-job-store.js';
import { openGatewayDatabase } from '../../src/stores/sqlite-database.js';
import type { ScopeResolver } from '../../src/stores/task-store.js';
import { conversationStoreContract } from '../contracts/conversation-store.js';
import { embeddedStoreChecks } from '../contracts/embedded-store.js';
import { jobStoreContract, makeJob } from '../contracts/job-store.js';
import { pushConfig, pushContext } from '../contracts/push-config-store.js';
import { taskEventStoreContract } from '../contracts/task-event-store.js';
import { contractScope, listRequest, taskStoreContract } from '../contracts/task-store.js';
import { callContext, makeNumberedTask, makeRichTask, makeTask } from '../helpers/tasks.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WRITER = join(REPO, 'test/fixtures/sqlite-writer.ts');

/** A fresh SQLite file in its own directory, removed by cleanup. */
async function sqlite(opts: { scope?: ScopeResolver } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'a2a-sqlite-contract-'));
  const store = new SqliteTaskStore({
    file: join(dir, 'tasks.db'),
    ...(opts.scope ? { scope: opts.scope } : {}),
  });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

taskStoreContract('sqlite', sqlite);
taskEventStoreContract('sqlite', () => sqlite());
conversationStoreContract('sqlite', () => sqlite());
embeddedStoreChecks('sqlite', () => sqlite());
jobStoreContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'a2a-sqlite-jobs-'));
  const store = new SqliteJobStore({ file: join(dir, 'tasks.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

void describe('sqlite stores on one connection', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2a-sqlite-shared-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void test('tasks, jobs and push configs share the one connection; closing a store leaves it to the others', async () => {
    const file = join(dir, 'gateway.db');
    const db = openGatewayDatabase({ file });
    const tasks = new SqliteTaskStore({ db });
    const jobs = new SqliteJobStore({ db });
    const push = new SqlitePushConfigStore({ db });
    const task = makeTask();
    const job = makeJob({ taskId: task.id });
    await tasks.save(task, callContext('alice'));
    await jobs.save(job);
    await push.save(task.id, pushContext('1.0'), pushConfig({ id: 'hook' }));

    await push.close();
    await tasks.close();
    assert.equal(await tasks.ping(), false, 'a closed store says so');
    await assert.rejects(tasks.get(task.id), /not open/);
    // The jobs store still works on the connection the others gave up.
    assert.deepEqual(await jobs.list(), [{ job, state: 'queued' }]);
    await jobs.close();
    assert.ok(db.open, 'the stores leave the connection to whoever opened it');
    db.close();

    // Everything went to the one file.
    const reopened = new Database(file, { readonly: true });
    try {
      const count = (table: string): number =>
        (reopened.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      assert.deepEqual([count('tasks'), count('jobs'), count('push_configs')], [1, 1, 1]);
    } finally {
      reopened.close();
    }
  });
});

void describe('sqlite store: the file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'a2a-sqlite-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void test('tasks and context sessions survive closing and reopening the file', async () => {
    const file = join(dir, 'reopen', 'nested', 'tasks.db');
    const task = makeRichTask();
    const session = {
      contextId: 'ctx-r',
      backend: 'claude',
      sessionId: 's-1',
      updatedAt: '2025-01-01T00:00:00.000Z',
    };
    const first = new SqliteTaskStore({ file });
    await first.save(task, callContext('alice'));
    await first.setContextSession(session);
    await first.close();
    assert.equal(await first.ping(), false);

    const second = new SqliteTaskStore({ file });
    try {
      assert.deepEqual(await second.load(task.id, callContext('alice')), task);
      assert.equal(await second.load(task.id, callContext('bob')), undefined, 'the owner survives too');
      assert.deepEqual(await second.getContextSession('ctx-r'), session);
    } finally {
      await second.close();
    }
  });

  void test('the file is in WAL mode and carries a schema version', async () => {
    const file = join(dir, 'pragmas.db');
    const store = new SqliteTaskStore({ file });
    await store.put(makeTask());
    const raw = new Database(file, { readonly: true });
    try {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    } finally {
      raw.close();
      await store.close();
    }
  });

  void test('a file from before the event log (schema 1) is migrated: its tasks stay and events can be logged', async () => {
    const file = join(dir, 'v1.db');
    const task = makeTask({ state: TaskState.TASK_STATE_COMPLETED });
    const first = new SqliteTaskStore({ file });
    await first.save(task, callContext('alice'));
    await first.close();
    const raw = new Database(file);
    // Back to schema 1: without what migrations 2 (the event log), 3 (message ids, jobs) and 4 (list indexes) added.
    raw.exec('DROP TABLE task_events; DROP TABLE jobs; DROP INDEX tasks_message');
    raw.exec('DROP INDEX tasks_context_list; DROP INDEX tasks_recent');
    raw.exec('ALTER TABLE tasks DROP COLUMN message_id');
    raw.pragma('user_version = 1');
    raw.close();

    const second = new SqliteTaskStore({ file });
    try {
      assert.deepEqual(await second.load(task.id, callContext('alice')), task);
      assert.deepEqual(await second.readTaskEvents(task.id, 0), []);
      const event = { payload: { $case: 'task' as const, value: task } };
      await second.appendTaskEvent(task.id, { seq: 1, droppable: false, event }, 10);
      assert.deepEqual(await second.lastTaskEvent(task.id), { seq: 1, droppable: false, event });
    } finally {
      await second.close();
    }
  });

  void test('a file from a newer schema is refused, not touched', () => {
    const file = join(dir, 'newer.db');
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(
      () => new SqliteTaskStore({ file }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'store_schema_too_new');
        return true;
      },
    );
  });

  void test('two stores on one file see each other’s writes', async () => {
    const file = join(dir, 'shared.db');
    const a = new SqliteTaskStore({ file });
    const b = new SqliteTaskStore({ file });
    try {
      const task = makeTask();
      await a.save(task, callContext('alice'));
      assert.deepEqual(await b.load(task.id, callContext('alice')), task);
      const other = makeTask();
      await b.put(other);
      assert.deepEqual(await a.get(other.id), other);
    } finally {
      await a.close();
      await b.close();
    }
  });

  void test('list totals follow writes through another store on the connection and through another connection', async () => {
    const file = join(dir, 'totals.db');
    const db = openGatewayDatabase({ file });
    const a = new SqliteTaskStore({ db, scope: contractScope });
    const b = new SqliteTaskStore({ db, scope: contractScope });
    const c = new SqliteTaskStore({ file, scope: contractScope });
    const alice = callContext('alice');
    const total = async (fields = {}): Promise<number | undefined> =>
      (await a.list(listRequest(fields), alice)).totalSize;
    try {
      await a.save(makeTask(), alice);
      assert.equal(await total(), 1);
      assert.equal(await total(), 1);
      await b.save(makeTask(), alice);
      assert.equal(await total(), 2);
      const done = makeTask();
      done.status = {
        state: TaskState.TASK_STATE_COMPLETED,
        message: undefined,
        timestamp: new Date().toISOString(),
      };
      await c.save(done, alice);
      assert.equal(await total(), 3);
      assert.equal(await total({ status: TaskState.TASK_STATE_COMPLETED }), 1);
      await c.purgeFinished({
        completedBefore: new Date(Date.now() + 60_000),
        otherTerminalBefore: new Date(),
      });
      assert.equal(await total({ status: TaskState.TASK_STATE_COMPLETED }), 0);
      assert.equal(await total(), 2);
      assert.equal((await a.list(listRequest(), callContext('bob'))).totalSize, 0);
    } finally {
      await a.close();
      await b.close();
      await c.close();
      db.close();
    }
  });

  void test('loadWireJson answers what load answers, after writes through any store and with the scope rule', async () => {
    const file = join(dir, 'wire.db');
    const db = openGatewayDatabase({ file });
    // Two stores on one connection, and a third on a connection of its own (another process, as far as SQLite knows).
    const a = new SqliteTaskStore({ db, scope: contractScope });
    const b = new SqliteTaskStore({ db, scope: contractScope });
    const c = new SqliteTaskStore({ file, scope: contractScope });
    const alice = callContext('alice');
    const wireOf = async (store: SqliteTaskStore, id: string, context = alice): Promise<unknown> => {
      const json = await store.loadWireJson(id, context);
      return json === undefined ? undefined : JSON.parse(json);
    };
    const loaded = async (store: SqliteTaskStore, id: string, context = alice): Promise<unknown> => {
      const task = await store.load(id, context);
      return task === undefined ? undefined : Task.toJSON(task);
    };
    try {
      const task = makeTask();
      await a.save(task, alice);
      assert.deepEqual(await wireOf(a, task.id), await loaded(a, task.id));
      // Read twice (the second from memory), then changed through the other store on the same connection.
      assert.deepEqual(await wireOf(a, task.id), await loaded(a, task.id));
      task.status = {
        state: TaskState.TASK_STATE_COMPLETED,
        message: undefined,
        timestamp: new Date().toISOString(),
      };
      await b.save(task, alice);
      assert.deepEqual(await wireOf(a, task.id), await loaded(b, task.id));
      // Changed through another connection.
      task.metadata = { changed: 'elsewhere' };
      await c.save(task, alice);
      assert.deepEqual(await wireOf(a, task.id), await loaded(c, task.id));
      // Another caller does not see it (also once cached); an admin does; a deleted task is gone.
      assert.equal(await a.loadWireJson(task.id, callContext('bob')), undefined);
      assert.deepEqual(await wireOf(a, task.id, callContext('root')), await loaded(a, task.id));
      await c.purgeFinished({
        completedBefore: new Date(Date.now() + 60_000),
        otherTerminalBefore: new Date(),
      });
      assert.equal(await a.loadWireJson(task.id, alice), undefined);
      assert.equal(await a.loadWireJson('no-such-task', alice), undefined);
    } finally {
      await a.close();
      await b.close();
      await c.close();
      db.close();
    }
  });

  void test('an unreadable row is reported with its id rather than skipped', async () => {
    const file = join(dir, 'damaged.db');
    const store = new SqliteTaskStore({ file });
    try {
      const task = makeTask();
      await store.put(task);
      const raw = new Database(file);
      raw.prepare('UPDATE tasks SET json = ? WHERE id = ?').run('{not json', task.id);
      raw.close();
      await assert.rejects(store.get(task.id), (error: Error & { code?: string; taskId?: string }) => {
        assert.equal(error.code, 'task_unreadable');
        assert.equal(error.taskId, task.id);
        return true;
      });
    } finally {
      await store.close();
    }
  });

  void test('an in-memory database works for throwaway use', async () => {
    const store = new SqliteTaskStore({ file: ':memory:' });
    try {
      const task = makeTask();
      await store.put(task);
      assert.deepEqual(await store.get(task.id), task);
    } finally {
      await store.close();
    }
  });

  void test('recovery and retention read the state index; a state the store does not know counts as unfinished', async () => {
    const file = join(dir, 'states.db');
    const store = new SqliteTaskStore({ file });
    const raw = new Database(file);
    try {
      const unknown = makeTask({ state: TaskState.TASK_STATE_WORKING });
      const done = makeTask({ state: TaskState.TASK_STATE_COMPLETED });
      await store.put(unknown);
      await store.put(done);
      raw.prepare('UPDATE tasks SET state = 42 WHERE id = ?').run(unknown.id);
      assert.deepEqual(
        (await store.listUnfinished()).map((t) => t.id),
        [unknown.id],
      );
      const future = new Date(Date.now() + 60_000);
      assert.equal(await store.purgeFinished({ completedBefore: future, otherTerminalBefore: future }), 1);
      assert.ok(await store.get(unknown.id));
    } finally {
      raw.close();
      await store.close();
    }
  });

  void test('list runs on the index, without sorting the table', () => {
    const file = join(dir, 'plan.db');
    const store = new SqliteTaskStore({ file });
    const raw = new Database(file, { readonly: true });
    try {
      const plan = raw
        .prepare(
          `EXPLAIN QUERY PLAN SELECT id, json FROM tasks WHERE tenant = ? AND owner = ?
             AND (status_ts, id) < (?, ?) ORDER BY status_ts DESC, id DESC LIMIT 11`,
        )
        .all('', 'alice', '2025', 'x') as { detail: string }[];
      const details = plan.map((row) => row.detail).join('\n');
      assert.match(details, /USING INDEX tasks_list/);
      assert.doesNotMatch(details, /TEMP B-TREE/);
    } finally {
      raw.close();
      void store.close();
    }
  });

  void test('every save acknowledged before a SIGKILL is there and readable after reopening', async () => {
    const file = join(dir, 'crash', 'tasks.db');
    const killAfter = 150;
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, file, '100000'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    assert.ok(pid !== undefined, 'the writer started');
    const saved: number[] = [];
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^SAVED (\d+)$/.exec(line);
      if (!match) return;
      saved.push(Number(match[1]));
      // Killed while it keeps writing, so the kill lands in or between transactions, never after a clean close.
      if (saved.length === killAfter) process.kill(pid, 'SIGKILL');
    });
    const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }, 60_000);
    try {
      const [code, signal] = await closed;
      assert.equal(signal, 'SIGKILL', `the writer was killed, not ended (code ${code}); stderr: ${stderr}`);
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
    }
    assert.ok(saved.length >= killAfter, `the writer acknowledged ${saved.length} saves; stderr: ${stderr}`);

    const raw = new Database(file);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    const stored = (raw.prepare('SELECT COUNT(*) AS n FROM tasks').get() as { n: number }).n;
    raw.close();
    // At most the one save that committed but was not yet acknowledged can exceed the acknowledged ones.
    assert.ok(
      stored >= saved.length && stored <= saved.length + 1,
      `${stored} stored, ${saved.length} acknowledged`,
    );

    const store = new SqliteTaskStore({ file });
    try {
      for (const n of saved)
        assert.deepEqual(await store.get(`numbered-${n}`), makeNumberedTask(n), `task ${n}`);
      const listed = await store.list(listRequest({ pageSize: 1 }), callContext('writer'));
      assert.equal(listed.totalSize, stored, 'the writer owns what it saved');
    } finally {
      await store.close();
    }
  });
});
