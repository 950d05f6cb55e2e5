/**
 * The real coding CLIs, pinned in test/e2e/package.json, against the scripted model server on 127.0.0.1: one
 * headless turn each that writes a file, one that edits a file, one whose model answers 401, and two turns joined
 * by the CLI's own resume. This is what the gateway's CLI adapters rely on; the configuration that makes each CLI
 * talk to a given endpoint is in helpers/cli-env.ts.
 *
 * Installs the CLIs first if needed (scripts/install-e2e-clis.mjs, which also checks each runs at its pinned
 * version; 30-60 s when it has to). Each turn is bounded to RUN_MS. Three CLIs run at a time, so opencode (about
 * 10 s of CPU a turn, 5 turns) has a lane of its own while the rest share two: ~95 s in all on 2 busy cores,
 * against 120-160 s two at a time. Node 20's --test-timeout bounds the whole file, not each test.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it, type TestContext } from 'node:test';
import {
  startMockLlm,
  type LoggedRequest,
  type MockLlm,
  type MockScript,
} from '../fixtures/mock-llm/index.js';
import { CLI_NAMES, CLIS, E2E_BIN_DIR, type CliName, type CliProfile } from './helpers/cli-env.js';
import { makeSandbox, runCli, type CliRun, type Sandbox } from './helpers/run-cli.js';

const RUN_MS = 90_000;
const INSTALLER = fileURLToPath(new URL('../../scripts/install-e2e-clis.mjs', import.meta.url));

/**
 * CLIs that cannot run here, with the reason. Empty: all seven work. An entry replaces that CLI's tests with one
 * asserting the reason still holds, so a fix upstream is noticed (take it out of BINS in the installer too).
 */
const UNAVAILABLE: Partial<Record<CliName, string>> = {};

/** The exit code each pinned CLI gives when the model API answers 401 (Gemini: the HTTP status mod 256). */
const EXIT_ON_401: Readonly<Record<CliName, number>> = {
  claude: 1,
  droid: 1,
  codex: 1,
  gemini: 145,
  opencode: 1,
  qwen: 0,
  copilot: 1,
};

before(
  () => {
    const r = spawnSync(process.execPath, [INSTALLER], { encoding: 'utf8', timeout: 16 * 60_000 });
    assert.equal(r.status, 0, `installing the e2e CLIs failed:\n${r.stdout}\n${r.stderr}`);
  },
  { timeout: 17 * 60_000 },
);

interface Turn {
  run: CliRun;
  /** Requests the mock saw during this turn. */
  requests: LoggedRequest[];
}

/** A sandbox (git repo + HOME) and a mock for one test; both are gone afterwards. */
async function withMock(
  files: Record<string, string>,
  script: MockScript,
  body: (box: Sandbox, mock: MockLlm) => Promise<void>,
): Promise<void> {
  const box = makeSandbox(files);
  try {
    const mock = await startMockLlm({ cwd: box.repo, script });
    try {
      await body(box, mock);
    } finally {
      await mock.close();
    }
  } finally {
    box.cleanup();
  }
}

async function turn(
  profile: CliProfile,
  box: Sandbox,
  mock: MockLlm,
  prompt: string,
  resume?: string,
): Promise<Turn> {
  mock.reset();
  const invocation = profile.turn({ mockUrl: mock.url, home: box.home, workdir: box.repo, prompt, resume });
  const run = await runCli(invocation, RUN_MS);
  return { run, requests: mock.requests() };
}

/** What a failed assertion shows: how the run ended and the ends of its output. */
function detail({ run, requests }: Turn): string {
  const seen = requests.map((r) => `${r.method} ${r.path} → ${JSON.stringify(r.reply).slice(0, 160)}`);
  return [
    `exit ${run.code ?? run.signal} after ${run.ms} ms${run.timedOut ? ' (TIMED OUT, group killed)' : ''}`,
    `stdout (tail): ${run.stdout.slice(-1500)}`,
    `stderr (tail): ${run.stderr.slice(-1500)}`,
    `mock saw:\n  ${seen.join('\n  ')}`,
  ].join('\n');
}

function note(t: TestContext, what: string, { run }: Turn): void {
  t.diagnostic(`${what}: exit ${run.code ?? run.signal} in ${(run.ms / 1000).toFixed(1)} s`);
}

function fileText(box: Sandbox, name: string): string | undefined {
  const path = join(box.repo, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** N from the last `ok: seen N user message(s)` the CLI printed. */
function seenUsers(run: CliRun): number | undefined {
  const all = [...run.stdout.matchAll(/ok: seen (\d+) user message/g)];
  const n = all.at(-1)?.[1];
  return n === undefined ? undefined : Number(n);
}

function toolsCalled(requests: readonly LoggedRequest[]): string[] {
  return requests.flatMap((r) => (r.reply.kind === 'tool' ? [r.reply.tool] : []));
}

function cliSuite(name: CliName): void {
  const profile = CLIS[name];

  it('writes a new file through its own tools (scenario write)', async (t) => {
    await withMock({}, { scenario: 'write' }, async (box, mock) => {
      const result = await turn(profile, box, mock, 'Create hello.txt containing hi');
      const { run, requests } = result;
      note(t, `write via ${toolsCalled(requests).join(', ')}`, result);
      assert.equal(run.timedOut, false, detail(result));
      assert.equal(run.code, 0, detail(result));
      assert.equal(fileText(box, 'hello.txt')?.trim(), 'hi', detail(result));
      assert.ok(run.events.length >= 1, `no JSON events on stdout\n${detail(result)}`);
      assert.equal(profile.outcome(run.events), 'success', detail(result));
      assert.ok(
        requests.some((r) => r.api === profile.api),
        `no ${profile.api} request\n${detail(result)}`,
      );
      assert.ok(
        toolsCalled(requests).length >= 1,
        `the scripted tool call never happened\n${detail(result)}`,
      );
    });
  });

  it('edits an existing file: read, then its edit tool (scenario edit)', async (t) => {
    const script: MockScript = { scenario: 'write', file: 'app.txt', search: 'hi', replace: 'bye' };
    await withMock({ 'app.txt': 'hi there\n' }, script, async (box, mock) => {
      const result = await turn(profile, box, mock, 'mock:edit In app.txt, replace hi with bye');
      note(t, `edit via ${toolsCalled(result.requests).join(', ')}`, result);
      assert.equal(result.run.code, 0, detail(result));
      assert.equal(fileText(box, 'app.txt'), 'bye there\n', detail(result));
      assert.equal(profile.outcome(result.run.events), 'success', detail(result));
      assert.ok(
        result.requests.some((r) => r.directive === 'edit' && r.rule === 'done'),
        `the edit did not run to its end\n${detail(result)}`,
      );
    });
  });

  it('reports a 401 from the model API as a failure, without hanging (mock:error401)', async (t) => {
    await withMock({}, { scenario: 'write' }, async (box, mock) => {
      const result = await turn(profile, box, mock, 'mock:error401 Create hello.txt containing hi');
      const { run, requests } = result;
      note(t, '401', result);
      assert.equal(run.timedOut, false, detail(result));
      assert.ok(
        requests.some((r) => r.reply.kind === 'error' && r.reply.status === 401),
        `no 401 served\n${detail(result)}`,
      );
      assert.equal(profile.outcome(run.events), 'error', detail(result));
      assert.equal(run.code, EXIT_ON_401[name], `exit code changed\n${detail(result)}`);
      assert.equal(fileText(box, 'hello.txt'), undefined);
    });
  });

  it(
    'continues a session with its resume flag (mock:text twice)',
    { timeout: 2 * RUN_MS + 20_000 },
    async (t) => {
      await withMock({}, { scenario: 'write' }, async (box, mock) => {
        const first = await turn(profile, box, mock, 'mock:text first question');
        note(t, 'turn 1', first);
        assert.equal(first.run.code, 0, detail(first));
        const id = profile.sessionId(first.run.events);
        assert.ok(id !== undefined, `no session id in the first turn\n${detail(first)}`);
        const n1 = seenUsers(first.run);
        assert.ok(n1 !== undefined, `first answer missing\n${detail(first)}`);

        const second = await turn(profile, box, mock, 'mock:text second question', id);
        note(t, `turn 2 (resume ${id})`, second);
        assert.equal(second.run.code, 0, detail(second));
        assert.equal(profile.outcome(second.run.events), 'success', detail(second));
        const n2 = seenUsers(second.run);
        assert.ok(n2 !== undefined, `second answer missing\n${detail(second)}`);
        // CLIs inject context messages of their own, so only the growth is asserted.
        assert.ok(n2 > n1, `the resumed turn saw ${n2} user message(s), the first ${n1}: history lost`);
        assert.equal(profile.sessionId(second.run.events), id, 'resume started a different session');
      });
    },
  );
}

// Slowest first (opencode ~10 s a turn, Qwen and Copilot ~5 s, the rest 1.5-3 s), so the lanes end together.
const ORDER: readonly CliName[] = ['opencode', 'qwen', 'copilot', 'gemini', 'droid', 'claude', 'codex'];

describe('coding CLIs against the scripted model server', { concurrency: 3 }, () => {
  it('covers every CLI', () => assert.deepEqual([...ORDER].sort(), [...CLI_NAMES].sort()));
  for (const name of ORDER) {
    const reason = UNAVAILABLE[name];
    describe(name, { concurrency: 1 }, () => {
      if (reason === undefined) {
        cliSuite(name);
        return;
      }
      it(`is still unavailable: ${reason}`, () => {
        const r = spawnSync(join(E2E_BIN_DIR, name), ['--version'], { encoding: 'utf8', timeout: 60_000 });
        assert.notEqual(r.status, 0, `${name} runs now; take it out of UNAVAILABLE and let its tests run`);
      });
    });
  }
});
