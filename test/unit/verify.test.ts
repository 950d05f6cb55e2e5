// The gateway's own test run: the test command parsed to an argv without a shell (shell syntax refused, naming
// test_command), run in a directory with the env allowlist and a deadline, the verdict rules, and the retry loop.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { BackendOutcome } from '../../src/agents/types.js';
import { parseTestCommand, TestCommandError } from '../../src/verify/command.js';
import { verifyPolicyOf } from '../../src/verify/policy.js';
import { verdictOf } from '../../src/verify/report.js';
import { runTests, type TestRun } from '../../src/verify/run-tests.js';
import { verifiedRun, type AgentTurn } from '../../src/verify/verified-run.js';

describe('test command parsing', () => {
  test('words, quotes and escapes become argv, as a shell would split them', () => {
    assert.deepEqual(parseTestCommand('npm test').argv, ['npm', 'test']);
    assert.deepEqual(parseTestCommand('  pytest   -q  tests/ ').argv, ['pytest', '-q', 'tests/']);
    assert.deepEqual(parseTestCommand(`node --test --test-name-pattern "a b" 'c "d"' e\\ f`).argv, [
      'node',
      '--test',
      '--test-name-pattern',
      'a b',
      'c "d"',
      'e f',
    ]);
    assert.deepEqual(parseTestCommand('go test "./..."').argv, ['go', 'test', './...']);
    assert.deepEqual(parseTestCommand(`echo '$(not run)' "x;y"`).argv, ['echo', '$(not run)', 'x;y']);
  });

  test('leading NAME=value words set the environment', () => {
    const c = parseTestCommand('CI=1 NODE_OPTIONS="--max-old-space-size=512" npm test');
    assert.deepEqual(c.env, { CI: '1', NODE_OPTIONS: '--max-old-space-size=512' });
    assert.deepEqual(c.argv, ['npm', 'test']);
  });

  const refused: Array<[string, RegExp]> = [
    ['npm test | tee out.txt', /a pipe \(\|\)/],
    ['npm ci && npm test', /a command list \(&&\)/],
    ['make || true', /a command list \(\|\|\)/],
    ['npm test; rm -rf /', /a command separator \(;\)/],
    ['npm test > out.txt', /a redirect \(>\)/],
    ['pytest < in', /a redirect \(<\)/],
    ['npm test &', /a background job \(&\)/],
    ['echo $(whoami)', /command substitution \(\$\(\.\.\.\)\)/],
    ['echo `whoami`', /command substitution \(backticks\)/],
    ['echo "$(whoami)"', /command substitution/],
    ['echo $HOME', /a variable \(\$NAME\)/],
    ['echo ${HOME}', /a variable/],
    ['node --test test/*.ts', /a glob \(\*\)/],
    ['npm test\nrm -rf /', /a second line/],
    ['(cd x)', /a subshell/],
  ];
  for (const [command, reason] of refused) {
    test(`refuses ${JSON.stringify(command)}, naming test_command and the reason`, () => {
      assert.throws(
        () => parseTestCommand(command),
        (err: unknown) => {
          assert.ok(err instanceof TestCommandError);
          assert.equal(err.field, 'test_command');
          assert.match(err.message, /^test_command: /);
          assert.match(err.message, reason);
          assert.match(err.message, /without a shell/);
          return true;
        },
      );
    });
  }

  test('unclosed quotes and commands with no program are refused', () => {
    assert.throws(() => parseTestCommand('npm "test'), /test_command: an unclosed double quote/);
    assert.throws(() => parseTestCommand("npm 'test"), /test_command: an unclosed single quote/);
    assert.throws(() => parseTestCommand('CI=1'), /test_command: "CI=1" names no command/);
  });
});

describe('verify policy and verdict', () => {
  const run = (passed: boolean): TestRun => ({
    passed,
    exitCode: passed ? 0 : 1,
    signal: null,
    durationMs: 5,
    timedOut: false,
    outputTail: '',
    outputTruncated: false,
  });

  test('no test command: no verification; with one: required, one fix attempt by default', () => {
    assert.equal(verifyPolicyOf({}), undefined);
    const p = verifyPolicyOf({ test_command: 'npm test' });
    assert.equal(p?.mode, 'required');
    assert.equal(p?.fixAttempts, 1);
    assert.deepEqual(p?.command.argv, ['npm', 'test']);
    const r = verifyPolicyOf({ test_command: 'npm test', verify: 'report', fixAttempts: 0 });
    assert.equal(r?.mode, 'report');
    assert.equal(r?.fixAttempts, 0);
  });

  test('required blocks on a failing last run; report never blocks; no run after a failed agent is not_run', () => {
    assert.deepEqual(verdictOf('required', [run(false), run(true)]), { verdict: 'passed', blocking: false });
    assert.deepEqual(verdictOf('required', [run(true), run(false)]), { verdict: 'failed', blocking: true });
    assert.deepEqual(verdictOf('report', [run(false)]), { verdict: 'failed', blocking: false });
    assert.deepEqual(verdictOf('required', []), { verdict: 'not_run', blocking: false });
  });
});

describe('running the test command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'a2a-verify-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const script = (name: string, body: string): string => {
    writeFileSync(join(dir, name), body);
    return name;
  };
  const baseEnv = { PATH: process.env.PATH, SECRET_TOKEN: 'sk-secret', HOME: '/root' };

  test('runs in the workspace with only allowlisted variables; output and exit code are reported', async () => {
    const file = script(
      'env.mjs',
      `console.log('cwd=' + process.cwd()); console.log('secret=' + (process.env.SECRET_TOKEN ?? 'none')); console.error('ci=' + process.env.CI + ' extra=' + process.env.EXTRA); process.exit(3);`,
    );
    const r = await runTests({
      command: parseTestCommand(`EXTRA=yes ${process.execPath} ${file}`),
      cwd: dir,
      baseEnv,
    });
    assert.equal(r.passed, false);
    assert.equal(r.exitCode, 3);
    assert.match(r.outputTail, new RegExp(`cwd=${dir}`));
    assert.match(r.outputTail, /secret=none/);
    assert.match(r.outputTail, /ci=1 extra=yes/);
  });

  test('the output tail is bounded and keeps the end', async () => {
    const file = script(
      'flood.mjs',
      `for (let i = 0; i < 5000; i++) console.log('line ' + i + ' ' + 'x'.repeat(50)); console.log('THE END');`,
    );
    const r = await runTests({
      command: parseTestCommand(`${process.execPath} ${file}`),
      cwd: dir,
      baseEnv,
      maxOutputBytes: 2048,
    });
    assert.equal(r.passed, true);
    assert.ok(r.outputTail.length <= 2048);
    assert.ok(r.outputTruncated);
    assert.match(r.outputTail, /THE END\n$/);
  });

  test('a command past its deadline is killed with its process group and reported as timed out', async () => {
    // The child starts a grandchild in its group that would outlive a kill of the leader alone.
    const file = script(
      'hang.mjs',
      `import { spawn } from 'node:child_process'; spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log('started'); setInterval(() => {}, 1000);`,
    );
    const startedAt = Date.now();
    const r = await runTests({
      command: parseTestCommand(`${process.execPath} ${file}`),
      cwd: dir,
      baseEnv,
      timeoutMs: 500,
    });
    assert.equal(r.passed, false);
    assert.equal(r.timedOut, true);
    assert.match(r.error ?? '', /did not finish within/);
    assert.ok(Date.now() - startedAt < 10_000);
  });

  test('a command that is not installed is a failed run saying so', async () => {
    const r = await runTests({ command: parseTestCommand('no-such-test-runner-xyz'), cwd: dir, baseEnv });
    assert.equal(r.passed, false);
    assert.match(r.error ?? '', /command not found/);
  });
});

describe('the verified run', () => {
  const run = (passed: boolean, out = ''): TestRun => ({
    passed,
    exitCode: passed ? 0 : 1,
    signal: null,
    durationMs: 5,
    timedOut: false,
    outputTail: out,
    outputTruncated: false,
  });
  const done: BackendOutcome = { status: 'completed', summary: 'fixed', usage: { inputTokens: 10 } };
  const policy = verifyPolicyOf({ test_command: 'npm test' })!;

  test('tests fail before and pass after: completed, one agent turn', async () => {
    const results = [run(false), run(true)];
    const turns: AgentTurn[] = [];
    const r = await verifiedRun({
      policy,
      runTests: () => Promise.resolve(results.shift()!),
      runAgent: (turn) => (turns.push(turn), Promise.resolve(done)),
    });
    assert.equal(r.outcome.status, 'completed');
    assert.equal(turns.length, 1);
    assert.equal(r.report.verdict, 'passed');
    assert.equal(r.report.before.passed, false);
    assert.equal(r.report.after.length, 1);
  });

  test('still failing: one more turn with the failing output, then failed with the report', async () => {
    const results = [run(false), run(false, 'FAIL first'), run(false, 'FAIL second')];
    const turns: AgentTurn[] = [];
    const r = await verifiedRun({
      policy,
      runTests: () => Promise.resolve(results.shift()!),
      runAgent: (turn) => (turns.push(turn), Promise.resolve(done)),
    });
    assert.equal(turns.length, 2);
    assert.equal(turns[1]?.attempt, 1);
    assert.match(turns[1]?.prompt ?? '', /"npm test".*failed/);
    assert.match(turns[1]?.prompt ?? '', /FAIL first/);
    assert.equal(r.outcome.status, 'failed');
    assert.match(r.outcome.reason ?? '', /tests still fail/);
    assert.equal(r.outcome.usage?.inputTokens, 20, 'usage adds up over the turns');
    assert.equal(r.report.verdict, 'failed');
    assert.equal(r.report.blocking, true);
    assert.equal(r.report.fixAttemptsUsed, 1);
    assert.equal(r.report.after.length, 2);
  });

  test('the fix attempt makes them pass: completed after two turns', async () => {
    const results = [run(false), run(false), run(true)];
    const r = await verifiedRun({
      policy,
      runTests: () => Promise.resolve(results.shift()!),
      runAgent: () => Promise.resolve(done),
    });
    assert.equal(r.outcome.status, 'completed');
    assert.equal(r.report.fixAttemptsUsed, 1);
  });

  test('verify: report never retries and never fails the task', async () => {
    const results = [run(true), run(false)];
    let turns = 0;
    const r = await verifiedRun({
      policy: verifyPolicyOf({ test_command: 'npm test', verify: 'report' })!,
      runTests: () => Promise.resolve(results.shift()!),
      runAgent: () => (turns++, Promise.resolve(done)),
    });
    assert.equal(turns, 1);
    assert.equal(r.outcome.status, 'completed');
    assert.equal(r.report.verdict, 'failed');
    assert.equal(r.report.blocking, false);
  });

  test('an agent that fails is not tested after, and its own failure stands', async () => {
    let tests = 0;
    const r = await verifiedRun({
      policy,
      runTests: () => (tests++, Promise.resolve(run(false))),
      runAgent: () => Promise.resolve({ status: 'failed', summary: '', reason: 'the CLI crashed' }),
    });
    assert.equal(tests, 1);
    assert.equal(r.outcome.reason, 'the CLI crashed');
    assert.equal(r.report.verdict, 'not_run');
  });
});
