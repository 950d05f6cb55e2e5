// Claude Code asks, the caller answers, through the gateway: the real CLI (pinned in test/e2e/package.json) runs
// against the scripted model server, which makes it call Bash (`mock:ask`) or AskUserQuestion (`mock:question`).
// The skill is configured with `permissions: ask`, so the gateway runs Claude Code with its control channel on
// stdio and the task goes to input-required until a reply on the same task answers it.
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

const INPUT_TIMEOUT_S = 8;

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

/** Pids of processes whose working directory is inside `dir`. */
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

/**
 * Whether the run wrote hello.txt containing "hi": in the workdir itself, or, when the task ran in a worktree of
 * it, in the diff the task returned.
 */
function wroteHello(repo: string, task: any): boolean {
  const file = join(repo, 'hello.txt');
  if (existsSync(file)) return readFileSync(file, 'utf8') === 'hi';
  const artifacts = JSON.stringify(task.artifacts ?? []);
  return /b\/hello\.txt/.test(artifacts) && /\\n\+hi/.test(artifacts);
}

describe('claude asks through the gateway (real CLI, scripted model): input-required', () => {
  let mock: MockLlm;
  let gw: GatewayProcess;
  let tmp: ReturnType<typeof tempDir>;
  let repos: string;
  let count = 0;
  const newRepo = (): string => gitRepo(join(repos, `repo-${++count}`));

  const start = async (instructions: string, repo: string) => {
    const res = await sendTask(gw.url, {
      skill: 'code',
      input: { instructions, workdir: repo },
      metadata: { timeout: 180 },
    });
    assert.ok(res.body.result, JSON.stringify(res.body));
    return res.body.result;
  };
  const reply = async (task: { id: string; contextId: string }, text: string) => {
    const res = await replyToTask(gw.url, task, text);
    assert.ok(res.body.result, JSON.stringify(res.body));
    return res.body.result;
  };

  before(async () => {
    tmp = tempDir('a2a-gw-e2e-claude-input-');
    repos = join(tmp.dir, 'repos');
    const userHome = join(tmp.dir, 'home');
    mkdirSync(userHome, { recursive: true });
    mkdirSync(repos, { recursive: true });
    mock = await startMockLlm({ cwd: repos });
    const configFile = join(tmp.dir, 'gateway.yaml');
    writeFileSync(
      configFile,
      'backends:\n  claude: { type: claude }\nskills:\n  code: { backend: claude, permissions: ask }\n',
    );
    gw = await spawnGateway(
      {
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: 'sk-mock-e2e',
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...e2eGatewayEnv({ home: userHome, dataDir: join(tmp.dir, 'data'), roots: repos }),
        KILL_GRACE: '2',
        INPUT_TIMEOUT: String(INPUT_TIMEOUT_S),
        // The tests poll tasks/get while a question waits.
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

  test('Bash needs permission: input-required with the command; "allow" resumes it and the file is written', async () => {
    const repo = newRepo();
    const task = await start('mock:ask create hello.txt containing hi', repo);
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const q = questionOf(task);
    assert.equal(q.kind, 'permission');
    assert.equal(q.tool, 'Bash');
    assert.match(q.input, /hello\.txt/);
    assert.deepEqual(q.options, ['allow', 'deny']);
    assert.equal(existsSync(join(repo, 'hello.txt')), false, 'nothing ran before the answer');

    const done = await reply(task, 'allow');
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.ok(wroteHello(repo, done), JSON.stringify(done.artifacts));
    assert.deepEqual(processesIn(repo), []);
  });

  test('"deny" refuses: the command never runs and the agent goes on to finish', async () => {
    const repo = newRepo();
    const task = await start('mock:ask create hello.txt containing hi', repo);
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const done = await reply(task, 'deny: not in this repository');
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    assert.equal(wroteHello(repo, done), false);
    const bodies = JSON.stringify(mock.requests().map((r) => r.body));
    assert.match(bodies, /not in this repository/, 'the reason reached the model as the tool result');
  });

  test("the agent's own question (AskUserQuestion): the options are shown, the answer reaches the model", async () => {
    const repo = newRepo();
    mock.reset();
    const task = await start('mock:question which greeting?', repo);
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const q = questionOf(task);
    assert.equal(q.kind, 'question');
    assert.equal(q.question, 'Which greeting should hello.txt contain?');
    assert.deepEqual(q.options, ['hi', 'hello']);
    const done = await reply(task, 'hello');
    assert.equal(done.status.state, 'completed', JSON.stringify(done.status));
    const bodies = JSON.stringify(mock.requests().map((r) => r.body));
    assert.match(bodies, /Which greeting should hello\.txt contain\?\\+"=\\+"hello/);
  });

  test('an unanswered question ends the task failed after INPUT_TIMEOUT; no process is left', async () => {
    const repo = newRepo();
    const asked = Date.now();
    const task = await start('mock:ask create hello.txt containing hi', repo);
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const failed = await waitFor(
      async () => {
        const t = await getTask(gw.url, task.id);
        return t?.status?.state === 'failed' ? t : undefined;
      },
      INPUT_TIMEOUT_S * 1000 + 30_000,
      'the task to fail',
    );
    const waited = Date.now() - asked;
    assert.ok(waited >= INPUT_TIMEOUT_S * 1000 - 500, `failed after ${waited} ms`);
    assert.match(
      failed.status.message.parts[0].text,
      new RegExp(
        `no reply to the permission request for Bash .*within ${INPUT_TIMEOUT_S} s \\(INPUT_TIMEOUT\\)`,
      ),
    );
    assert.equal(existsSync(join(repo, 'hello.txt')), false);
    await waitFor(() => (processesIn(repo).length === 0 ? true : undefined), 10_000, 'no process left');
  });

  test('cancel while waiting for the answer ends the task canceled with no process left', async () => {
    const repo = newRepo();
    const task = await start('mock:ask create hello.txt containing hi', repo);
    assert.equal(task.status.state, 'input-required', JSON.stringify(task.status));
    const canceled = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 4,
      method: 'tasks/cancel',
      params: { id: task.id },
    });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    assert.deepEqual(processesIn(repo), []);
  });
});
