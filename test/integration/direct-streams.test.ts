// The direct stream path (src/transport/direct-streams.ts) against the SDK's path: the same bytes for the same
// task, live and replayed, on JSON-RPC and REST; and what happens to a subscriber that does not read.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TaskState, type StreamResponse } from '@a2a-js/sdk';
import { TaskEventLog } from '../../src/events/task-event-log.js';
import { statusEvent } from '../contracts/task-event-store.js';
import type { TaskEventStore } from '../../src/stores/types.js';
import {
  rpc,
  sendMessage10,
  startTestGateway,
  tempDir,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

const KEY = 'direct-streams-test-key-0123456789';
const V1 = { 'a2a-version': '1.0', 'x-api-key': KEY };

/**
 * A stand-in agent: waits for <go-file> (at most 30 s), then prints <count> lines, <gap> ms apart: text lines of
 * <size> bytes, or (jsonl) tool calls whose summary is <size> bytes, each its own event however fast they come.
 */
const EMITTER = `import { existsSync } from 'node:fs';
const [goFile, count, gap, size, mode] = process.argv.slice(2).map((a, i) => (i === 0 || i === 4 ? a : Number(a)));
const deadline = Date.now() + 30000;
while (!existsSync(goFile)) {
  if (Date.now() > deadline) process.exit(3);
  await new Promise((r) => setTimeout(r, 10));
}
for (let i = 0; i < count; i++) {
  const text = \`line \${i} ünï "q" <t> \`;
  const padded = text + 'x'.repeat(Math.max(0, size - text.length));
  const line = mode === 'jsonl' ? JSON.stringify({ type: 'tool_call', name: 'Step', summary: padded }) : padded;
  if (!process.stdout.write(line + '\\n')) await new Promise((r) => process.stdout.once('drain', r));
  if (gap > 0) await new Promise((r) => setTimeout(r, gap));
}
`;

type Emit = [count: number, gapMs: number, size: number, mode: 'text' | 'jsonl'];

function config(dir: string, backends: Record<string, Emit>): string {
  const emitter = join(dir, 'emit.mjs');
  writeFileSync(emitter, EMITTER);
  const lines = ['backends:'];
  for (const [name, [count, gap, size, mode]] of Object.entries(backends)) {
    const args = [emitter, join(dir, `go-${name}`), String(count), String(gap), String(size), mode];
    lines.push(
      `  ${name}: { type: command, sandbox: off, output: ${mode}, command: ${JSON.stringify(process.execPath)}, args: ${JSON.stringify(args)} }`,
    );
  }
  lines.push('skills:', `  code: { backend: ${Object.keys(backends)[0]} }`, 'allowBackendOverride: true', '');
  return lines.join('\n');
}

interface Raw {
  status: number;
  /** Header names and values as sent, in order, without Date. */
  headers: string[];
  body: string;
  /** The response ended as a stream ends (not cut off). */
  complete: boolean;
}

type Sub = { binding: 'jsonrpc' | 'rest'; lastEventId?: number; via?: 'header' | 'param'; rpcId?: unknown };

/**
 * Opens a subscribe on the direct path (`sdk: false`) or the SDK's (a tenant of '' it treats as none). `within`
 * bounds the whole answer, heartbeats or not (a stream that never ends rejects then).
 */
function subscribe(
  base: string,
  taskId: string,
  sub: Sub & { sdk: boolean; method?: 'GET' | 'POST'; within?: number },
): Promise<Raw> {
  const headers: Record<string, string> = { ...V1, accept: 'text/event-stream' };
  if (sub.lastEventId !== undefined && sub.via !== 'param')
    headers['last-event-id'] = String(sub.lastEventId);
  let path: string;
  let body: string | undefined;
  if (sub.binding === 'jsonrpc') {
    path = '/';
    headers['content-type'] = 'application/json';
    const params: Record<string, unknown> = { id: taskId };
    if (sub.lastEventId !== undefined && sub.via === 'param') params.lastEventId = sub.lastEventId;
    if (sub.sdk) params.tenant = '';
    body = JSON.stringify({ jsonrpc: '2.0', id: sub.rpcId ?? 7, method: 'SubscribeToTask', params });
  } else {
    const query: string[] = [];
    if (sub.lastEventId !== undefined && sub.via === 'param') query.push(`lastEventId=${sub.lastEventId}`);
    if (sub.sdk) query.push('tenant=');
    path = `/tasks/${taskId}:subscribe${query.length > 0 ? `?${query.join('&')}` : ''}`;
  }
  return new Promise((resolve, reject) => {
    let late: Error | undefined;
    const req = request(
      `${base}${path}`,
      { method: sub.method ?? (body === undefined ? 'GET' : 'POST'), headers },
      (res) => {
        const chunks: Buffer[] = [];
        let complete = false;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          complete = true;
        });
        res.on('close', () => {
          if (late) {
            reject(late);
            return;
          }
          const raw = res.rawHeaders;
          const pairs: string[] = [];
          for (let i = 0; i < raw.length; i += 2) {
            const name = raw[i]!.toLowerCase();
            // The date and the trace id are the request's own; the rest is what the path wrote.
            if (name === 'date') continue;
            pairs.push(name === 'traceresponse' ? `${raw[i]}: (trace)` : `${raw[i]}: ${raw[i + 1]}`);
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: pairs,
            body: Buffer.concat(chunks).toString('utf8'),
            complete,
          });
        });
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('subscribe timed out')));
    const within = sub.within;
    const bound =
      within === undefined
        ? undefined
        : setTimeout(() => {
            late = new Error(`the answer did not end within ${within} ms`);
            req.destroy(late);
          }, within);
    req.on('close', () => clearTimeout(bound));
    req.on('error', reject);
    req.end(body);
  });
}

const HEARTBEAT = ': keepalive\n\n';
const withoutHeartbeats = (raw: Raw): Raw => ({ ...raw, body: raw.body.split(HEARTBEAT).join('') });

async function workingTask(gw: TestGateway, backend: string): Promise<string> {
  const taskId = await sendMessage10(gw.url, {
    headers: V1,
    text: 'go',
    metadata: { backend },
    returnImmediately: true,
  });
  // Subscribed once the task is working and quiet, every subscriber's snapshot is the same.
  await waitFor(
    async () => {
      const got = await rpc(gw.url, { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: taskId } }, V1);
      return got.body.result?.status?.state === 'TASK_STATE_WORKING' ? true : undefined;
    },
    10_000,
    'the task to be working',
  );
  return taskId;
}

/** Counts live subscriptions to the event log: one per subscriber on the SDK's path, one per task on the direct. */
let logSubscriptions = 0;
// eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, called with its own `this`
const realSubscribe = TaskEventLog.prototype.subscribe;

describe('direct stream path: the bytes the SDK path writes', () => {
  let gw: TestGateway;
  const tmp = tempDir('a2a-direct-streams-');
  before(async () => {
    TaskEventLog.prototype.subscribe = function (this: TaskEventLog, ...args) {
      logSubscriptions += 1;
      return realSubscribe.apply(this, args);
    };
    gw = await startTestGateway({
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', SSE_HEARTBEAT_SECONDS: '0.2', RATE_LIMIT_PER_MINUTE: '0' },
      configYaml: config(tmp.dir, { lines: [6, 60, 40, 'text'], held: [3, 0, 40, 'text'] }),
    });
  });
  after(async () => {
    TaskEventLog.prototype.subscribe = realSubscribe;
    await gw.stop();
    tmp.cleanup();
  });

  const CASES: Sub[] = [
    { binding: 'jsonrpc' },
    { binding: 'jsonrpc', rpcId: 'req-"1"' },
    { binding: 'jsonrpc', lastEventId: 0 },
    { binding: 'jsonrpc', lastEventId: 2, via: 'param' },
    { binding: 'rest' },
    { binding: 'rest', lastEventId: 1 },
    { binding: 'rest', lastEventId: 2, via: 'param' },
    // More request ids than one event keeps built frames for: the rest are spliced per subscriber.
    ...Array.from({ length: 10 }, (_, i): Sub => ({
      binding: 'jsonrpc',
      rpcId: i % 2 ? 100 + i : `ïd-${i}`,
    })),
  ];
  const label = (c: Sub): string =>
    `${c.binding}${c.rpcId !== undefined ? ` id ${JSON.stringify(c.rpcId)}` : ''}${c.lastEventId !== undefined ? ` Last-Event-ID ${c.lastEventId} (${c.via ?? 'header'})` : ''}`;

  test('live: every case subscribed on both paths to one running task gets the same status, headers and body', async () => {
    const taskId = await workingTask(gw, 'lines');
    logSubscriptions = 0;
    const direct = CASES.map((c) => subscribe(gw.url, taskId, { ...c, sdk: false }));
    const restPost = subscribe(gw.url, taskId, { binding: 'rest', sdk: false, method: 'POST' });
    await new Promise((r) => setTimeout(r, 300));
    const directSubscriptions = logSubscriptions;
    const viaSdk = CASES.map((c) => subscribe(gw.url, taskId, { ...c, sdk: true }));
    // Heartbeats go out while the task is quiet; then the lines come.
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(join(tmp.dir, 'go-lines'), '');
    const [a, b] = [await Promise.all(direct), await Promise.all(viaSdk)];
    assert.ok(directSubscriptions <= 1, `the direct path served (${directSubscriptions} log subscriptions)`);
    assert.ok(logSubscriptions - directSubscriptions >= CASES.length - 1, 'the SDK path served the others');
    for (const [i, c] of CASES.entries()) {
      assert.equal(a[i]!.status, 200, label(c));
      assert.ok(a[i]!.complete, `${label(c)}: the stream ended`);
      assert.deepEqual(withoutHeartbeats(a[i]!), withoutHeartbeats(b[i]!), label(c));
    }
    // The expected content, beyond "the same": ids, the snapshot first, the lines, the end.
    const plain = a[0]!.body.split(HEARTBEAT).join('');
    assert.ok(a[0]!.body.includes(HEARTBEAT), 'heartbeats on the direct path');
    assert.match(plain, /^id: \d+\ndata: \{"jsonrpc":"2\.0","id":7,"result":\{"task":/);
    assert.match(plain, /line 5 ünï \\"q\\" <t> x+/);
    assert.match(plain, /"state":"TASK_STATE_COMPLETED"[^\n]*\n\n$/);
    const restGet = a[CASES.findIndex((c) => c.binding === 'rest' && c.lastEventId === undefined)]!;
    assert.deepEqual(withoutHeartbeats(await restPost), withoutHeartbeats(restGet), 'REST POST as GET');
  });

  test('replay of a finished task after Last-Event-ID, and the refusals, are the same on both paths', async () => {
    const taskId = await workingTask(gw, 'lines');
    writeFileSync(join(tmp.dir, 'go-lines'), '');
    await waitFor(
      async () => {
        const got = await rpc(
          gw.url,
          { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: taskId } },
          V1,
        );
        return got.body.result?.status?.state === 'TASK_STATE_COMPLETED' ? true : undefined;
      },
      15_000,
      'the task to complete',
    );
    const last = (await (gw.gateway.store as unknown as TaskEventStore).lastTaskEvent(taskId))?.seq ?? 0;
    const cases: Sub[] = [
      ...CASES,
      { binding: 'jsonrpc', lastEventId: 1, rpcId: 0 },
      { binding: 'rest', lastEventId: 0 },
      { binding: 'rest', lastEventId: last },
      { binding: 'jsonrpc', lastEventId: last, via: 'param' },
      { binding: 'rest', lastEventId: 500 },
      { binding: 'jsonrpc', lastEventId: last + 1 },
    ];
    for (const c of cases) {
      logSubscriptions = 0;
      const direct = await subscribe(gw.url, taskId, { ...c, sdk: false, within: 10_000 });
      const served = logSubscriptions;
      const viaSdk = await subscribe(gw.url, taskId, { ...c, sdk: true, within: 10_000 });
      assert.deepEqual(direct, viaSdk, label(c));
      if (c.lastEventId === undefined) {
        // Refused (the task has ended): an error either way, answered by the SDK's path.
        assert.match(direct.body, /has ended/, label(c));
      } else if (c.lastEventId > last) {
        // No client can have seen an event after the last: refused as a running task's would be.
        assert.match(
          direct.body,
          new RegExp(
            `Last-Event-ID: ${c.lastEventId} is past the last event of task ${taskId} \\(${last}\\)`,
          ),
          label(c),
        );
        assert.equal(direct.status, c.binding === 'rest' ? 400 : 200, label(c));
      } else {
        assert.equal(served, 1, `${label(c)}: the direct path served`);
        assert.equal(direct.status, 200);
        assert.ok(direct.complete);
      }
    }
    // Unknown task and a bad Last-Event-ID: the SDK's errors.
    for (const c of [{ binding: 'jsonrpc' }, { binding: 'rest' }] as const) {
      const unknown = await subscribe(gw.url, 'no-such-task', { ...c, lastEventId: 0, sdk: false });
      assert.deepEqual(unknown, await subscribe(gw.url, 'no-such-task', { ...c, lastEventId: 0, sdk: true }));
      assert.notEqual(unknown.body.indexOf('not found'), -1, unknown.body);
    }
    const bad = { headers: { ...V1, 'last-event-id': 'abc' } };
    const res = await fetch(`${gw.url}/tasks/${taskId}:subscribe`, bad);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /Last-Event-ID: expected the id of an event/);
  });

  test(
    'a Last-Event-ID past the end of a running task is refused at once, naming it, the same on both paths; an id in the log still replays and the stream ends with the task',
    { timeout: 60_000 },
    async () => {
      const taskId = await workingTask(gw, 'held');
      const events = gw.gateway.store as unknown as TaskEventStore;
      const last = (await events.lastTaskEvent(taskId))?.seq ?? 0;
      assert.ok(last >= 2, `the task has logged events (${last})`);
      const past = last + 5;
      const message = `Last-Event-ID: ${past} is past the last event of task ${taskId} (${last}); expected a whole number from 0 to ${last}`;
      const refused: Sub[] = [
        { binding: 'jsonrpc', lastEventId: past },
        { binding: 'jsonrpc', lastEventId: past, via: 'param' },
        { binding: 'rest', lastEventId: past },
        { binding: 'rest', lastEventId: past, via: 'param' },
      ];
      for (const c of refused) {
        // Before the fix each of these waited for ever (heartbeats, then nothing): the bound says so.
        const direct = await subscribe(gw.url, taskId, { ...c, sdk: false, within: 5_000 });
        const viaSdk = await subscribe(gw.url, taskId, { ...c, sdk: true, within: 5_000 });
        assert.deepEqual(direct, viaSdk, label(c));
        assert.ok(direct.complete, label(c));
        if (c.binding === 'rest') {
          assert.equal(direct.status, 400, label(c));
          const body = JSON.parse(direct.body) as {
            error: { code: number; status: string; message: string };
          };
          assert.deepEqual(
            { code: body.error.code, status: body.error.status, message: body.error.message },
            { code: 400, status: 'INVALID_ARGUMENT', message },
            label(c),
          );
        } else {
          assert.equal(direct.status, 200, label(c));
          const body = JSON.parse(direct.body) as { id: number; error: { code: number; message: string } };
          assert.deepEqual(
            { id: body.id, code: body.error.code, message: body.error.message },
            { id: 7, code: -32602, message },
            label(c),
          );
        }
      }
      // The log's last id, and one before it: the rest of the log (nothing, or one event), then the live events
      // to the task's end, the same on both paths.
      const resumed: Sub[] = [
        { binding: 'jsonrpc', lastEventId: last },
        { binding: 'rest', lastEventId: last - 1, via: 'param' },
      ];
      logSubscriptions = 0;
      const direct = resumed.map((c) => subscribe(gw.url, taskId, { ...c, sdk: false, within: 20_000 }));
      const viaSdk = resumed.map((c) => subscribe(gw.url, taskId, { ...c, sdk: true, within: 20_000 }));
      // Every subscriber is in before the task goes on (its log has not moved meanwhile).
      await waitFor(
        () => (logSubscriptions >= resumed.length + 1 ? true : undefined),
        5_000,
        'the subscribers to be in',
      );
      writeFileSync(join(tmp.dir, 'go-held'), '');
      const [a, b] = [await Promise.all(direct), await Promise.all(viaSdk)];
      for (const [i, c] of resumed.entries()) {
        assert.equal(a[i]!.status, 200, label(c));
        assert.ok(a[i]!.complete, `${label(c)}: the stream ended`);
        assert.deepEqual(withoutHeartbeats(a[i]!), withoutHeartbeats(b[i]!), label(c));
        const ids = [...a[i]!.body.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
        assert.equal(ids[0], c.lastEventId! + 1, `${label(c)}: the first event is the one after its id`);
        assert.match(withoutHeartbeats(a[i]!).body, /"state":"TASK_STATE_COMPLETED"[^\n]*\n\n$/, label(c));
      }
    },
  );
});

describe('direct stream path: a subscriber that does not read', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { API_KEY: KEY, LOG_LEVEL: 'warn', SSE_MAX_BUFFERED: '1mb', RATE_LIMIT_PER_MINUTE: '0' },
      configYaml: [
        'backends:',
        '  idle: { type: fake, steps: [{ sleepMs: 60000 }] }',
        'skills:',
        '  code: { backend: idle }',
        'allowBackendOverride: true',
        '',
      ].join('\n'),
    });
  });
  after(async () => {
    await gw.stop();
  });

  test(
    'is cut off once its unsent bytes pass SSE_MAX_BUFFERED; the others get every event; it resumes by Last-Event-ID',
    { timeout: 60_000 },
    async () => {
      const taskId = await workingTask(gw, 'idle');
      // The stalled one: takes its headers, then reads nothing until the flood is over.
      let resumeStalled: (() => void) | undefined;
      let stalledType: string | undefined;
      const stalled = new Promise<{ body: string; cut: boolean }>((resolve, reject) => {
        const req = request(`${gw.url}/tasks/${taskId}:subscribe`, { headers: V1 }, (res) => {
          stalledType = res.headers['content-type'];
          res.pause();
          const chunks: Buffer[] = [];
          let ended = false;
          res.on('end', () => (ended = true));
          res.on('error', () => undefined);
          res.on('close', () => resolve({ body: Buffer.concat(chunks).toString('utf8'), cut: !ended }));
          resumeStalled = () => {
            res.on('data', (c: Buffer) => chunks.push(c));
            res.resume();
          };
        });
        req.on('error', reject);
        req.end();
      });
      const reader = subscribe(gw.url, taskId, { binding: 'rest', sdk: false });
      await waitFor(() => resumeStalled, 5_000, 'the stalled subscriber to get its headers');
      // The flood, straight into the task's event log (so no task history grows with it): 3,000 progress events of
      // ~4 KB (12 MB), past the ~4 MB the kernel's socket buffers hold on loopback and the 1 MB limit; then the end.
      const events = gw.gateway.store as unknown as TaskEventStore;
      const first = ((await events.lastTaskEvent(taskId))?.seq ?? 0) + 1;
      const status = (state: TaskState, text: string): StreamResponse => statusEvent(taskId, state, text);
      const COUNT = 3000;
      for (let i = 0; i < COUNT; i++) {
        const event = status(TaskState.TASK_STATE_WORKING, `step ${i} ${'x'.repeat(4000)}`);
        await events.appendTaskEvent(taskId, { seq: first + i, droppable: false, event }, 100_000);
        // Lets the reader (in this process) read between batches, as a client on its own would.
        if (i % 50 === 49) await new Promise((r) => setImmediate(r));
      }
      await events.appendTaskEvent(
        taskId,
        { seq: first + COUNT, droppable: false, event: status(TaskState.TASK_STATE_COMPLETED, 'done') },
        100_000,
      );
      const read = await reader;
      assert.ok(read.complete, 'the reading subscriber got the stream to its end');
      assert.equal(read.body.split('\n\n').filter((e) => e.includes('"statusUpdate"')).length, COUNT + 1);
      resumeStalled!();
      const cut = await stalled;
      assert.equal(stalledType, 'text/event-stream');
      assert.ok(cut.cut, 'the stalled subscriber was cut off, not given the stream end');
      assert.doesNotMatch(cut.body, /TASK_STATE_COMPLETED/);
      assert.ok(cut.body.length < 8_000_000, `it was sent ${cut.body.length} bytes, not the 12 MB`);
      // What it got is whole up to its last id; after that id it resumes and ends where the reader ended.
      const ids = [...cut.body.matchAll(/^id: (\d+)\ndata: [^\n]*\n\n/gm)].map((m) => Number(m[1]));
      const lastId = ids.at(-1) ?? 0;
      const resumed = await subscribe(gw.url, taskId, { binding: 'rest', sdk: false, lastEventId: lastId });
      const split = (body: string): string[] => body.split(HEARTBEAT).join('').split('\n\n').filter(Boolean);
      const readEvents = split(read.body);
      const at = readEvents.findIndex((e) => e.startsWith(`id: ${lastId}\n`));
      assert.ok(at >= 0, `the reader saw id ${lastId}`);
      assert.deepEqual(split(resumed.body), readEvents.slice(at + 1), 'nothing lost, nothing twice');
    },
  );
});
