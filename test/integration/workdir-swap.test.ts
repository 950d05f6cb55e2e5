/**
 * A workdir swapped while its task waits in the queue (issue 10, item 1): the directory is checked when the task
 * is accepted and again when it starts; a `swap` directory replaced by a symlink to /etc in between is refused,
 * in each workspace mode (in place, copy, git worktree), and the agent never runs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FAKE_CLI_DIR, getTask, rpc, sendTask, startTestGateway, waitFor } from '../helpers/gateway.js';

const CONFIG = `
backends:
  blocker:
    type: command
    command: ${join(FAKE_CLI_DIR, 'hang.mjs')}
    args: ["--seconds", "60"]
  probe:
    type: command
    command: ${join(FAKE_CLI_DIR, 'echo-args.mjs')}
    args: []
skills:
  refactor_code: { backend: blocker }
  code: { backend: probe }
`;

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    stdio: 'ignore',
  });
}

async function stateOf(url: string, id: string): Promise<string | undefined> {
  return ((await getTask(url, id)) as { status?: { state?: string } } | undefined)?.status?.state;
}

type Mode = 'in_place' | 'copy' | 'git';

async function swapWhileQueued(mode: Mode): Promise<void> {
  const gw = await startTestGateway({
    configYaml: CONFIG,
    env: { MAX_CONCURRENT_TASKS: '1', NON_GIT_WORKSPACE: mode === 'in_place' ? 'in_place' : 'copy' },
  });
  try {
    const swap = join(gw.workDir, 'swap');
    mkdirSync(swap);
    writeFileSync(join(swap, 'README.md'), 'the real project\n');
    if (mode === 'git') {
      git(swap, 'init', '-q');
      git(swap, 'add', '-A');
      git(swap, 'commit', '-qm', 'init');
    }
    // One task holds the only slot, so the next one waits in the queue.
    const first = await sendTask(gw.url, { skill: 'refactor_code', input: 'hold', blocking: false });
    const firstId = first.body.result?.id as string;
    assert.ok(firstId, JSON.stringify(first.body));
    await waitFor(async () => ((await stateOf(gw.url, firstId)) === 'working' ? true : undefined));

    const second = await sendTask(gw.url, {
      skill: 'code',
      input: { instructions: 'where am I?', workdir: 'swap' },
      blocking: false,
    });
    const id = second.body.result?.id as string;
    assert.ok(id, `the task on a real directory is accepted: ${JSON.stringify(second.body)}`);
    assert.equal(await stateOf(gw.url, id), 'submitted', 'it waits in the queue');

    // The attack: the accepted directory becomes a symlink to /etc before the task starts.
    renameSync(swap, `${swap}.orig`);
    symlinkSync('/etc', swap);

    await rpc(gw.url, { jsonrpc: '2.0', id: 1, method: 'tasks/cancel', params: { id: firstId } });
    const ended = await waitFor(
      async () => {
        const task = await getTask(gw.url, id);
        return ['completed', 'failed', 'canceled'].includes(task?.status?.state) ? task : undefined;
      },
      15_000,
      'the queued task to end',
    );
    const text = JSON.stringify(ended);
    assert.equal(ended.status.state, 'failed', `${mode}: ${text.slice(0, 2000)}`);
    assert.match(text, /workdir .*swap was replaced by a symlink or a file since the task was accepted/);
    assert.doesNotMatch(text, /"cwd"/, 'the agent never ran');
    assert.doesNotMatch(text, /passwd|hostname/, 'nothing of /etc is in the task');
  } finally {
    await gw.stop();
  }
}

describe('a workdir swapped for a symlink while its task is queued is refused at start', () => {
  for (const mode of ['in_place', 'copy', 'git'] as const) {
    test(`NON_GIT_WORKSPACE=${mode === 'git' ? 'copy, a git repository' : mode}`, () =>
      swapWhileQueued(mode));
  }

  test('an unchanged workdir runs in place in the checked directory', async () => {
    const gw = await startTestGateway({ configYaml: CONFIG, env: { NON_GIT_WORKSPACE: 'in_place' } });
    try {
      mkdirSync(join(gw.workDir, 'proj'));
      const res = await sendTask(gw.url, { skill: 'code', input: { instructions: 'x', workdir: 'proj' } });
      assert.equal(res.body.result?.status?.state, 'completed', JSON.stringify(res.body));
      const printed = JSON.stringify(res.body.result);
      assert.match(printed, new RegExp(`\\\\"cwd\\\\":\\\\"${join(gw.workDir, 'proj')}\\\\"`));
    } finally {
      await gw.stop();
    }
  });
});
