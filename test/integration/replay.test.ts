// Event ids on every stream, and resubscribe with Last-Event-ID: a plain SSE client over 127.0.0.1 against the
// gateway with scripted fake backends. Every loop is bounded in count and time.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Role, taskStateToJSON, type SendMessageRequest, type StreamResponse } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions } from '@a2a-js/sdk/client';
import { Redis } from 'ioredis';
import { RedisEventStore } from '../../src/stores/redis-event-store.js';
import type { TaskEventStore } from '../../src/stores/task-event-store.js';
import {
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  spawnGateway,
  startTestGateway,
  tempDir,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.js';
import { openSse, readAll, type SseEvent, type SseRequest } from '../helpers/sse.js';

/** `count` tool calls, `gapMs` apart: a run that reports progress steadily. */
function steps(count: number, gapMs: number): string {
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    lines.push(`      - { event: { type: tool_call, name: Step, summary: "step ${i}" } }`);
    if (gapMs > 0) lines.push(`      - { sleepMs: ${gapMs} }`);
  }
  return lines.join('\n');
}

const CONFIG = `
allowBackendOverride: true
backends:
  steady:
    type: fake
    summary: all steps done
    steps:
${steps(30, 12)}
  quick:
    type: fake
    summary: quick done
    steps:
${steps(3, 0)}
  slow:
    type: fake
    summary: slow done
    steps:
      - { event: { type: tool_call, name: Step, summary: "first" } }
      - { sleepMs: 600 }
      - { event: { type: tool_call, name: Step, summary: "second" } }
      - { sleepMs: 600 }
  chatty:
    type: fake
    summary: chatty done
    steps:
${steps(40, 0)}
  hang:
    type: fake
    steps:
      - { event: { type: tool_call, name: Step, summary: "before the restart" } }
      - { sleepMs: 60000 }
skills:
  code: { backend: quick }
`;

type Dialect = 'jsonrpc-1.0' | 'jsonrpc-0.3' | 'rest-1.0' | 'rest-0.3';
const DIALECTS: readonly Dialect[] = ['jsonrpc-1.0', 'jsonrpc-0.3', 'rest-1.0', 'rest-0.3'];
const V1 = { 'a2a-version': '1.0' };

let counter = 0;
const messageId = (): string => `replay-${process.pid}-${++counter}`;

/** A streaming send of the `code` skill on `backend`, in one dialect. */
function streamRequest(
  base: string,
  dialect: Dialect | 'jsonrpc-0.1',
  backend: string,
): [string, SseRequest] {
  const metadata = { skill: 'code', backend };
  switch (dialect) {
    case 'jsonrpc-1.0':
      return [
        `${base}/`,
        {
          headers: V1,
          body: {
            jsonrpc: '2.0',
            id: 1,
            method: 'SendStreamingMessage',
            params: {
              message: { messageId: messageId(), role: 'ROLE_USER', parts: [{ text: 'go' }], metadata },
            },
          },
        },
      ];
    case 'jsonrpc-0.3':
      return [
        `${base}/`,
        {
          body: {
            jsonrpc: '2.0',
            id: 1,
            method: 'message/stream',
            params: {
              message: {
                kind: 'message',
                messageId: messageId(),
                role: 'user',
                parts: [{ kind: 'text', text: 'go' }],
                metadata,
              },
            },
          },
        },
      ];
    case 'jsonrpc-0.1':
      return [
        `${base}/`,
        {
          body: {
            jsonrpc: '2.0',
            id: 1,
            method: 'tasks/sendSubscribe',
            params: {
              skill: 'code',
              message: { role: 'user', parts: [{ type: 'text', text: 'go' }], metadata: { backend } },
            },
          },
        },
      ];
    case 'rest-1.0':
      return [
        `${base}/message:stream`,
        {
          headers: V1,
          body: { message: { messageId: messageId(), role: 'ROLE_USER', parts: [{ text: 'go' }], metadata } },
        },
      ];
    case 'rest-0.3':
      return [
        `${base}/v1/message:stream`,
        {
          body: {
            message: { messageId: messageId(), role: 'ROLE_USER', content: [{ text: 'go' }], metadata },
          },
        },
      ];
  }
}

/** A resubscribe in one dialect, with the last id as the Last-Event-ID header (or as a parameter). */
function subscribeRequest(
  base: string,
  dialect: Dialect,
  taskId: string,
  lastEventId?: number,
  via: 'header' | 'param' = 'header',
): [string, SseRequest] {
  const header: Record<string, string> =
    lastEventId !== undefined && via === 'header' ? { 'last-event-id': String(lastEventId) } : {};
  const param = lastEventId !== undefined && via === 'param' ? { lastEventId } : {};
  switch (dialect) {
    case 'jsonrpc-1.0':
      return [
        `${base}/`,
        {
          headers: { ...V1, ...header },
          body: { jsonrpc: '2.0', id: 2, method: 'SubscribeToTask', params: { id: taskId, ...param } },
        },
      ];
    case 'jsonrpc-0.3':
      return [
        `${base}/`,
        {
          headers: header,
          body: {
            jsonrpc: '2.0',
            id: 2,
            method: 'tasks/resubscribe',
            params: { id: taskId, ...(via === 'param' ? { metadata: param } : {}) },
          },
        },
      ];
    case 'rest-1.0':
      return [
        `${base}/tasks/${taskId}:subscribe${via === 'param' && lastEventId !== undefined ? `?lastEventId=${lastEventId}` : ''}`,
        { method: 'GET', headers: { ...V1, ...header } },
      ];
    case 'rest-0.3':
      return [
        `${base}/v1/tasks/${taskId}:subscribe${via === 'param' && lastEventId !== undefined ? `?lastEventId=${lastEventId}` : ''}`,
        { method: 'GET', headers: header },
      ];
  }
}

type Json = Record<string, any>;

/** What an event says, the same in every dialect: kind, state and text (or artifact id). */
function summarize(e: SseEvent): { taskId: string; what: string; terminal: boolean } {
  const o = JSON.parse(e.data) as Json;
  const r: Json = o.result ?? o;
  const state = (s: string): string =>
    s
      .replace(/^TASK_STATE_/, '')
      .toLowerCase()
      .replace('_', '-');
  const text = (status: Json): string => {
    const message: Json | undefined = status.message ?? status.update;
    const parts: Json[] = message?.parts ?? message?.content ?? [];
    return String(parts[0]?.text ?? '');
  };
  if (r.task || r.kind === 'task') {
    const t: Json = r.task ?? r;
    return { taskId: t.id, what: `task ${state(t.status.state)}`, terminal: false };
  }
  if (r.statusUpdate || r.kind === 'status-update') {
    const u: Json = r.statusUpdate ?? r;
    const s = state(u.status.state);
    return {
      taskId: u.taskId,
      what: `status ${s} ${text(u.status)}`,
      terminal: ['completed', 'failed', 'canceled', 'rejected'].includes(s),
    };
  }
  if (r.artifactUpdate || r.kind === 'artifact-update') {
    const u: Json = r.artifactUpdate ?? r;
    return { taskId: u.taskId, what: `artifact ${u.artifact.artifactId}`, terminal: false };
  }
  throw new Error(`unexpected event: ${e.data.slice(0, 200)}`);
}

const idOf = (e: SseEvent): number => {
  assert.match(e.id ?? '', /^\d+$/, `every event has a numeric id: ${e.data.slice(0, 80)}`);
  return Number(e.id);
};

/** Sends a 1.0 message that returns at once (`returnImmediately`) and gives the new task's id. */
async function sendAtOnce(base: string, metadata: Record<string, unknown>): Promise<string> {
  const sent = await rpc(
    base,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'SendMessage',
      params: {
        message: { messageId: messageId(), role: 'ROLE_USER', parts: [{ text: 'go' }], metadata },
        configuration: { returnImmediately: true },
      },
    },
    V1,
  );
  return sent.body.result.task.id as string;
}

function assertIncreasing(ids: readonly number[]): void {
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids increase: ${ids.join(',')}`);
}

/** The task's whole log, replayed after id 0 (in 1.0 REST). */
async function fullLog(base: string, taskId: string): Promise<{ id: number; what: string }[]> {
  const { events } = await readAll(...subscribeRequest(base, 'rest-1.0', taskId, 0));
  return events.map((e) => ({ id: idOf(e), what: summarize(e).what }));
}

/** A refused resubscribe: its HTTP status, the error's code (REST 1.0: its status name) and message. */
interface Refusal {
  status: number;
  code: number | string;
  message: string;
}

/**
 * The answer to a resubscribe that is refused before its stream starts, within 5 s (a stream that never ends
 * fails here). 0.3 JSON-RPC sends its refusal as an SSE `error` event; the others as a JSON body.
 */
async function refusal(url: string, req: SseRequest): Promise<Refusal> {
  const res = await fetch(url, {
    method: req.method ?? 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...req.headers },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  const data = text.startsWith('event: error\n') ? text.slice(text.indexOf('data: ') + 6) : text;
  const json = JSON.parse(data) as Json;
  const error: Json = json.error ?? json;
  return { status: res.status, code: error.status ?? error.code, message: error.message };
}

/** How each dialect refuses bad input to a resubscribe (a bad `Last-Event-ID` among it). */
const REFUSED: Record<Dialect, { status: number; code: number | string }> = {
  'jsonrpc-1.0': { status: 200, code: -32602 },
  'jsonrpc-0.3': { status: 200, code: -32602 },
  'rest-1.0': { status: 400, code: 'INVALID_ARGUMENT' },
  'rest-0.3': { status: 400, code: -32602 },
};

/** What a client is told for an id past the end of a task's log. */
const pastTheEnd = (id: number, taskId: string, last: number): string =>
  `Last-Event-ID: ${id} is past the last event of task ${taskId} (${last}); expected a whole number from 0 to ${last}`;

/** A small seeded generator, so a failing run can be repeated (the seed is in the test's output). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('event ids and replay', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      configYaml: CONFIG,
      env: { RATE_LIMIT_PER_MINUTE: '0', MAX_CONCURRENT_TASKS: '8' },
    });
  });
  after(async () => {
    await gw.stop();
  });

  for (const dialect of [...DIALECTS, 'jsonrpc-0.1'] as const) {
    test(`${dialect} send stream: every event has an id, ids 1..n in order, the task first, the terminal state last; replay gives the same events`, async () => {
      const { contentType, events } = await readAll(...streamRequest(gw.url, dialect, 'quick'));
      assert.match(contentType, /text\/event-stream/);
      const ids = events.map(idOf);
      assert.deepEqual(
        ids,
        ids.map((_, i) => i + 1),
      );
      const seen = events.map(summarize);
      assert.equal(seen[0]?.what, 'task submitted');
      assert.equal(seen.at(-1)?.what, 'status completed quick done');
      assert.ok(seen.slice(0, -1).every((s) => !s.terminal));
      const taskId = seen[0].taskId;
      // The replay (in this dialect's resubscribe; 0.1 shares 0.3's) is the stream again, id for id.
      const replayDialect = dialect === 'jsonrpc-0.1' ? 'jsonrpc-0.3' : dialect;
      const replay = await readAll(...subscribeRequest(gw.url, replayDialect, taskId, 0));
      assert.deepEqual(
        replay.events.map((e) => [idOf(e), summarize(e).what]),
        events.map((e) => [idOf(e), summarize(e).what]),
      );
    });
  }

  for (const [dialect, via] of [
    ['jsonrpc-1.0', 'header'],
    ['jsonrpc-0.3', 'header'],
    ['rest-1.0', 'header'],
    ['rest-0.3', 'header'],
    ['jsonrpc-1.0', 'param'],
    ['jsonrpc-0.3', 'param'],
    ['rest-1.0', 'param'],
    ['rest-0.3', 'param'],
  ] as const) {
    test(`${dialect} resubscribe with the last id as a ${via}: exactly the events after it, then the stream closes`, async () => {
      const { events } = await readAll(...streamRequest(gw.url, 'jsonrpc-1.0', 'quick'));
      const taskId = summarize(events[0]!).taskId;
      const all = events.map((e) => ({ id: idOf(e), what: summarize(e).what }));
      for (const cut of [0, 2, all.length - 1, all.length]) {
        const after = all[cut - 1]?.id ?? 0;
        const replay = await readAll(...subscribeRequest(gw.url, dialect, taskId, after, via));
        assert.deepEqual(
          replay.events.map((e) => ({ id: idOf(e), what: summarize(e).what })),
          all.slice(cut),
          `after id ${after}`,
        );
      }
    });
  }

  test('a task sent without streaming: resubscribe while it runs gives the task (with an id) then live events to the end; replay from 0 has them all', async () => {
    const taskId = await sendAtOnce(gw.url, { skill: 'code', backend: 'slow' });
    const live = await readAll(...subscribeRequest(gw.url, 'jsonrpc-1.0', taskId));
    const seen = live.events.map(summarize);
    assert.match(seen[0]!.what, /^task (submitted|working)$/);
    assert.equal(seen.at(-1)?.what, 'status completed slow done');
    const ids = live.events.map(idOf);
    assertIncreasing(ids);
    const log = await fullLog(gw.url, taskId);
    assert.deepEqual(
      log.filter((e) => e.id > ids[0]!),
      live.events.slice(1).map((e) => ({ id: idOf(e), what: summarize(e).what })),
      'after the task snapshot come exactly the logged events after its id',
    );
    assert.deepEqual(
      log.map((e) => e.what),
      [
        'task submitted',
        'status working running code with slow',
        'status working Step: first',
        'status working Step: second',
        `artifact ${taskId}-result`,
        'status completed slow done',
      ],
    );
    // A second client that saw only the first two events catches up the same way, with no duplicate.
    const resumed = await readAll(...subscribeRequest(gw.url, 'rest-0.3', taskId, 2));
    assert.deepEqual(
      resumed.events.map((e) => ({ id: idOf(e), what: summarize(e).what })),
      log.slice(2),
    );
  });

  test('resubscribe without Last-Event-ID to a finished task is refused as the spec says; a bad Last-Event-ID is refused by name', async () => {
    const { events } = await readAll(...streamRequest(gw.url, 'jsonrpc-1.0', 'quick'));
    const taskId = summarize(events[0]!).taskId;
    const plain = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 3, method: 'SubscribeToTask', params: { id: taskId } },
      V1,
    );
    assert.match(JSON.stringify(plain.body.error), /has ended .*Last-Event-ID/);
    const [url, req] = subscribeRequest(gw.url, 'rest-1.0', taskId);
    const bad = await fetch(url, { headers: { ...req.headers, 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /Last-Event-ID: expected the id of an event/);
    const unknown = await fetch(`${gw.url}/tasks/no-such-task:subscribe`, {
      headers: { ...V1, 'last-event-id': '0' },
    });
    assert.equal(unknown.status, 404);
  });

  test('a Last-Event-ID past the end of a running task is refused at once in every dialect, as a bad one is, naming it; an id in the log follows the task to its end', async () => {
    const taskId = await sendAtOnce(gw.url, { skill: 'code', backend: 'hang' });
    // Held after its first step: the log stays where it is until the task is canceled.
    const store = gw.gateway.store as unknown as TaskEventStore;
    const last = await waitFor(
      async () => {
        const logged = await store.lastTaskEvent(taskId);
        return logged && summarizeResponse(logged.event) === 'status working Step: before the restart'
          ? logged.seq
          : undefined;
      },
      10_000,
      'the first step to be logged',
    );
    for (const dialect of DIALECTS) {
      const [url, req] = subscribeRequest(gw.url, dialect, taskId);
      const bad = await refusal(url, { ...req, headers: { ...req.headers, 'last-event-id': 'abc' } });
      assert.deepEqual({ status: bad.status, code: bad.code }, REFUSED[dialect], `${dialect}: a bad id`);
      for (const via of ['header', 'param'] as const) {
        // Before the fix this waited for ever: every event to come has an id at or below it, the end too.
        const got = await refusal(...subscribeRequest(gw.url, dialect, taskId, last + 1, via));
        assert.deepEqual(
          got,
          { ...REFUSED[dialect], message: pastTheEnd(last + 1, taskId, last) },
          `${dialect} (${via})`,
        );
      }
    }
    // One before the end, and the end: the rest of the log, then the live events, to the task's end.
    const resumes = DIALECTS.map((dialect, i) =>
      readAll(...subscribeRequest(gw.url, dialect, taskId, last - (i % 2))),
    );
    const canceled = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 9, method: 'CancelTask', params: { id: taskId } },
      V1,
    );
    assert.equal(canceled.body.result?.status?.state, 'TASK_STATE_CANCELED');
    const log = await fullLog(gw.url, taskId);
    for (const [i, resumed] of (await Promise.all(resumes)).entries()) {
      const after = last - (i % 2);
      // 0.3 REST spells the state "cancelled".
      const what = (e: SseEvent): string => summarize(e).what.replace('cancelled', 'canceled');
      assert.deepEqual(
        resumed.events.map((e) => ({ id: idOf(e), what: what(e) })),
        log.filter((e) => e.id > after),
        `${DIALECTS[i]} after ${after}`,
      );
      assert.match(log.at(-1)!.what, /^status canceled/);
    }
  });

  test('100 rounds of "disconnect at a random point, resubscribe with the last id" lose and duplicate nothing', async () => {
    const seed = Number(process.env.REPLAY_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const deadline = Date.now() + 45_000;
    const ROUNDS = 100;
    let rounds = 0;
    let tasks = 0;
    let roundsWithEvents = 0;

    /** Reads until the stream ends, `count` events arrived, or `ms` passed; then drops the connection. */
    const readSome = async (
      [url, req]: [string, SseRequest],
      stop: { count?: number; ms?: number },
    ): Promise<{ events: SseEvent[]; ended: boolean }> => {
      const abort = new AbortController();
      const timer = stop.ms === undefined ? undefined : setTimeout(() => abort.abort(), stop.ms);
      const guard = setTimeout(() => abort.abort(), 10_000);
      const got: SseEvent[] = [];
      let ended = false;
      try {
        const { events } = await openSse(url, { ...req, signal: abort.signal });
        for await (const e of events) {
          got.push(e);
          if (stop.count !== undefined && got.length >= stop.count) break;
        }
        ended = stop.count === undefined || got.length < stop.count;
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
        clearTimeout(guard);
        abort.abort();
      }
      return { events: got, ended };
    };
    const randomStop = (): { count?: number; ms?: number } =>
      random() < 0.6 ? { count: 1 + Math.floor(random() * 4) } : { ms: Math.floor(random() * 30) };

    while (rounds < ROUNDS && Date.now() < deadline) {
      tasks += 1;
      const received: SseEvent[] = [];
      const first = await readSome(
        streamRequest(gw.url, pick(['jsonrpc-1.0', 'jsonrpc-0.3'] as const), 'steady'),
        {
          count: 1 + Math.floor(random() * 3),
        },
      );
      received.push(...first.events);
      assert.ok(received.length > 0, 'the send stream starts with the task');
      const taskId = summarize(received[0]!).taskId;
      let done = received.some((e) => summarize(e).terminal);
      // Each resubscribe is a round; the task's last round reads to the end once the budget is spent.
      for (let guard = 0; !done && guard < 500 && Date.now() < deadline; guard++) {
        const last = idOf(received.at(-1)!);
        const final = rounds >= ROUNDS;
        if (!final) rounds += 1;
        const { events } = await readSome(
          subscribeRequest(gw.url, pick(DIALECTS), taskId, last, pick(['header', 'param'] as const)),
          final ? {} : randomStop(),
        );
        if (events.some((e) => !summarize(e).terminal)) roundsWithEvents += 1;
        received.push(...events);
        done = received.some((e) => summarize(e).terminal);
      }
      assert.ok(done, `task ${taskId} reached its end (seed ${seed})`);
      const got = received.map((e) => ({ id: idOf(e), what: summarize(e).what }));
      const log = await fullLog(gw.url, taskId);
      assert.deepEqual(got, log, `task ${taskId}: every event once, in order (seed ${seed})`);
      assert.deepEqual(
        log.map((e) => e.id),
        log.map((_, i) => i + 1),
      );
      assert.equal(log.length, 34, 'task, started, 30 steps, result, completed');
      assert.equal(got.at(-1)?.what, 'status completed all steps done');
    }
    assert.equal(rounds, ROUNDS, `did ${rounds} rounds before the deadline (seed ${seed})`);
    assert.ok(roundsWithEvents > 10, `${roundsWithEvents} rounds received events`);
    console.log(`replay rounds: ${rounds} over ${tasks} tasks, seed ${seed}`);
  });
});

/** A 1.0 StreamResponse in the words of {@link summarize}. */
function summarizeResponse(r: StreamResponse): string {
  const state = (s: number): string =>
    taskStateToJSON(s)
      .replace(/^TASK_STATE_/, '')
      .toLowerCase()
      .replace('_', '-');
  const p = r.payload;
  if (p?.$case === 'task') return `task ${state(p.value.status!.state)}`;
  if (p?.$case === 'statusUpdate') {
    const part = p.value.status?.message?.parts[0]?.content;
    return `status ${state(p.value.status!.state)} ${part?.$case === 'text' ? part.value : ''}`;
  }
  if (p?.$case === 'artifactUpdate') return `artifact ${p.value.artifact?.artifactId}`;
  return `other ${p?.$case}`;
}

for (const transport of ['JSONRPC', 'HTTP+JSON'] as const) {
  describe(`official @a2a-js/sdk client over ${transport}`, () => {
    let gw: TestGateway;
    before(async () => {
      gw = await startTestGateway({ configYaml: CONFIG, env: { RATE_LIMIT_PER_MINUTE: '0' } });
    });
    after(async () => {
      await gw.stop();
    });

    test('resubscribeTask to a running task: the task, then every later event to the end; with Last-Event-ID, exactly the rest of the log', async () => {
      const factory = new ClientFactory(
        ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: [transport] }),
      );
      const client = await factory.createFromUrl(gw.url);
      const request: SendMessageRequest = {
        tenant: '',
        message: {
          messageId: randomUUID(),
          contextId: '',
          taskId: '',
          role: Role.ROLE_USER,
          parts: [
            { content: { $case: 'text', value: 'go' }, mediaType: 'text/plain', filename: '', metadata: {} },
          ],
          metadata: { skill: 'code', backend: 'slow' },
          extensions: [],
          referenceTaskIds: [],
        },
        configuration: {
          acceptedOutputModes: [],
          taskPushNotificationConfig: undefined,
          returnImmediately: true,
        },
        metadata: undefined,
      };
      const sent = await client.sendMessage(request);
      assert.ok('status' in sent);
      const live: string[] = [];
      for await (const r of client.resubscribeTask({ tenant: '', id: sent.id }))
        live.push(summarizeResponse(r));
      assert.match(live[0]!, /^task (submitted|working)$/);
      assert.equal(live.at(-1), 'status completed slow done');
      const log = await fullLog(gw.url, sent.id);
      assert.deepEqual(
        live.slice(1),
        log.slice(log.length - live.length + 1).map((e) => e.what),
      );

      const rest: string[] = [];
      for await (const r of client.resubscribeTask(
        { tenant: '', id: sent.id },
        { serviceParameters: { 'Last-Event-ID': '2' } },
      )) {
        rest.push(summarizeResponse(r));
      }
      assert.deepEqual(
        rest,
        log.slice(2).map((e) => e.what),
      );
    });
  });
}

describe('a task that waits for input', () => {
  let gw: TestGateway;
  before(async () => {
    const asker = JSON.stringify(join(FAKE_CLI_DIR, 'claude-asks.mjs'));
    gw = await startTestGateway({
      configYaml: `backends:\n  asker: { type: claude, command: ${asker} }\nskills:\n  code: { backend: asker, permissions: ask }\n`,
      env: { INPUT_TIMEOUT: '60' },
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('a resubscriber waiting at input-required sees the reply resume the task to its end; the log replays across the question', async () => {
    const asked = (await sendTask(gw.url, { skill: 'code', input: 'make a file' })).body.result;
    assert.equal(asked.status.state, 'input-required');
    const before = await fullLog(gw.url, asked.id);
    assert.match(before.at(-1)!.what, /^status input-required Allow Bash/);
    const { events } = await openSse(...subscribeRequest(gw.url, 'jsonrpc-1.0', asked.id));
    const received: SseEvent[] = [];
    const reading = (async () => {
      for await (const e of events) received.push(e);
    })();
    const reply = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 2,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: messageId(),
          taskId: asked.id,
          contextId: asked.contextId,
          parts: [{ kind: 'text', text: 'allow' }],
        },
      },
    });
    assert.equal(reply.body.result.status.state, 'completed');
    await reading;
    const log = await fullLog(gw.url, asked.id);
    const seen = received.map((e) => ({ id: idOf(e), what: summarize(e).what }));
    assert.equal(seen[0]!.what, 'task input-required');
    assert.equal(seen[0]!.id, before.at(-1)!.id, 'the snapshot carries the id of the question');
    assert.deepEqual(seen.slice(1), log.slice(before.length));
    assert.match(seen.at(-1)!.what, /^status completed/);
    // A client that saw the question resumes after it; one from the start gets the whole log, question included.
    const rest = await readAll(...subscribeRequest(gw.url, 'rest-1.0', asked.id, before.at(-1)!.id));
    assert.deepEqual(
      rest.events.map((e) => ({ id: idOf(e), what: summarize(e).what })),
      log.slice(before.length),
    );
    assertIncreasing(log.map((e) => e.id));
  });
});

/** A stand-in agent: waits for <go-file> (at most 30 s), prints one line and exits. */
const HELD = `import { existsSync } from 'node:fs';
const deadline = Date.now() + 30000;
while (!existsSync(process.argv[2])) {
  if (Date.now() > deadline) process.exit(3);
  await new Promise((r) => setTimeout(r, 10));
}
process.stdout.write('released\\n');
`;

// On Redis the direct stream path is off: every resubscribe goes through the SDK's handlers, and the log's end is
// read from the task's Redis stream, whichever node wrote it.
describe('on Redis, two nodes sharing the event log', () => {
  const tmp = tempDir('a2a-replay-redis-');
  const goFile = join(tmp.dir, 'go');
  const prefix = 'replay-test:';
  let redis: TestRedisServer | undefined;
  let client: Redis | undefined;
  let a: TestGateway | undefined;
  let b: TestGateway | undefined;
  before(async () => {
    redis = await startRedisServer();
    const held = join(tmp.dir, 'held.mjs');
    writeFileSync(held, HELD);
    const configYaml = [
      'backends:',
      `  held: { type: command, sandbox: off, output: text, command: ${JSON.stringify(process.execPath)}, args: ${JSON.stringify([held, goFile])} }`,
      'skills:',
      '  code: { backend: held }',
      '',
    ].join('\n');
    const env = {
      REDIS_ENABLED: 'true',
      REDIS_URL: redis.url,
      STORE: 'redis',
      REDIS_KEY_PREFIX: prefix,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    };
    a = await startTestGateway({ configYaml, env: { ...env, NODE_ID: 'node-a' } });
    b = await startTestGateway({ configYaml, env: { ...env, NODE_ID: 'node-b' } });
    client = new Redis(redis.url);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    client?.disconnect();
    await redis?.stop();
    tmp.cleanup();
  });

  test('an id past the end is refused at once by either node, naming it; an id in the log resumes on either node to the end', async () => {
    const [nodeA, nodeB] = [a!, b!];
    const taskId = await sendAtOnce(nodeA.url, {});
    const events = new RedisEventStore({ redis: client! }, { prefix, finishedTtlMs: 60_000 });
    // Working and held: the log stays where it is until the go file is written.
    const last = await waitFor(
      async () => {
        const logged = await events.lastTaskEvent(taskId);
        return logged && summarizeResponse(logged.event).startsWith('status working')
          ? logged.seq
          : undefined;
      },
      10_000,
      'the task to be working',
    );
    for (const node of [nodeA, nodeB]) {
      for (const dialect of DIALECTS) {
        const got = await refusal(...subscribeRequest(node.url, dialect, taskId, last + 7));
        assert.deepEqual(got, { ...REFUSED[dialect], message: pastTheEnd(last + 7, taskId, last) }, dialect);
      }
    }
    const resumes = [
      readAll(...subscribeRequest(nodeB.url, 'jsonrpc-1.0', taskId, last - 1), 20_000),
      readAll(...subscribeRequest(nodeA.url, 'rest-1.0', taskId, last, 'param'), 20_000),
    ];
    writeFileSync(goFile, '');
    const [fromB, fromA] = await Promise.all(resumes);
    const log = await fullLog(nodeB.url, taskId);
    assert.match(log.at(-1)!.what, /^status completed/);
    const seen = (r: { events: SseEvent[] }) =>
      r.events.map((e) => ({ id: idOf(e), what: summarize(e).what }));
    assert.deepEqual(
      seen(fromB!),
      log.filter((e) => e.id > last - 1),
      'node B, after the one before the end',
    );
    assert.deepEqual(
      seen(fromA!),
      log.filter((e) => e.id > last),
      'node A, after the end',
    );
  });
});

describe('the event log is bounded per task', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { TASK_EVENT_LOG_LIMIT: '12' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('past TASK_EVENT_LOG_LIMIT the oldest progress goes; the task, state changes and the result stay', async () => {
    const { events } = await readAll(...streamRequest(gw.url, 'rest-1.0', 'chatty'));
    assert.equal(events.length, 44, 'the live stream has every event');
    const taskId = summarize(events[0]!).taskId;
    const log = await fullLog(gw.url, taskId);
    assert.equal(log.length, 12);
    assert.deepEqual(
      log.map((e) => e.what),
      [
        'task submitted',
        'status working running code with chatty',
        ...Array.from({ length: 8 }, (_, i) => `status working Step: step ${33 + i}`),
        `artifact ${taskId}-result`,
        'status completed chatty done',
      ],
    );
    assertIncreasing(log.map((e) => e.id));
    assert.equal(log.at(-1)?.id, 44, 'ids are not reused');
  });
});

describe('replay after a restart', () => {
  test('on SQLite, a finished task replays in full after a restart, and a task the restart cut off ends failed in its log', async () => {
    const tmp = tempDir();
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, CONFIG);
    const env = { DATA_DIR: join(tmp.dir, 'data'), WORKSPACE_ROOTS: tmp.dir, LOG_LEVEL: 'info' };
    let first: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    let second: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    try {
      first = await spawnGateway(env, ['--config', configFile]);
      const done = await readAll(...streamRequest(first.url, 'jsonrpc-0.3', 'quick'));
      const doneId = summarize(done.events[0]!).taskId;
      const before = done.events.map((e) => ({ id: idOf(e), what: summarize(e).what }));
      // A task still running when the process dies: read until its first step, then kill the gateway.
      const abort = new AbortController();
      const { events } = await openSse(
        ...(() => {
          const [url, req] = streamRequest(first.url, 'jsonrpc-1.0', 'hang');
          return [url, { ...req, signal: abort.signal }] as const;
        })(),
      );
      const cut: SseEvent[] = [];
      for await (const e of events) {
        cut.push(e);
        if (summarize(e).what === 'status working Step: before the restart') break;
      }
      abort.abort();
      const cutId = summarize(cut[0]!).taskId;
      first.kill('SIGKILL');
      await first.exited;

      second = await spawnGateway(env, ['--config', configFile]);
      assert.deepEqual(await fullLog(second.url, doneId), before);
      const resumed = await readAll(...subscribeRequest(second.url, 'jsonrpc-1.0', cutId, idOf(cut.at(-1)!)));
      assert.deepEqual(
        resumed.events.map((e) => summarize(e).what),
        ['status failed interrupted: gateway restarted'],
      );
      assert.equal(idOf(resumed.events[0]!), idOf(cut.at(-1)!) + 1);
      const log = await fullLog(second.url, cutId);
      assert.deepEqual(
        log.map((e) => e.what),
        [
          'task submitted',
          'status working running code with hang',
          'status working Step: before the restart',
          'status failed interrupted: gateway restarted',
        ],
      );
    } finally {
      first?.kill('SIGKILL');
      second?.kill('SIGKILL');
      await Promise.all([first?.exited, second?.exited]);
      tmp.cleanup();
    }
  });
});
