import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TaskState, type Task } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutionEvent } from '@a2a-js/sdk/server';
import { pino } from 'pino';
import { statusOf, TaskEventLog, type LoggedEvent } from '../../src/events/task-event-log.js';
import { agentMessage, artifactUpdate, newTask, statusUpdate, textPart } from '../../src/service/a2a.js';
import { MemoryTaskStore } from '../../src/stores/memory-store.js';

const logger = pino({ level: 'silent' });

function status(taskId: string, state: TaskState, text = 'progress', meta?: Record<string, unknown>) {
  return AgentEvent.statusUpdate(
    statusUpdate(taskId, 'ctx', state, agentMessage(taskId, 'ctx', [textPart(text)], meta)),
  );
}

function task(taskId: string): AgentExecutionEvent {
  return AgentEvent.task(newTask(taskId, 'ctx', [agentMessage(taskId, 'ctx', [textPart('go')])], {}));
}

function artifact(taskId: string): AgentExecutionEvent {
  return AgentEvent.artifactUpdate(
    artifactUpdate(taskId, 'ctx', { artifactId: 'r', name: 'result', parts: [textPart('done')] }),
  );
}

describe('TaskEventLog', () => {
  test('numbers each task’s events from 1 in publish order; a new log on the same store goes on from the last', async () => {
    const store = new MemoryTaskStore();
    const first = new TaskEventLog({ store, logger }, { limit: 100 });
    const events = [task('a'), status('a', TaskState.TASK_STATE_WORKING), task('b'), artifact('a')];
    for (const e of events) first.record(e.kind === 'task' ? e.data.id : 'a', e);
    assert.deepEqual(await Promise.all(events.map((e) => first.seqOf(e))), [1, 2, 1, 3]);
    await first.idle();
    // Another process (or this one after a restart) continues the numbering from the store.
    const second = new TaskEventLog({ store, logger }, { limit: 100 });
    const later = status('a', TaskState.TASK_STATE_COMPLETED, 'done');
    second.record('a', later);
    assert.equal(await second.seqOf(later), 4);
    assert.deepEqual(
      (await second.read('a', 0)).map((e) => e.seq),
      [1, 2, 3, 4],
    );
    assert.equal(await second.seqOf(AgentEvent.message(agentMessage('a', 'ctx', []))), undefined);
  });

  test('only a working update after a working one may be dropped: never the start, a question, a state change or an artifact', async () => {
    const store = new MemoryTaskStore();
    const log = new TaskEventLog({ store, logger }, { limit: 100 });
    const id = 't';
    const events = [
      task(id),
      status(id, TaskState.TASK_STATE_WORKING, 'started'),
      status(id, TaskState.TASK_STATE_WORKING, 'step'),
      status(id, TaskState.TASK_STATE_WORKING, 'question?', { event: 'needs_input' }),
      status(id, TaskState.TASK_STATE_INPUT_REQUIRED, 'asked'),
      status(id, TaskState.TASK_STATE_WORKING, 'resumed'),
      status(id, TaskState.TASK_STATE_WORKING, 'step'),
      artifact(id),
      status(id, TaskState.TASK_STATE_COMPLETED, 'done'),
    ];
    for (const e of events) log.record(id, e);
    await log.idle();
    assert.deepEqual(
      (await store.readTaskEvents(id, 0)).map((r) => r.droppable),
      [false, false, true, false, false, false, true, false, false],
    );
  });

  test('subscribe, then read the log: while events are appended, every one is seen exactly once', async () => {
    const store = new MemoryTaskStore();
    const log = new TaskEventLog({ store, logger }, { limit: 1000 });
    const id = 'busy';
    const total = 300;
    let published = 0;
    const publishing = (async () => {
      log.record(id, task(id));
      published = 1;
      while (published < total) {
        // Bursts of several events, then a turn of the event loop.
        for (let i = 0; i < 7 && published < total; i++, published++) {
          log.record(id, status(id, TaskState.TASK_STATE_WORKING, `step ${published}`));
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    const client = async (): Promise<number[]> => {
      const live = await log.subscribe(id);
      const seen = (await log.read(id, 0)).map((e) => e.seq);
      let cursor = seen.at(-1) ?? 0;
      if (cursor < total) {
        for await (const e of live) {
          if (e.seq <= cursor) continue;
          seen.push(e.seq);
          cursor = e.seq;
          if (cursor === total) break;
        }
      }
      live.close();
      return seen;
    };
    // Clients join at different moments of the publishing, each subscribing before it reads.
    const clients: Promise<number[]>[] = [];
    for (let c = 0; c < 10; c++) {
      await new Promise((r) => setImmediate(r));
      clients.push(client());
    }
    await publishing;
    const bound = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('clients did not finish')), 5000).unref(),
    );
    const results = await Promise.race([Promise.all(clients), bound]);
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const seen of results) assert.deepEqual(seen, expected);
  });

  test('reconcile logs a terminal state the log lacks, once; nothing when the log has it or the task still runs', async () => {
    const store = new MemoryTaskStore();
    const log = new TaskEventLog({ store, logger }, { limit: 100 });
    const id = 'r';
    log.record(id, task(id));
    log.record(id, status(id, TaskState.TASK_STATE_WORKING));
    const ended: Task = {
      ...newTask(id, 'ctx', [], {}),
      status: { state: TaskState.TASK_STATE_FAILED, message: undefined, timestamp: new Date().toISOString() },
    };
    const running: Task = { ...ended, status: { ...ended.status!, state: TaskState.TASK_STATE_WORKING } };
    assert.equal(await log.reconcile(running), undefined);
    const [a, b] = await Promise.all([log.reconcile(ended), log.reconcile(ended)]);
    assert.deepEqual([a, b], [3, undefined]);
    const all = await log.read(id, 0);
    assert.equal(all.length, 3);
    assert.equal(statusOf(all[2]!.event)?.state, TaskState.TASK_STATE_FAILED);
    // A live subscriber hears of such an end too.
    const other: Task = { ...ended, id: 'r2' };
    const live = await log.subscribe('r2');
    await log.reconcile(other);
    live.close();
    const heard: LoggedEvent[] = [];
    for await (const e of live) heard.push(e);
    assert.deepEqual(
      heard.map((e) => e.seq),
      [1],
    );
  });
});
