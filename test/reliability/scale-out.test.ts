import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  alive,
  FAKE_CLI_DIR,
  getTask,
  replyToTask,
  rpc,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.js';
import { openSse, type SseEvent } from '../helpers/sse.js';
import { PushReceiver } from '../helpers/push-receiver.js';

// Two API nodes and two worker nodes, each a real `serve` process, over a Redis server of the test's own (so it
// can be stopped and started again). The stand-in agent (ticker.mjs) prints its pid and cwd, then a tick every
// GAP ms: the cwd names the worker's DATA_DIR, so a test knows which worker ran a task.

// Long enough that a loaded machine's slow lock renewals are not taken for a dead worker.
const STALL_SEC = 6;
const TERMINAL = new Set(['completed', 'failed', 'canceled', 'rejected']);

interface Node {
  name: string;
  role: 'api' | 'worker';
  dataDir: string;
  proc: GatewayProcess;
}

describe('scale-out: 2 API nodes and 2 worker nodes on Redis with BullMQ', () => {
  const tmp = tempDir('a2a-gw-scale-');
  const work = join(tmp.dir, 'work');
  const configFile = join(tmp.dir, 'gateway.yaml');
  let redis: TestRedisServer;
  const nodes = new Map<string, Node>();

  const envOf = (name: string, dataDir: string): Record<string, string> => ({
    REDIS_ENABLED: 'true',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'scale-test:',
    NODE_ID: name,
    DATA_DIR: dataDir,
    WORKSPACE_ROOTS: work,
    A2A_GATEWAY_CONFIG: configFile,
    MAX_CONCURRENT_TASKS: '4',
    MAX_QUEUED_TASKS: '1000',
    WORKER_STALL_TIMEOUT: String(STALL_SEC),
    RATE_LIMIT_PER_MINUTE: '0',
    PUSH_ALLOWLIST: '127.0.0.1',
    LOG_LEVEL: 'info',
    KILL_GRACE: '0.5',
    SHUTDOWN_TIMEOUT: '2',
  });

  const startNode = async (name: string, role: 'api' | 'worker'): Promise<Node> => {
    const dataDir = join(tmp.dir, `data-${name}`);
    const proc = await spawnGateway(envOf(name, dataDir), ['--role', role]);
    const node = { name, role, dataDir, proc };
    nodes.set(name, node);
    return node;
  };
  const url = (name: string): string => {
    const node = nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node.proc.url;
  };
  /** The worker that ran a task, from the cwd its agent printed (the worker's DATA_DIR is in it). */
  const ranOn = (task: unknown): string | undefined => {
    const text = JSON.stringify(task);
    for (const node of nodes.values())
      if (node.role === 'worker' && text.includes(node.dataDir)) return node.name;
    return undefined;
  };
  const send = (api: string, instructions: string, blocking = false) =>
    sendTask(url(api), { skill: 'code', input: instructions, blocking });

  before(async () => {
    writeFileSync(
      configFile,
      `
backends:
  ticker:
    type: command
    command: ${join(FAKE_CLI_DIR, 'ticker.mjs')}
    # The test reads the pid the agent prints: outside a sandbox, it is the host's.
    sandbox: off
    args: ["{input.instructions}"]
  # Claude Code's permission prompt in miniature: asks to run a command, waits for the answer.
  asker: { type: claude, command: ${JSON.stringify(join(FAKE_CLI_DIR, 'claude-asks.mjs'))}, sandbox: off }
skills:
  code: { backend: ticker }
  refactor_code: { backend: asker, permissions: ask }
`,
    );
    mkdirSync(work, { recursive: true });
    // Durable, as production Redis must be for "nothing acknowledged is lost" (docs/scale-out.md).
    const persistDir = join(tmp.dir, 'redis');
    mkdirSync(persistDir, { recursive: true });
    redis = await startRedisServer({ persistDir });
    await Promise.all([
      startNode('api1', 'api'),
      startNode('api2', 'api'),
      startNode('wk1', 'worker'),
      startNode('wk2', 'worker'),
    ]);
  });

  after(async () => {
    for (const node of nodes.values()) node.proc.kill('SIGTERM');
    await Promise.all(
      [...nodes.values()].map((n) =>
        Promise.race([n.proc.exited, new Promise((r) => setTimeout(r, 10_000))]),
      ),
    );
    for (const node of nodes.values()) node.proc.kill('SIGKILL');
    await redis?.stop();
    tmp.cleanup();
  });

  test('a worker node serves health, readiness and metrics only', async () => {
    const ready = await fetch(`${url('wk1')}/ready`);
    assert.equal(ready.status, 200);
    const card = await fetch(`${url('wk1')}/.well-known/agent-card.json`);
    assert.equal(card.status, 404);
    assert.match(((await card.json()) as { error: string }).error, /worker node/);
  });

  test('200 tasks sent to both API nodes all end completed, run by both workers', async () => {
    const ids: string[] = [];
    const apis = ['api1', 'api2'];
    // Ten senders at a time.
    for (let batch = 0; batch < 20; batch++) {
      const sent = await Promise.all(
        Array.from({ length: 10 }, (_, i) => send(apis[(batch * 10 + i) % 2] ?? 'api1', '1 20')),
      );
      for (const r of sent) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.result?.id, JSON.stringify(r.body));
        ids.push(r.body.result.id as string);
      }
    }
    const ended = new Map<string, unknown>();
    await waitFor(
      async () => {
        const open = ids.filter((id) => !ended.has(id));
        const tasks = await Promise.all(open.map((id, i) => getTask(url(apis[i % 2] ?? 'api1'), id)));
        tasks.forEach((task, i) => {
          if (task && TERMINAL.has(task.status?.state as string)) ended.set(open[i] ?? '', task);
        });
        return ended.size === ids.length ? true : undefined;
      },
      120_000,
      'all 200 tasks to end',
    );
    const states = new Map<string, number>();
    const workers = new Map<string, number>();
    for (const task of ended.values()) {
      const state = (task as { status: { state: string } }).status.state;
      states.set(state, (states.get(state) ?? 0) + 1);
      const w = ranOn(task) ?? 'unknown';
      workers.set(w, (workers.get(w) ?? 0) + 1);
    }
    const reasons = [...ended.values()]
      .filter((t) => (t as { status: { state: string } }).status.state !== 'completed')
      .map((t) => JSON.stringify((t as { status: { message?: unknown } }).status.message).slice(0, 300));
    assert.deepEqual([...states], [['completed', 200]], reasons.join('\n'));
    assert.ok((workers.get('wk1') ?? 0) > 0 && (workers.get('wk2') ?? 0) > 0, JSON.stringify([...workers]));
    assert.equal(workers.get('unknown'), undefined);
  });

  test('a stream on API node 1 follows the task a worker runs; a resubscribe on API node 2 replays it with no gap or duplicate', async () => {
    const signal = AbortSignal.timeout(30_000);
    const stream = await openSse(url('api1'), {
      body: {
        jsonrpc: '2.0',
        id: 7,
        method: 'message/stream',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: `stream-${Date.now()}`,
            parts: [{ kind: 'text', text: '8 250' }],
            metadata: { skill: 'code' },
          },
        },
      },
      signal,
    });
    assert.equal(stream.status, 200);
    const first: SseEvent[] = [];
    let taskId = '';
    let resumed: Promise<SseEvent[]> | undefined;
    let resumeAfter = 0;
    for await (const event of stream.events) {
      first.push(event);
      const result = (JSON.parse(event.data) as { result?: { id?: string; taskId?: string } }).result;
      taskId ||= result?.taskId ?? result?.id ?? '';
      // After a few events, a second client resumes on the other API node from the one it saw last.
      if (!resumed && first.length === 3) {
        resumeAfter = Number(event.id);
        resumed = (async () => {
          const again = await openSse(url('api2'), {
            headers: { 'last-event-id': String(resumeAfter) },
            body: { jsonrpc: '2.0', id: 8, method: 'tasks/resubscribe', params: { id: taskId } },
            signal,
          });
          assert.equal(again.status, 200);
          const out: SseEvent[] = [];
          for await (const e of again.events) out.push(e);
          return out;
        })();
      }
    }
    assert.ok(resumed, 'the stream had more than three events');
    const replayed = await resumed;
    const ids = first.map((e) => Number(e.id));
    assert.ok(
      ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > (ids[i - 1] ?? 0))),
      `ids grow: ${ids.join(',')}`,
    );
    const texts = first.map((e) => e.data).join('\n');
    assert.match(texts, /tick 8/, 'the progress of the run reached the stream');
    const last = JSON.parse(first.at(-1)?.data ?? '{}') as { result?: { status?: { state?: string } } };
    assert.equal(last.result?.status?.state, 'completed');
    assert.deepEqual(
      replayed.map((e) => Number(e.id)),
      ids.filter((id) => id > resumeAfter),
      'API node 2 replays exactly the events after Last-Event-ID',
    );
    const task = await getTask(url('api2'), taskId);
    assert.equal(task.status.state, 'completed');
    assert.ok(ranOn(task), 'a worker ran it');
  });

  test('push notifications of a task a worker runs are sent once, by the API node that took it', async () => {
    const receiver = await PushReceiver.start();
    try {
      const sent = await rpc(url('api1'), {
        jsonrpc: '2.0',
        id: 11,
        method: 'message/send',
        params: {
          message: {
            kind: 'message',
            role: 'user',
            messageId: `push-${Date.now()}`,
            parts: [{ kind: 'text', text: '3 100' }],
            metadata: { skill: 'code' },
          },
          configuration: {
            blocking: true,
            pushNotificationConfig: { url: receiver.url(), token: 'scale-push' },
          },
        },
      });
      assert.equal(sent.body.result?.status?.state, 'completed', JSON.stringify(sent.body));
      const id = sent.body.result.id as string;
      // Give any second sender (another node, the worker) the time to show itself.
      await new Promise((r) => setTimeout(r, 1500));
      const ends = receiver.received.filter((p) => {
        const body = JSON.parse(p.body) as Record<string, unknown>;
        return (
          JSON.stringify(body).includes(id) && /"state":"(?:completed|TASK_STATE_COMPLETED)"/.test(p.body)
        );
      });
      assert.equal(
        ends.length,
        1,
        `one push says the task completed: ${receiver.received.length} pushes in all`,
      );
      assert.equal(ends[0]?.headers['x-a2a-notification-token'], 'scale-push');
    } finally {
      await receiver.close();
    }
  });

  test('a follow-up in the same context runs on whichever worker takes it, after the first turn', async () => {
    const first = await send('api1', '1 10', true);
    assert.equal(first.body.result?.status?.state, 'completed');
    const contextId = first.body.result.contextId as string;
    const turns = await Promise.all(
      ['api2', 'api1', 'api2'].map((api) =>
        sendTask(url(api), { skill: 'code', input: '2 100', blocking: true, message: { contextId } }),
      ),
    );
    for (const t of turns) {
      assert.equal(t.body.result?.status?.state, 'completed', JSON.stringify(t.body).slice(0, 500));
      assert.equal(t.body.result.contextId, contextId);
    }
  });

  test("a worker's run asks: the task is input-required on the API node that took it, the reply there resumes the run on the worker; a reply sent to the other API node is refused naming the node", async () => {
    const started = await sendTask(url('api1'), { skill: 'refactor_code', input: 'make a file' });
    const task = started.body.result;
    assert.equal(task?.status?.state, 'input-required', JSON.stringify(started.body).slice(0, 600));
    assert.match(JSON.stringify(task.status.message), /Allow Bash: touch asked\.txt\?/);
    const elsewhere = await replyToTask(url('api2'), task, 'allow');
    assert.match(JSON.stringify(elsewhere.body), /waits for its reply on API node api1/);
    assert.equal(
      (await getTask(url('api2'), task.id)).status.state,
      'input-required',
      'the refusal changed nothing',
    );
    const done = (await replyToTask(url('api1'), task, 'allow')).body.result;
    assert.equal(done?.status?.state, 'completed', JSON.stringify(done?.status).slice(0, 600));
    assert.match(JSON.stringify(done), /allowed/);
  });

  test('a cancel sent to API node 2 stops the task API node 1 took, on the worker that runs it', async () => {
    const sent = await send('api1', '300 100');
    const id = sent.body.result.id as string;
    const pid = await waitFor(
      async () => {
        const text = JSON.stringify(await getTask(url('api1'), id));
        const m = /pid (\d+)/.exec(text);
        return m ? Number(m[1]) : undefined;
      },
      20_000,
      'the agent to start',
    );
    const canceled = await rpc(url('api2'), {
      jsonrpc: '2.0',
      id: 9,
      method: 'tasks/cancel',
      params: { id },
    });
    assert.equal(canceled.body.result?.status?.state, 'canceled', JSON.stringify(canceled.body));
    await waitFor(() => (alive(pid) ? undefined : true), 10_000, 'the agent process to be gone');
    // The run's own end (canceled) does not turn the task into anything else.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await getTask(url('api1'), id)).status.state, 'canceled');
  });

  test(`SIGKILL of the worker running a task: the task fails with the reason within about the stall time (${STALL_SEC} s)`, async () => {
    const sent = await send('api2', '300 100');
    const id = sent.body.result.id as string;
    const { pid, worker } = await waitFor(
      async () => {
        const task = await getTask(url('api2'), id);
        const m = /pid (\d+)/.exec(JSON.stringify(task));
        const w = ranOn(task);
        return m && w ? { pid: Number(m[1]), worker: w } : undefined;
      },
      20_000,
      'the agent to start',
    );
    const node = nodes.get(worker);
    assert.ok(node);
    const killedAt = Date.now();
    node.proc.kill('SIGKILL');
    await node.proc.exited;
    const task = await waitFor(
      async () => {
        const t = await getTask(url('api1'), id);
        return TERMINAL.has(t?.status?.state as string) ? t : undefined;
      },
      STALL_SEC * 1000 * 4 + 5000,
      'the task to end after its worker died',
    );
    const tookMs = Date.now() - killedAt;
    assert.equal(task.status.state, 'failed');
    assert.match(JSON.stringify(task.status.message), /stopped answering/);
    console.log(`# the task failed ${tookMs} ms after its worker was killed (stall time ${STALL_SEC} s)`);
    // The agent the dead worker started is this test's to end (by its pid).
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    // The worker comes back under its name and data directory.
    await startNode(worker, 'worker');
  });

  test('SIGKILL of the API node that took a running task: the task still ends completed, recorded by the other API node', async () => {
    const sent = await send('api2', '30 100');
    const id = sent.body.result.id as string;
    await waitFor(
      async () => (/pid \d+/.test(JSON.stringify(await getTask(url('api1'), id))) ? true : undefined),
      20_000,
      'the agent to start',
    );
    const api2 = nodes.get('api2');
    assert.ok(api2);
    api2.proc.kill('SIGKILL');
    await api2.proc.exited;
    const task = await waitFor(
      async () => {
        const t = await getTask(url('api1'), id);
        return TERMINAL.has(t?.status?.state as string) ? t : undefined;
      },
      30_000,
      'the task to end after the API node that took it died',
    );
    assert.equal(task.status.state, 'completed', JSON.stringify(task.status).slice(0, 400));
    assert.match(JSON.stringify(task), /done in/);
    await startNode('api2', 'api');
  });

  test('with every worker down, sends wait in Redis; a worker started (again) takes them and they complete', async () => {
    const workers = [...nodes.values()].filter((n) => n.role === 'worker');
    for (const w of workers) w.proc.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.proc.exited));
    const ids: string[] = [];
    for (const api of ['api1', 'api2', 'api1']) {
      const r = await send(api, '2 50');
      assert.ok(r.body.result?.id, JSON.stringify(r.body));
      ids.push(r.body.result.id as string);
    }
    // The jobs are there before any worker is: the one that starts takes them as it comes up.
    await Promise.all(workers.map((w) => startNode(w.name, 'worker')));
    for (const id of ids) {
      const task = await waitFor(
        async () => {
          const t = await getTask(url('api2'), id);
          return TERMINAL.has(t?.status?.state as string) ? t : undefined;
        },
        30_000,
        `task ${id} to end`,
      );
      assert.equal(task.status.state, 'completed', JSON.stringify(task.status).slice(0, 400));
    }
  });

  test('Redis stopped for 10 s under load: every send is refused with a clear error or acknowledged and ends; none stuck, no restart', async () => {
    const acknowledged: string[] = [];
    const refused: string[] = [];
    const apis = ['api1', 'api2'];
    const started = Date.now();
    let stopped = false;
    let restarted = false;
    // One send every 100 ms for 16 s (at most 160), Redis away from the 3rd to the 13th second.
    for (let i = 0; i < 160 && Date.now() - started < 16_000; i++) {
      const at = Date.now() - started;
      if (!stopped && at >= 3000) {
        stopped = true;
        await redis.stop();
      }
      if (stopped && !restarted && at >= 13_000) {
        restarted = true;
        await redis.start();
      }
      const api = apis[i % 2] ?? 'api1';
      const r = await send(api, '3 100').catch((err: unknown) => ({ status: 0, body: String(err) }));
      if (r.status === 200 && r.body?.result?.id) acknowledged.push(r.body.result.id as string);
      else {
        const text = JSON.stringify(r.body);
        assert.match(text, /redis/i, `a refusal names Redis: ${r.status} ${text}`);
        refused.push(text);
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    if (!restarted) await redis.start();
    assert.ok(refused.length > 0, 'sends during the outage were refused');
    assert.ok(acknowledged.length > 0, 'sends before and after it were taken');
    // Every node is ready again by itself.
    for (const name of nodes.keys()) {
      await waitFor(
        async () => ((await fetch(`${url(name)}/ready`)).status === 200 ? true : undefined),
        30_000,
        `${name} to be ready again`,
      );
    }
    const states = new Map<string, number>();
    for (const id of acknowledged) {
      const task = await waitFor(
        async () => {
          const t = await getTask(url('api1'), id);
          return TERMINAL.has(t?.status?.state as string) ? t : undefined;
        },
        60_000,
        `acknowledged task ${id} to end`,
      ).catch(async (err: unknown) => {
        // What the nodes said of it, to see where it stopped.
        const said = [...nodes.values()].flatMap((n) =>
          n.proc
            .output()
            .split('\n')
            .filter((l) => l.includes(id) && !l.includes('"msg":"request"'))
            .map((l) => `${n.name}: ${l.slice(0, 400)}`),
        );
        console.log(
          `# stuck: ${String(JSON.stringify(await getTask(url('api1'), id))).slice(0, 1500)}\n${said.join('\n')}`,
        );
        throw err;
      });
      const state = task.status.state as string;
      states.set(state, (states.get(state) ?? 0) + 1);
      if (state !== 'completed') assert.ok(JSON.stringify(task.status.message).length > 0, 'with a reason');
    }
    console.log(
      `# outage: ${acknowledged.length} acknowledged (${JSON.stringify([...states])}), ${refused.length} refused naming Redis`,
    );
    // After the outage, a new task runs as before.
    const after = await send('api2', '1 10', true);
    assert.equal(after.body.result?.status?.state, 'completed', JSON.stringify(after.body));
  });
});
