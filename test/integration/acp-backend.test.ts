// The acp backend through the whole gateway, fast: a fake ACP agent (test/fixtures/fake-cli/acp-agent.mjs, built
// with the SDK's agent side) asks twice for permission, reaches outside its workspace through fs/*, hangs, ignores
// session/cancel, crashes, and loads a session. The real CLIs over ACP are in test/e2e/gateway-acp.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  questionOf,
  rpc,
  sendTask,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

const AGENT = join(FAKE_CLI_DIR, 'acp-agent.mjs');
const CONFIG = `backends:
  fake-acp: { type: acp, command: ${JSON.stringify(AGENT)} }
skills:
  code: { backend: fake-acp, permissions: ask }
  fix_bug: { backend: fake-acp }
`;

/** A reply on a task with a chosen message id (to send the very same message twice). */
function replyWith(url: string, task: { id: string; contextId: string }, messageId: string, part: object) {
  return rpc(url, {
    jsonrpc: '2.0',
    id: 2,
    method: 'message/send',
    params: {
      message: {
        kind: 'message',
        role: 'user',
        messageId,
        taskId: task.id,
        contextId: task.contextId,
        parts: [part],
      },
    },
  });
}

/** Live processes running the fake agent. */
function fakeAgents(): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('acp-agent.mjs') && !/^\s*\d+\s+Z/.test(l))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('acp backend (fake ACP agent through the gateway)', () => {
  let gw: TestGateway;
  let repo: string;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { INPUT_TIMEOUT: '60' } });
    repo = join(gw.workDir, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), '# r\n');
    git('add', '.');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
  });
  after(async () => {
    await gw.stop();
  });

  test('two permission requests in a row: a repeated reply answers nothing, a stale questionId neither; each answer goes to its own request', async () => {
    const task = (
      await sendTask(gw.url, { skill: 'code', input: { instructions: 'fake:ask-twice', workdir: repo } })
    ).body.result;
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const first = questionOf(task);
    assert.equal(first.tool, 'execute');
    assert.equal(first.input, 'touch one.txt');

    const allow = { kind: 'text', text: 'allow' };
    const second = (await replyWith(gw.url, task, 'reply-1', allow)).body.result;
    assert.equal(second.status.state, 'input-required', JSON.stringify(second.status));
    const q2 = questionOf(second);
    assert.equal(q2.input, 'touch two.txt');
    assert.notEqual(q2.questionId, first.questionId);

    // The same message again (a client retrying, say) must not approve the request it never saw.
    const repeated = (await replyWith(gw.url, task, 'reply-1', allow)).body.result;
    assert.equal(repeated.status.state, 'input-required', JSON.stringify(repeated.status));
    assert.match(repeated.status.message.parts[0].text, /already answered an earlier question/);
    assert.equal(questionOf(repeated).questionId, q2.questionId);

    // A reply naming the first question is stale now.
    const stale = (
      await replyWith(gw.url, task, 'reply-2', {
        kind: 'data',
        data: { decision: 'allow', questionId: first.questionId },
      })
    ).body.result;
    assert.equal(stale.status.state, 'input-required', JSON.stringify(stale.status));
    assert.match(stale.status.message.parts[0].text, /not the one waiting now/);

    const done = (
      await replyWith(gw.url, task, 'reply-3', {
        kind: 'data',
        data: { decision: 'deny', questionId: q2.questionId },
      })
    ).body.result;
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    // allow is a one-time allow (never "always"); deny the one-time reject.
    assert.equal(done.artifacts[0].parts[0].text, 'one:yes two:no');
  });

  test('unattended (no permissions: ask): the gateway allows each request once itself', async () => {
    const task = (
      await sendTask(gw.url, {
        skill: 'fix_bug',
        input: { bug_description: 'fake:ask-twice', workdir: repo },
      })
    ).body.result;
    assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
    assert.equal(task.artifacts[0].parts[0].text, 'one:yes two:yes');
  });

  test('fs/*: reads and writes outside the workspace are refused, a write inside lands in the diff', async () => {
    const task = (
      await sendTask(gw.url, { skill: 'fix_bug', input: { bug_description: 'fake:escape', workdir: repo } })
    ).body.result;
    assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
    assert.equal(task.artifacts[0].parts[0].text, 'read:refused write-outside:refused write-inside:ok');
    const diff = task.artifacts.find((a: { name: string }) => a.name === 'diff')?.parts[0]?.text ?? '';
    assert.match(diff, /\+\+\+ b\/inside\.txt/);
    assert.equal(existsSync(join(gw.workDir, 'escape.txt')), false);
    assert.equal(existsSync(join(repo, '..', 'escape.txt')), false);
  });

  test('terminals: a command runs in the workspace, one outside it is refused, one left running dies with the turn', async () => {
    const task = (
      await sendTask(gw.url, { skill: 'fix_bug', input: { bug_description: 'fake:terminal', workdir: repo } })
    ).body.result;
    assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
    assert.equal(task.artifacts[0].parts[0].text, 'ls:0:true outside:refused');
    const sleepers = execFileSync('ps', ['-eo', 'stat=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /^\s*[^Z\s]\S*\s+sleep 300$/.test(l));
    assert.deepEqual(sleepers, [], 'the terminal left running was killed');
  });

  test('cancel mid-turn: session/cancel ends the turn, the task is canceled, no agent process is left', async () => {
    const before = new Set(fakeAgents());
    const task = (
      await sendTask(gw.url, {
        skill: 'fix_bug',
        input: { bug_description: 'fake:hang', workdir: repo },
        blocking: false,
      })
    ).body.result;
    await waitFor(
      async () =>
        ((await getTask(gw.url, task.id))?.history ?? []).some((m: any) =>
          /working/.test(JSON.stringify(m)),
        ) || undefined,
      20_000,
      'the agent to start working',
    );
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tasks/cancel',
      params: { id: task.id },
    });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    await waitFor(
      () => (fakeAgents().every((pid) => before.has(pid)) ? true : undefined),
      10_000,
      'no fake agent left',
    );
  });

  test('an agent that ignores session/cancel is killed at the deadline; the task fails with the reason', async () => {
    const task = (
      await sendTask(gw.url, {
        skill: 'fix_bug',
        input: { bug_description: 'fake:deaf', workdir: repo },
        metadata: { timeout: 2 },
      })
    ).body.result;
    assert.equal(task.status.state, 'failed', JSON.stringify(task.status));
    assert.match(task.status.message.parts[0].text, /timed out after 2 s/);
  });

  test('an agent that crashes mid-turn: failed, with its exit code and stderr', async () => {
    const task = (
      await sendTask(gw.url, { skill: 'fix_bug', input: { bug_description: 'fake:crash', workdir: repo } })
    ).body.result;
    assert.equal(task.status.state, 'failed', JSON.stringify(task.status));
    assert.match(task.status.message.parts[0].text, /exited with code 7.*crashing on purpose/s);
  });

  test('a follow-up loads the session; the history the agent replays is not taken for the answer', async () => {
    const first = (
      await sendTask(gw.url, { skill: 'fix_bug', input: { bug_description: 'hello', workdir: repo } })
    ).body.result;
    assert.equal(first.status.state, 'completed', JSON.stringify(first.status));
    const usage = first.artifacts[0].parts[1].data.usage;
    assert.deepEqual({ i: usage.inputTokens, o: usage.outputTokens }, { i: 3, o: 2 });
    const second = (
      await sendTask(gw.url, {
        skill: 'fix_bug',
        input: { bug_description: 'again' },
        message: { contextId: first.contextId },
      })
    ).body.result;
    assert.equal(second.status.state, 'completed', JSON.stringify(second.status));
    assert.match(second.artifacts[0].parts[0].text, /^echo: .*again.* \(turn 2\)$/s);
    assert.doesNotMatch(second.artifacts[0].parts[0].text, /history/);
  });
});
