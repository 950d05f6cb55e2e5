import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  alive,
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

function send(
  url: string,
  skill: string,
  text: string,
  extra: Record<string, unknown> = {},
  blocking = true,
) {
  return sendTask(url, { skill, input: text, metadata: extra, blocking });
}

/** The most [start, end] intervals from the log that overlap at any instant. */
function maxOverlap(log: string): { max: number; runs: number } {
  const points: Array<[number, number]> = [];
  for (const line of log.trim().split('\n')) {
    const [kind, , ms] = line.split(' ');
    points.push([Number(ms), kind === 'start' ? 1 : -1]);
  }
  // At equal times count starts first, so touching intervals are counted as overlapping (the strict reading).
  points.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of points) {
    cur += d;
    max = Math.max(max, cur);
  }
  return { max, runs: points.filter((p) => p[1] === 1).length };
}

describe('scheduler limits', () => {
  let gw: TestGateway;
  let logFile: string;
  before(async () => {
    gw = await startTestGateway({
      env: { MAX_CONCURRENT_TASKS: '5', MAX_QUEUED_TASKS: '50' },
      configYaml: `
backends:
  tracked:
    type: command
    command: ${join(FAKE_CLI_DIR, 'track-run.mjs')}
    # Its log is outside the workspace, where a sandboxed run cannot write.
    sandbox: off
    args: ["{input.instructions}", "250"]
skills:
  code: { backend: tracked }
`,
    });
    logFile = join(gw.dataDir, 'runs.log');
  });
  after(async () => {
    await gw.stop();
  });

  test('20 tasks sent at once with the limit at 5: never more than 5 children alive, all 20 complete', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => send(gw.url, 'code', logFile)));
    const states = results.map((r) => r.body.result?.status?.state);
    assert.deepEqual(
      states,
      Array(20).fill('completed'),
      JSON.stringify(results.find((r) => !r.body.result)?.body),
    );
    const { max, runs } = maxOverlap(readFileSync(logFile, 'utf8'));
    assert.equal(runs, 20);
    assert.ok(max <= 5, `at most 5 at once, saw ${max}`);
    assert.ok(max >= 2, `tasks did run in parallel (saw ${max})`);
  });
});

describe('queue limit', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { MAX_CONCURRENT_TASKS: '1', MAX_QUEUED_TASKS: '1' },
      configYaml: `
backends:
  slow:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "30"]
skills:
  code: { backend: slow }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  test('a send beyond running + queued is refused with a clear error (JSON-RPC) and 429 + Retry-After (REST)', async () => {
    const a = await send(gw.url, 'code', 'one', {}, false);
    const b = await send(gw.url, 'code', 'two', {}, false);
    assert.ok(a.body.result && b.body.result);
    await waitFor(() => (gw.gateway.scheduler.stats().queued === 1 ? true : undefined));
    const c = await send(gw.url, 'code', 'three', {}, false);
    assert.equal(c.body.error?.code, -32000);
    assert.match(c.body.error.message, /queue is full/);

    const rest = await fetch(`${gw.url}/message:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({
        message: {
          messageId: 'x',
          role: 'ROLE_USER',
          parts: [{ text: 'four' }],
          metadata: { skill: 'code' },
        },
      }),
    });
    assert.equal(rest.status, 429);
    assert.ok(Number(rest.headers.get('retry-after')) >= 1);
    assert.match(((await rest.json()) as { error: { message: string } }).error.message, /queue is full/);

    for (const r of [a, b]) {
      await rpc(gw.url, { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { id: r.body.result.id } });
    }
  });
});

describe('deadlines and cancel kill the whole process group', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({
      env: { KILL_GRACE: '0.5' },
      configYaml: `
backends:
  stubborn:
    type: command
    command: ${join(FAKE_CLI_DIR, 'ignore-term.mjs')}
    # The test looks up the pids it prints; in a sandbox they are its PID namespace's.
    sandbox: off
    args: ["--seconds", "60"]
skills:
  code: { backend: stubborn }
`,
    });
  });
  after(async () => {
    await gw.stop();
  });

  /** The pids the stubborn fake printed, read from the task's progress messages. */
  async function pidsOf(taskId: string): Promise<number[]> {
    return waitFor(
      async () => {
        const got = await rpc(gw.url, { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id: taskId } });
        const texts: string[] = (got.body.result?.history ?? []).flatMap((m: any) =>
          m.parts.map((p: any) => p.text ?? ''),
        );
        const grand = texts.join('\n').match(/GRANDCHILD (\d+)/);
        return grand ? [Number(grand[1])] : undefined;
      },
      10_000,
      'the grandchild pid in the progress',
    );
  }

  test('a child that ignores SIGTERM and its grandchild are gone after the deadline; the task fails "timed out"', async () => {
    const started = Date.now();
    const res = await send(gw.url, 'code', 'hang', { timeout: 1.5 }, false);
    const taskId: string = res.body.result.id;
    const [grandchild] = await pidsOf(taskId);
    const done = await waitFor(
      async () => {
        const got = await rpc(gw.url, { jsonrpc: '2.0', id: 4, method: 'tasks/get', params: { id: taskId } });
        return got.body.result.status.state === 'failed' ? got.body.result : undefined;
      },
      10_000,
      'the task to fail',
    );
    assert.match(done.status.message.parts[0].text, /timed out after 1\.5 s/);
    assert.ok(Date.now() - started < 1500 + 500 + 3000, 'ended within deadline + grace (+ margin)');
    assert.equal(alive(grandchild!), false, 'the grandchild is gone');
  });

  test('cancel kills the stubborn child and its grandchild, and the task ends canceled', async () => {
    const res = await send(gw.url, 'code', 'hang', {}, false);
    const taskId: string = res.body.result.id;
    const [grandchild] = await pidsOf(taskId);
    assert.equal(alive(grandchild!), true);
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 5,
      method: 'tasks/cancel',
      params: { id: taskId },
    });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    assert.equal(alive(grandchild!), false, 'the grandchild is gone once cancel returns');
  });
});
