import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { alive, FAKE_CLI_DIR, rpc, sendTask, spawnGateway, tempDir, waitFor } from '../helpers/gateway.js';

const config = (dir: string): string => `
backends:
  tracked:
    type: command
    command: ${join(FAKE_CLI_DIR, 'track-run.mjs')}
    # Its log is outside the workspace, where a sandboxed run cannot write.
    sandbox: off
    args: ["${join(dir, 'runs.log')}", "{input.instructions}"]
skills:
  code: { backend: tracked }
`;

function send(url: string, sleepMs: number, blocking: boolean) {
  return sendTask(url, { skill: 'code', input: String(sleepMs), blocking });
}

const getTask = async (url: string, id: string) =>
  (await rpc(url, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id } })).body.result;

function startedPids(dir: string): number[] {
  const log = join(dir, 'runs.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start '))
    .map((l) => Number(l.split(' ')[1]));
}

/** Processes the gateways under test started; ended by pid whatever happens. */
function killLeftovers(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

describe('restart safety', () => {
  test('SIGKILL while tasks run on SQLite: completed tasks survive, interrupted ones end failed, their processes are ended', async () => {
    const tmp = tempDir();
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, config(tmp.dir));
    const env = {
      DATA_DIR: join(tmp.dir, 'data'),
      WORKSPACE_ROOTS: tmp.dir,
      KILL_GRACE: '0.5',
      LOG_LEVEL: 'info',
    };
    let first: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    let second: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    try {
      first = await spawnGateway(env, ['--config', configFile]);
      const done = await Promise.all([1, 2, 3].map(() => send(first!.url, 10, true)));
      const doneIds: string[] = done.map((r) => r.body.result.id);
      assert.deepEqual(
        done.map((r) => r.body.result.status.state),
        ['completed', 'completed', 'completed'],
      );
      const running = await Promise.all([1, 2].map(() => send(first!.url, 60_000, false)));
      const runningIds: string[] = running.map((r) => r.body.result.id);
      await waitFor(
        () => (startedPids(tmp.dir).length === 5 ? true : undefined),
        10_000,
        'both long tasks to start',
      );
      const orphans = startedPids(tmp.dir).slice(3);
      assert.ok(orphans.every(alive));

      first.kill('SIGKILL');
      await first.exited;

      second = await spawnGateway(env, ['--config', configFile]);
      for (const id of doneIds) {
        const task = await getTask(second.url, id);
        assert.equal(task.status.state, 'completed');
        assert.match(task.artifacts[0].parts[0].text, /tracked \d+/);
      }
      for (const id of runningIds) {
        const task = await getTask(second.url, id);
        assert.equal(task.status.state, 'failed');
        assert.equal(task.status.message.parts[0].text, 'interrupted: gateway restarted');
      }
      await waitFor(
        () => (orphans.every((p) => !alive(p)) ? true : undefined),
        5000,
        'the orphaned runs to be ended',
      );
    } finally {
      first?.kill('SIGKILL');
      second?.kill('SIGKILL');
      killLeftovers(startedPids(tmp.dir));
      await Promise.all([first?.exited, second?.exited]);
      tmp.cleanup();
    }
  });

  test('SIGTERM drains running tasks within SHUTDOWN_TIMEOUT, records the rest, and exits 0', async () => {
    const tmp = tempDir();
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, config(tmp.dir));
    const env = {
      DATA_DIR: join(tmp.dir, 'data'),
      WORKSPACE_ROOTS: tmp.dir,
      KILL_GRACE: '0.5',
      SHUTDOWN_TIMEOUT: '1.5',
      LOG_LEVEL: 'info',
    };
    let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    let after: Awaited<ReturnType<typeof spawnGateway>> | undefined;
    try {
      gw = await spawnGateway(env, ['--config', configFile]);
      const short = await send(gw.url, 500, false);
      const long = await send(gw.url, 60_000, false);
      await waitFor(
        () => (startedPids(tmp.dir).length === 2 ? true : undefined),
        10_000,
        'both tasks to start',
      );
      const started = Date.now();
      gw.kill('SIGTERM');
      assert.equal(await gw.exited, 0);
      assert.ok(Date.now() - started < 1500 + 500 + 5000, 'exits within drain time + grace (+ margin)');
      assert.ok(
        startedPids(tmp.dir).every((p) => !alive(p)),
        'no task process outlives the gateway',
      );

      after = await spawnGateway(env, ['--config', configFile]);
      assert.equal((await getTask(after.url, short.body.result.id)).status.state, 'completed');
      const stopped = await getTask(after.url, long.body.result.id);
      assert.equal(stopped.status.state, 'failed');
      assert.match(stopped.status.message.parts[0].text, /gateway shut down before the task finished/);
    } finally {
      gw?.kill('SIGKILL');
      after?.kill('SIGKILL');
      killLeftovers(startedPids(tmp.dir));
      await Promise.all([gw?.exited, after?.exited]);
      tmp.cleanup();
    }
  });
});
