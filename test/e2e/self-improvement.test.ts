// The brief's loop, for real: an agent asks the gateway to fix a bug in the gateway's own repository. Claude Code
// (the pinned CLI) runs against the scripted model in a worktree of a temporary clone; the diff artifact is
// reviewed, applies with `git apply`, and the gateway's own unit tests pass on the result (they fail before it).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startMockLlm, type MockLlm } from '../fixtures/mock-llm/index.js';
import { REPO_ROOT, sendTask, spawnGateway, tempDir, type GatewayProcess } from '../helpers/gateway.js';
import { e2eGatewayEnv } from './helpers/cli-env.js';

const FILE = 'src/skills/generated-files.ts';
const FIXED = 'const instruction = /^([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase();';
// The planted bug: Dockerfile instructions are case-insensitive, and this stops `from alpine` from counting.
const BUGGY = 'const instruction = /^([A-Za-z]+)/.exec(line)?.[1];';
const UNIT_SUBSET = ['test/unit/results.test.ts', 'test/unit/skills.test.ts'];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

/** Runs the gateway's fast unit subset in `dir` (its node_modules borrowed from this checkout). */
function unitTests(dir: string): { ok: boolean; output: string } {
  // Without NODE_TEST_CONTEXT: node's test runner sets it for its children, and a nested runner that sees it
  // reports to the parent instead of exiting with its own status.
  const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...UNIT_SUBSET], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ok: r.status === 0, output: `${r.stdout}\n${r.stderr}`.slice(-3000) };
}

describe('the gateway fixes a bug in its own repository (claude, scripted model)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let mock: MockLlm;
  let gw: GatewayProcess;
  let clone: string;

  before(async () => {
    tmp = tempDir('a2a-gw-self-');
    const repos = join(tmp.dir, 'repos');
    mkdirSync(repos);
    clone = join(repos, 'a2a-gateway');
    git(repos, 'clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone);
    clone = realpathSync(clone);
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
    // The borrowed node_modules is a symlink, which .gitignore's `node_modules/` (a directory) does not match.
    appendFileSync(join(clone, '.git', 'info', 'exclude'), '/node_modules\n');
    const source = readFileSync(join(clone, FILE), 'utf8');
    assert.ok(source.includes(FIXED), `${FILE} still has the line this test breaks`);
    writeFileSync(join(clone, FILE), source.replace(FIXED, BUGGY));
    git(clone, 'commit', '--quiet', '-am', 'a regression: lower-case Dockerfile instructions');

    mock = await startMockLlm({
      cwd: clone,
      script: { scenario: 'edit', file: FILE, search: BUGGY, replace: FIXED },
    });
    const home = join(tmp.dir, 'home');
    mkdirSync(home);
    const config = join(tmp.dir, 'gateway.yaml');
    // A new worktree has no node_modules (gitignored): the repository's set-up command links this checkout's in,
    // so the gateway's own run of the test command finds tsx, as a user's `npm ci` set-up would.
    writeFileSync(
      config,
      [
        'skills:',
        '  fix_bug: { backend: claude }',
        'repositories:',
        `  - path: ${JSON.stringify(clone)}`,
        `    setup: [ln, -s, ${JSON.stringify(join(REPO_ROOT, 'node_modules'))}, node_modules]`,
        '',
      ].join('\n'),
    );
    gw = await spawnGateway(
      {
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: 'sk-mock-e2e',
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...e2eGatewayEnv({ home: home, dataDir: join(tmp.dir, 'data'), roots: repos }),
      },
      ['--config', config],
    );
  });
  after(async () => {
    gw?.kill('SIGTERM');
    await gw?.exited;
    await mock?.close();
    tmp?.cleanup();
  });

  test('fix_bug edits the source file; the diff applies with git apply; the unit subset passes on the result', async () => {
    const broken = unitTests(clone);
    assert.equal(broken.ok, false, 'the planted bug fails the unit subset');

    const res = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: {
        bug_description: `generate_dockerfile refuses a Dockerfile whose instructions are lower case ("from alpine"): the check in ${FILE} compares the instruction without normalising its case.`,
        workdir: clone,
        files: [FILE],
        test_command: `node --import tsx --test ${UNIT_SUBSET.join(' ')}`,
      },
      metadata: { timeout: 240 },
    });
    const task = res.body.result;
    assert.equal(task?.status.state, 'completed', JSON.stringify(res.body));
    assert.equal(
      git(clone, 'status', '--porcelain'),
      '',
      'the clone itself is untouched until the diff is applied',
    );

    // Review the diff: one file, the one line.
    const diff: string = task.artifacts.find((a: { name: string }) => a.name === 'diff').parts[0].text;
    assert.match(diff, new RegExp(`^diff --git a/${FILE} b/${FILE}$`, 'm'));
    assert.equal((diff.match(/^diff --git /gm) ?? []).length, 1, diff);
    assert.ok(diff.includes(`-  ${BUGGY}`) || diff.includes(`-    ${BUGGY}`), diff);
    type Part = { data?: Record<string, unknown> };
    type Artifact = { name: string; parts: Part[] };
    const artifacts = task.artifacts as Artifact[];
    const details = artifacts
      .flatMap((a) => a.parts)
      .find((p) => p.data !== undefined && 'changedFiles' in p.data)?.data as {
      changedFiles: Array<{ path: string }>;
    };
    assert.ok(details, 'a data part lists the changed files');
    // The gateway ran the test command itself: failing before the agent, passing after.
    const report = artifacts.find((a) => a.name === 'test-report')?.parts.find((p) => p.data)?.data as {
      verdict: string;
      before: { passed: boolean };
    };
    assert.equal(report?.verdict, 'passed', JSON.stringify(report));
    assert.equal(report.before.passed, false, 'the planted bug fails the tests before the agent');
    assert.deepEqual(
      details.changedFiles.map((f: { path: string }) => f.path),
      [FILE],
    );

    // Apply it and commit it, as the calling agent would.
    execFileSync('git', ['apply', '--check'], { cwd: clone, input: diff });
    execFileSync('git', ['apply'], { cwd: clone, input: diff });
    git(clone, 'commit', '--quiet', '-am', `fix_bug via a2a-gateway (task ${task.id})`);
    assert.ok(readFileSync(join(clone, FILE), 'utf8').includes(FIXED));

    const fixed = unitTests(clone);
    assert.ok(fixed.ok, fixed.output);
  });
});
