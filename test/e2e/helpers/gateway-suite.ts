/**
 * The end-to-end suite for one coding-agent backend: the gateway (a real `a2a-gateway serve` process) runs the
 * real CLI (pinned in test/e2e/package.json) against the scripted model server, driven through the A2A API. Each
 * CLI is configured the way a user would configure it: credentials and endpoints in the gateway's environment or
 * in the user's own CLI config under HOME, which the gateway seeds into each conversation's private home.
 */
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
import { Sandboxes } from '../../../src/runner/sandbox.js';
import { startMockLlm, type MockLlm } from '../../fixtures/mock-llm/index.js';
import { rpc, sendTask, spawnGateway, tempDir, waitFor, type GatewayProcess } from '../../helpers/gateway.js';
import { e2eGatewayEnv, type CliName } from './cli-env.js';

const API_KEY = 'sk-mock-e2e';

interface UserSetup {
  /** Variables in the gateway's environment (the CLI gets those its backend passes through). */
  env: Record<string, string>;
  /** Backend settings in the gateway's config file (a model, for CLIs that need one named). */
  backend: string;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2));
}

/** How a user points each CLI at a model endpoint (here the mock). */
function userSetup(cli: CliName, mockUrl: string, userHome: string): UserSetup {
  switch (cli) {
    case 'claude':
      // CLAUDE_CODE_MAX_RETRIES=0: Claude retries even a 401 for minutes; the test wants the failure at once.
      return {
        env: { ANTHROPIC_BASE_URL: mockUrl, ANTHROPIC_API_KEY: API_KEY, CLAUDE_CODE_MAX_RETRIES: '0' },
        backend: '{ type: claude }',
      };
    case 'droid':
      writeJson(join(userHome, '.factory', 'settings.json'), {
        customModels: [
          {
            model: 'claude-sonnet-4-5',
            displayName: 'Mock Anthropic',
            baseUrl: mockUrl,
            apiKey: API_KEY,
            provider: 'anthropic',
            maxOutputTokens: 8192,
          },
        ],
      });
      return { env: {}, backend: '{ type: droid, model: "custom:Mock-Anthropic-0" }' };
    case 'codex':
      mkdirSync(join(userHome, '.codex'), { recursive: true });
      writeFileSync(
        join(userHome, '.codex', 'config.toml'),
        [
          'model = "gpt-5.5"',
          'model_provider = "mock"',
          '',
          '[model_providers.mock]',
          'name = "Mock"',
          `base_url = "${mockUrl}/v1"`,
          'env_key = "OPENAI_API_KEY"',
          'wire_api = "responses"',
          'request_max_retries = 0',
          'stream_max_retries = 0',
          '',
        ].join('\n'),
      );
      return { env: { OPENAI_API_KEY: API_KEY }, backend: '{ type: codex }' };
    case 'gemini':
      return {
        env: { GEMINI_API_KEY: API_KEY, GOOGLE_GEMINI_BASE_URL: mockUrl },
        backend: '{ type: gemini, model: gemini-2.5-pro }',
      };
    case 'opencode':
      return {
        env: { OPENAI_BASE_URL: `${mockUrl}/v1`, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'mock-model' },
        backend: '{ type: opencode }',
      };
    case 'qwen':
      return {
        env: { OPENAI_BASE_URL: `${mockUrl}/v1`, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'mock-model' },
        backend: '{ type: qwen }',
      };
    case 'copilot':
      return {
        env: {
          COPILOT_OFFLINE: 'true',
          COPILOT_PROVIDER_BASE_URL: `${mockUrl}/v1`,
          COPILOT_PROVIDER_TYPE: 'openai',
          COPILOT_PROVIDER_API_KEY: API_KEY,
          COPILOT_MODEL: 'gpt-5',
        },
        backend: '{ type: copilot }',
      };
  }
}

/** Pids of processes whose working directory is inside `dir` (the task's processes, if any are left). */
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

function gitRepo(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'e2e@example.com');
  git('config', 'user.name', 'e2e');
  writeFileSync(join(dir, 'README.md'), '# sample\n');
  writeFileSync(join(dir, 'app.txt'), 'hi there\n');
  git('add', '.');
  git('commit', '-q', '-m', 'init');
}

interface SseEvent {
  kind: string;
  state?: string;
  final?: boolean;
  text?: string;
}

/** Sends a 0.3 `message/stream` and collects its events (bounded by the task deadline plus a margin). */
async function stream(
  url: string,
  input: Record<string, unknown>,
  metadata: Record<string, unknown>,
  contextId?: string,
): Promise<SseEvent[]> {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'message/stream',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: `m-${Math.random()}`,
          parts: [{ kind: 'data', data: input }],
          metadata,
          ...(contextId ? { contextId } : {}),
        },
      },
    }),
    signal: AbortSignal.timeout(240_000),
  });
  const events: SseEvent[] = [];
  for (const block of (await res.text()).split('\n\n')) {
    const data = block.split('\n').find((l) => l.startsWith('data: '));
    if (!data) continue;
    const body = JSON.parse(data.slice(6)) as { result?: any; error?: { message: string } };
    if (body.error) throw new Error(`stream error: ${body.error.message}`);
    const r = body.result;
    events.push({
      kind: r.kind,
      ...(r.status ? { state: r.status.state, text: r.status.message?.parts?.[0]?.text } : {}),
      ...(r.final !== undefined ? { final: r.final } : {}),
      ...(r.kind === 'task' ? { state: r.status?.state } : {}),
    });
  }
  return events;
}

/** Sends a task with its input as a data part; fails the test when the send itself is refused. */
async function send(
  url: string,
  input: Record<string, unknown>,
  metadata: Record<string, unknown>,
  contextId?: string,
  blocking = true,
) {
  const { skill, ...rest } = metadata;
  const res = await sendTask(url, {
    skill: String(skill),
    input,
    metadata: rest,
    blocking,
    ...(contextId ? { message: { contextId } } : {}),
  });
  assert.ok(res.body.result, JSON.stringify(res.body));
  return res.body.result;
}

const terminal = (url: string, id: string) =>
  waitFor(
    async () => {
      const got = await rpc(url, { jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id } });
      const state: string = got.body.result?.status?.state;
      return ['completed', 'failed', 'canceled'].includes(state) ? got.body.result : undefined;
    },
    120_000,
    `task ${id} to end`,
  );

export interface SuiteOptions {
  /** The CLI resumes its own session (`native`) or the gateway replays earlier turns in the prompt (`replay`). */
  resume: 'native' | 'replay';
  /** Whether the CLI reports token usage (Copilot reports none). */
  reportsTokens: boolean;
}

/** Whether bubblewrap works on this machine (then SANDBOX=auto, the default, confines every run). */
async function bwrapRunsHere(): Promise<boolean> {
  const probe = await Sandboxes.detect(
    'auto',
    [],
    { dataDir: '/nonexistent-a2a', workspaceParents: [], secretFiles: [], network: 'on' },
    process.env.PATH,
  );
  return probe.report.mode === 'bwrap';
}

/** Registers the whole suite for one backend. */
export function backendSuite(cli: CliName, opts: SuiteOptions): void {
  describe(`${cli} through the gateway (real CLI, scripted model)`, () => {
    let mock: MockLlm;
    let gw: GatewayProcess;
    let tmp: ReturnType<typeof tempDir>;
    let repos: string;
    let repoCount = 0;
    const newRepo = (): string => {
      repoCount += 1;
      const dir = join(repos, `repo-${repoCount}`);
      gitRepo(dir);
      return realpathSync(dir);
    };

    before(async () => {
      tmp = tempDir(`a2a-gw-e2e-${cli}-`);
      repos = join(tmp.dir, 'repos');
      const userHome = join(tmp.dir, 'home');
      mkdirSync(userHome, { recursive: true });
      mkdirSync(repos, { recursive: true });
      mock = await startMockLlm({ cwd: repos, slowMs: 400 });
      const setup = userSetup(cli, mock.url, userHome);
      const configFile = join(tmp.dir, 'gateway.yaml');
      writeFileSync(
        configFile,
        `backends:\n  ${cli}: ${setup.backend}\nskills:\n  fix_bug: { backend: ${cli} }\n  code: { backend: ${cli} }\n`,
      );
      gw = await spawnGateway(
        {
          ...setup.env,
          ...e2eGatewayEnv({ home: userHome, dataDir: join(tmp.dir, 'data'), roots: repos }),
          KILL_GRACE: '2',
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

    test('the CLI runs sandboxed (bubblewrap) wherever bubblewrap can run here', async () => {
      // The start-up line, not /health?detailed=true: that would also start every CLI's --version probe, which
      // may still be writing into the user's home when the suite removes it.
      const expected = (await bwrapRunsHere()) ? /sandbox: bwrap \(/ : /sandbox: OFF/;
      assert.match(gw.output(), expected);
    });

    test('fix_bug: the model edits a file; progress streams in order before the terminal state; usage is reported', async () => {
      const repo = newRepo();
      const events = await stream(
        gw.url,
        // apply: the change made in the task's worktree is applied to the (clean) repository at the end
        {
          bug_description: 'The greeting file is missing: create hello.txt containing hi.',
          workdir: repo,
          apply: true,
        },
        { skill: 'fix_bug', timeout: 180 },
      );
      const last = events.at(-1);
      assert.deepEqual(
        { kind: last?.kind, state: last?.state, final: last?.final },
        {
          kind: 'status-update',
          state: 'completed',
          final: true,
        },
        JSON.stringify(events),
      );
      assert.equal(events[0]?.kind, 'task');
      const working = events.filter((e) => e.state === 'working' && e.kind === 'status-update');
      assert.ok(working.length >= 2, `progress arrived: ${JSON.stringify(events)}`);
      assert.ok(
        working.some((e) => /hello\.txt/.test(e.text ?? '')),
        'a tool call on hello.txt was shown',
      );
      assert.equal(readFileSync(join(repo, 'hello.txt'), 'utf8').trim(), 'hi');
    });

    test('usage and the session are in the result; the tool ran without any permission prompt (shell)', async () => {
      const repo = newRepo();
      const task = await send(
        gw.url,
        { instructions: 'mock:shell create hello.txt containing hi using the shell', workdir: repo },
        { skill: 'code', timeout: 180 },
      );
      assert.equal(task.status.state, 'completed', JSON.stringify(task.status));
      // The agent worked in a worktree of its own: the repository is untouched, the change is in the diff.
      assert.equal(existsSync(join(repo, 'hello.txt')), false);
      const diff = task.artifacts.find((a: { name: string }) => a.name === 'diff')?.parts[0]?.text ?? '';
      assert.match(diff, /\+\+\+ b\/hello\.txt\n@@ -0,0 \+1 @@\n\+hi/, diff);
      const details = task.artifacts[0].parts[1].data;
      assert.deepEqual(details.changedFiles, [{ path: 'hello.txt', status: 'added', added: 1, removed: 0 }]);
      assert.equal(details.backend, cli);
      if (opts.reportsTokens) assert.ok(details.usage?.inputTokens > 0, JSON.stringify(details));
    });

    test("told an absolute path in the caller's repository, the CLI cannot write there (sandbox)", async (t) => {
      if (!(await bwrapRunsHere())) return t.skip('bubblewrap cannot run here');
      const repo = newRepo();
      const target = join(repo, 'escaped.txt');
      // The scripted model has the CLI's shell write the caller's own working tree, not the task's worktree: what
      // a CLI did before the sandbox (issue 17).
      mock.setScript({ file: target });
      try {
        const task = await send(
          gw.url,
          { instructions: 'mock:shell create escaped.txt containing hi', workdir: repo },
          { skill: 'code', timeout: 120 },
        );
        assert.ok(['completed', 'failed'].includes(task.status.state), JSON.stringify(task.status));
        assert.equal(existsSync(target), false, "the caller's working tree was written");
        assert.equal(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' }), '');
        const diff = task.artifacts?.find((a: { name: string }) => a.name === 'diff')?.parts[0]?.text ?? '';
        assert.doesNotMatch(diff, /escaped\.txt/);
      } finally {
        mock.setScript({});
      }
    });

    test('a 401 from the model API ends the task failed, saying the backend is not authenticated', async () => {
      const task = await send(
        gw.url,
        { instructions: 'mock:error401 fix the build', workdir: newRepo() },
        { skill: 'code', timeout: 120 },
      );
      assert.equal(task.status.state, 'failed', JSON.stringify(task.status));
      assert.match(task.status.message.parts[0].text, /not authenticated/);
    });

    test('a model that hangs is killed at the deadline; no process is left', async () => {
      const repo = newRepo();
      const started = Date.now();
      const task = await send(
        gw.url,
        { instructions: 'mock:hang fix it', workdir: repo },
        { skill: 'code', timeout: 8 },
      );
      assert.equal(task.status.state, 'failed');
      assert.match(task.status.message.parts[0].text, /timed out after 8 s/);
      assert.ok(Date.now() - started < 8000 + 2000 + 10_000, 'ended near the deadline');
      assert.deepEqual(processesIn(tmp.dir), [], 'no process in the repositories or the worktrees');
    });

    test('cancel mid-stream ends the task canceled with no process left', async () => {
      const repo = newRepo();
      const task = await send(
        gw.url,
        { instructions: 'mock:slow tell me a story', workdir: repo },
        { skill: 'code', timeout: 180 },
        undefined,
        false,
      );
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
      assert.deepEqual(processesIn(tmp.dir), [], 'no process in the repositories or the worktrees');
    });

    test('a follow-up in the same context continues the conversation', async () => {
      const repo = newRepo();
      const first = await send(
        gw.url,
        { instructions: 'mock:text how many messages so far?', workdir: repo },
        { skill: 'code', timeout: 180 },
      );
      assert.equal(first.status.state, 'completed', JSON.stringify(first.status));
      const n1 = Number(/seen (\d+) user message/.exec(first.artifacts[0].parts[0].text)?.[1]);
      mock.reset();
      const second = await send(
        gw.url,
        { instructions: 'mock:text and now?' },
        { skill: 'code', timeout: 180 },
        first.contextId,
      );
      assert.equal(second.status.state, 'completed', JSON.stringify(second.status));
      if (opts.resume === 'native') {
        const n2 = Number(/seen (\d+) user message/.exec(second.artifacts[0].parts[0].text)?.[1]);
        assert.ok(n2 > n1, `the second turn sees the first (${n1} then ${n2})`);
      } else {
        const bodies = JSON.stringify(mock.requests().map((r) => r.body));
        assert.match(bodies, /how many messages so far/, 'the earlier turn is replayed in the prompt');
      }
      void (await terminal(gw.url, second.id));
    });
  });
}
