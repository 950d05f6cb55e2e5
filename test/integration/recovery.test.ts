import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  alive,
  FAKE_CLI_DIR,
  getTask,
  rpc,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';

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
  refactor_code: { backend: tracked, retryOnRestart: true }
`;

function startedPids(dir: string): number[] {
  const log = join(dir, 'runs.log');
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('start '))
    .map((l) => Number(l.split(' ')[1]));
}

const stateOf = async (url: string, id: string): Promise<string | undefined> =>
  (await getTask(url, id))?.status?.state as string | undefined;

describe('acknowledged tasks survive kill -9', () => {
  test('2 running + 28 queued, SIGKILL, restart: the 28 run, the running one fails with the reason, the retryOnRestart one runs again', async () => {
    const tmp = tempDir();
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(configFile, config(tmp.dir));
    const env = {
      DATA_DIR: join(tmp.dir, 'data'),
      WORKSPACE_ROOTS: tmp.dir,
      KILL_GRACE: '0.5',
      LOG_LEVEL: 'info',
      MAX_CONCURRENT_TASKS: '2',
      MAX_QUEUED_TASKS: '28',
    };
    let first: GatewayProcess | undefined;
    let second: GatewayProcess | undefined;
    try {
      first = await spawnGateway(env, ['--config', configFile]);
      const plain = await sendTask(first.url, { skill: 'code', input: '60000', blocking: false });
      const retried = await sendTask(first.url, { skill: 'refactor_code', input: '60000', blocking: false });
      await waitFor(
        () => (startedPids(tmp.dir).length === 2 ? true : undefined),
        15_000,
        'both long tasks to start',
      );
      const queued = await Promise.all(
        Array.from({ length: 28 }, () =>
          sendTask(first!.url, { skill: 'code', input: '50', blocking: false }),
        ),
      );
      const queuedIds = queued.map((q) => {
        assert.ok(q.body.result?.id, JSON.stringify(q.body));
        return q.body.result.id as string;
      });
      assert.equal(startedPids(tmp.dir).length, 2, 'the 28 are queued, not started');

      first.kill('SIGKILL');
      await first.exited;

      second = await spawnGateway(env, ['--config', configFile]);
      const url = second.url;
      const plainTask = await getTask(url, plain.body.result.id);
      assert.equal(plainTask.status.state, 'failed');
      assert.match(plainTask.status.message.parts[0].text, /interrupted: gateway restarted/);

      for (const id of queuedIds) {
        await waitFor(
          async () => ((await stateOf(url, id)) === 'completed' ? true : undefined),
          60_000,
          `queued task ${id} to run after the restart`,
        );
      }
      // The retryOnRestart task started a second time (2 before + 28 + 1) and is working, not failed.
      await waitFor(
        () => (startedPids(tmp.dir).length === 31 ? true : undefined),
        15_000,
        'the retryOnRestart task to start again',
      );
      // It runs again rather than failing: still working (then canceled here), or done if its minute is up.
      const again = await stateOf(url, retried.body.result.id);
      assert.ok(again === 'working' || again === 'completed', `the re-run task is ${again}`);
      if (again === 'working') {
        await rpc(url, {
          jsonrpc: '2.0',
          id: 9,
          method: 'tasks/cancel',
          params: { id: retried.body.result.id },
        });
        await waitFor(
          async () => ((await stateOf(url, retried.body.result.id)) === 'canceled' ? true : undefined),
          10_000,
          'the re-run task to be canceled',
        );
      }
    } finally {
      first?.kill('SIGKILL');
      second?.kill('SIGKILL');
      await Promise.all([first?.exited, second?.exited]);
      for (const pid of startedPids(tmp.dir)) {
        try {
          if (alive(pid)) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      tmp.cleanup();
    }
  });
});
