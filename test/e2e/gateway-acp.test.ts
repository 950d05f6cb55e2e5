// The ACP backend through the gateway: a real `a2a-gateway serve` drives the pinned CLIs (test/e2e/package.json)
// over the Agent Client Protocol (`type: acp, preset: ...`) against the scripted model server. Verified by hand
// at these versions: gemini 0.61.0 (`--acp`), qwen 0.15.10 (`--acp`), opencode 1.18.33 (`acp`), copilot 1.0.102
// (`--acp`) and droid 0.215.0 (`exec --output-format acp`) all speak ACP v1; Claude Code and Codex need the
// separate claude-code-acp / codex-acp adapters, which are not pinned here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMockLlm, type MockLlm } from '../fixtures/mock-llm/index.js';
import {
  getTask,
  questionOf,
  replyToTask,
  rpc,
  sendTask,
  spawnGateway,
  tempDir,
  waitFor,
  type GatewayProcess,
} from '../helpers/gateway.js';
import { e2eGatewayEnv } from './helpers/cli-env.js';

const API_KEY = 'sk-mock-e2e';
const INPUT_TIMEOUT_S = 6;
// opencode never asks and is the slowest to start: it takes the cancel test; the others the edit.
const EDITORS = ['gemini', 'qwen', 'copilot'] as const;

function gitRepo(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'e2e@example.com');
  git('config', 'user.name', 'e2e');
  writeFileSync(join(dir, 'README.md'), '# sample\n');
  git('add', '.');
  git('commit', '-q', '-m', 'init');
  return realpathSync(dir);
}

/** Pids of live processes whose working directory is inside `dir`. */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && state !== 'Z') found.push(Number(name));
    } catch {
      // exited, or not ours to read
    }
  }
  return found;
}

const diffOf = (task: any): string =>
  task.artifacts?.find((a: { name: string }) => a.name === 'diff')?.parts[0]?.text ?? '';

describe('ACP agents through the gateway (real CLIs over ACP, scripted model)', () => {
  let mock: MockLlm;
  let gw: GatewayProcess;
  let tmp: ReturnType<typeof tempDir>;
  let repos: string;
  let count = 0;
  const newRepo = (): string => gitRepo(join(repos, `repo-${++count}`));

  const start = async (skill: string, agent: string, input: Record<string, unknown>, extra = {}) => {
    const res = await sendTask(gw.url, {
      skill,
      input,
      metadata: { timeout: 120, backend: `acp-${agent}` },
      ...extra,
    });
    assert.ok(res.body.result, JSON.stringify(res.body));
    return res.body.result;
  };
  const reply = async (task: { id: string; contextId: string }, content: string | object) => {
    const res = await replyToTask(gw.url, task, content);
    assert.ok(res.body.result, JSON.stringify(res.body));
    return res.body.result;
  };

  before(async () => {
    tmp = tempDir('a2a-gw-e2e-acp-');
    repos = join(tmp.dir, 'repos');
    const userHome = join(tmp.dir, 'home');
    mkdirSync(userHome, { recursive: true });
    mkdirSync(repos, { recursive: true });
    mock = await startMockLlm({ cwd: repos, slowMs: 400 });
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(
      configFile,
      [
        'backends:',
        '  acp-gemini: { type: acp, preset: gemini, model: gemini-2.5-pro }',
        '  acp-qwen: { type: acp, preset: qwen }',
        '  acp-opencode: { type: acp, preset: opencode }',
        '  acp-copilot: { type: acp, preset: copilot }',
        'allowBackendOverride: true',
        'skills:',
        // `code` runs unattended (the gateway approves the agent's requests); `fix_bug` asks the caller.
        '  code: { backend: acp-gemini }',
        '  fix_bug: { backend: acp-gemini, permissions: ask }',
        '',
      ].join('\n'),
    );
    gw = await spawnGateway(
      {
        GEMINI_API_KEY: API_KEY,
        GOOGLE_GEMINI_BASE_URL: mock.url,
        OPENAI_BASE_URL: `${mock.url}/v1`,
        OPENAI_API_KEY: API_KEY,
        OPENAI_MODEL: 'mock-model',
        COPILOT_OFFLINE: 'true',
        COPILOT_PROVIDER_BASE_URL: `${mock.url}/v1`,
        COPILOT_PROVIDER_TYPE: 'openai',
        COPILOT_PROVIDER_API_KEY: API_KEY,
        COPILOT_MODEL: 'gpt-5',
        ...e2eGatewayEnv({ home: userHome, dataDir: join(tmp.dir, 'data'), roots: repos }),
        KILL_GRACE: '2',
        INPUT_TIMEOUT: String(INPUT_TIMEOUT_S),
        RATE_LIMIT_PER_MINUTE: '0',
      },
      ['--config', configFile],
    );
  });
  after(async () => {
    gw?.kill('SIGTERM');
    await gw?.exited;
    await mock?.close();
    tmp?.cleanup();
  });

  for (const agent of EDITORS) {
    test(`${agent} over ACP: an edit comes back as a diff, with the tool call in the progress and usage`, async () => {
      const repo = newRepo();
      const task = await start('code', agent, {
        instructions: 'create hello.txt containing hi',
        workdir: repo,
      });
      assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
      assert.match(diffOf(task), /\+\+\+ b\/hello\.txt\n@@ -0,0 \+1 @@\n\+hi/, diffOf(task));
      const details = task.artifacts[0].parts[1].data;
      assert.equal(details.backend, `acp-${agent}`);
      assert.ok(details.usage?.inputTokens > 0, JSON.stringify(details));
      const history = JSON.stringify(task.history ?? []);
      assert.match(history, /hello\.txt/, 'the tool call on hello.txt was reported as progress');
      assert.deepEqual(processesIn(repo), []);
    });
  }

  test('permission asked (gemini): input-required with the tool and its input; a stale reply is refused; allow resumes', async () => {
    const repo = newRepo();
    const task = await start('fix_bug', 'gemini', {
      bug_description: 'The greeting file is missing: create hello.txt containing hi.',
      workdir: repo,
    });
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const q = questionOf(task);
    assert.equal(q.kind, 'permission');
    assert.equal(q.tool, 'edit');
    assert.match(q.input, /hello\.txt/);
    assert.deepEqual(q.options, ['allow', 'deny']);
    assert.ok(Date.parse(q.expiresAt) > Date.now(), q.expiresAt);
    assert.match(q.questionId, /^[0-9a-f-]{36}$/);

    // A reply naming another question (one the caller saw earlier, say) approves nothing.
    const stale = await reply(task, {
      decision: 'allow',
      questionId: '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(stale.status.state, 'input-required', JSON.stringify(stale.status));
    assert.equal(questionOf(stale).questionId, q.questionId);
    assert.match(stale.status.message.parts[0].text, /not the one waiting/);

    const done = await reply(task, { decision: 'allow', questionId: q.questionId });
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.match(diffOf(done), /\+hi/);
    assert.deepEqual(processesIn(repo), []);
  });

  test('permission denied (qwen): the file is never written and the agent finishes its turn', async () => {
    const repo = newRepo();
    const task = await start('fix_bug', 'qwen', {
      bug_description: 'The greeting file is missing: create hello.txt containing hi.',
      workdir: repo,
    });
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    assert.match(questionOf(task).input, /hello\.txt/);
    const done = await reply(task, 'deny');
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.equal(diffOf(done), '');
    assert.equal(existsSync(join(repo, 'hello.txt')), false);
  });

  test('no reply within INPUT_TIMEOUT fails the task with the reason (copilot); no process is left', async () => {
    const repo = newRepo();
    const task = await start('fix_bug', 'copilot', {
      bug_description: 'The greeting file is missing: create hello.txt containing hi.',
      workdir: repo,
    });
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const failed = await waitFor(
      async () => {
        const t = await getTask(gw.url, task.id);
        return t?.status?.state === 'failed' ? t : undefined;
      },
      INPUT_TIMEOUT_S * 1000 + 30_000,
      'the task to fail',
    );
    assert.match(failed.status.message.parts[0].text, /no reply to the permission request .*INPUT_TIMEOUT/);
    await waitFor(() => (processesIn(repo).length === 0 ? true : undefined), 10_000, 'no process left');
  });

  test('cancel mid-turn (opencode): canceled, no process left', async () => {
    const repo = newRepo();
    const res = await sendTask(gw.url, {
      skill: 'code',
      input: { instructions: 'mock:slow tell me a story', workdir: repo },
      metadata: { timeout: 120, backend: 'acp-opencode' },
      blocking: false,
    });
    const task = res.body.result;
    await waitFor(
      () => (mock.requests().some((r) => r.scenario === 'slow') ? true : undefined),
      60_000,
      'the slow stream',
    );
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tasks/cancel',
      params: { id: task.id },
    });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    await waitFor(() => (processesIn(tmp.dir).length === 0 ? true : undefined), 10_000, 'no process left');
  });

  // Copilot replays the whole history as updates during session/load: only the new turn's answer may count.
  for (const agent of ['copilot'] as const) {
    test(`a follow-up in the same context loads the session (${agent}, session/load)`, async () => {
      const repo = newRepo();
      const first = await start('code', agent, { instructions: 'mock:text how many so far?', workdir: repo });
      assert.equal(first.status.state, 'completed', JSON.stringify(first.status));
      const n1 = Number(/seen (\d+) user message/.exec(first.artifacts[0].parts[0].text)?.[1]);
      const second = await start(
        'code',
        agent,
        { instructions: 'mock:text and now?' },
        {
          message: { contextId: first.contextId },
        },
      );
      assert.equal(second.status.state, 'completed', JSON.stringify(second.status));
      const n2 = Number(/seen (\d+) user message/.exec(second.artifacts[0].parts[0].text)?.[1]);
      assert.ok(n2 > n1, `the second turn sees the first (${n1} then ${n2})`);
    });
  }
});
