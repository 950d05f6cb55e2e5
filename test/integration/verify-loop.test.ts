// The gateway checks the agent's work itself: it runs the task's test command before and after the agent (fake
// CLIs that fix or break a file), gives a failing agent one more turn, fails the task with the test report when the
// tests still fail, and pushes a verified change to the remote with a pull request through a stand-in gh.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAKE_CLI_DIR, sendTask, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { git } from '../helpers/git.js';

const EDIT = join(FAKE_CLI_DIR, 'edit-files.mjs');
const agent = (name: string, spec: unknown): string => `  ${name}:
    type: command
    command: ${EDIT}
    env: { FAKE_EDIT: ${JSON.stringify(JSON.stringify(spec))} }`;

const CONFIG = `
backends:
${agent('fixer', { write: { 'value.txt': 'good\n' } })}
${agent('breaker', { write: { 'value.txt': 'worse\n' } })}
skills:
  fix_bug: { backend: fixer }
  refactor_code: { backend: breaker }
`;

// The project's "tests": pass when value.txt says good.
const CHECK = `const v = require('node:fs').readFileSync('value.txt', 'utf8').trim();
console.log('value is ' + v);
if (v !== 'good') { console.error('FAIL: expected good'); process.exit(1); }
console.log('PASS');
`;

const artifact = (task: any, name: string): any => task.artifacts?.find((a: any) => a.name === name);
const dataOf = (a: any): any => a?.parts?.find((p: any) => p.kind === 'data')?.data;

describe('verification, push and pull request by the gateway', () => {
  let gw: TestGateway;
  let tmp: ReturnType<typeof tempDir>;
  let bare: string;
  let repo: string;
  let ghLog: string;

  before(async () => {
    tmp = tempDir('a2a-verify-loop-');
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    ghLog = join(tmp.dir, 'gh.json');
    writeFileSync(
      join(bin, 'gh'),
      `#!${process.execPath}\nconst fs = require('node:fs');\nfs.writeFileSync(${JSON.stringify(ghLog)}, JSON.stringify({ argv: process.argv.slice(2), body: fs.readFileSync(0, 'utf8') }));\nconsole.log('https://github.example/o/r/pull/1');\n`,
    );
    chmodSync(join(bin, 'gh'), 0o755);
    gw = await startTestGateway({
      configYaml: CONFIG,
      childEnv: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: tmp.dir },
    });
    bare = join(tmp.dir, 'origin.git');
    git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
    repo = join(gw.workDir, 'project');
    mkdirSync(repo);
    writeFileSync(join(repo, 'value.txt'), 'bad\n');
    writeFileSync(join(repo, 'check.js'), CHECK);
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    git(repo, 'remote', 'add', 'origin', bare);
    git(repo, 'push', '-q', 'origin', 'main');
  });
  after(async () => {
    await gw?.stop();
    tmp?.cleanup();
  });

  test('tests fail before and pass after: completed, test report, branch pushed, pull request opened', async () => {
    const res = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: {
        bug_description: 'value.txt should say good',
        workdir: repo,
        test_command: 'node check.js',
        pull_request: true,
      },
    });
    const task = res.body.result;
    assert.equal(task?.status.state, 'completed', JSON.stringify(res.body));
    const report = dataOf(artifact(task, 'test-report'));
    assert.equal(report.verdict, 'passed');
    assert.equal(report.before.passed, false);
    assert.match(report.before.outputTail, /FAIL: expected good/);
    assert.equal(report.after.length, 1);
    assert.match(report.after[0].outputTail, /PASS/);
    const details = dataOf(artifact(task, 'result'));
    const branch: string = details.workspace.branch;
    assert.match(branch, /^a2a\/fix_bug\//);
    assert.equal(details.workspace.pushed.branch, branch);
    assert.equal(git(bare, 'rev-parse', `refs/heads/${branch}`).trim(), details.workspace.commit);
    assert.equal(git(bare, 'show', `${branch}:value.txt`), 'good\n');
    assert.equal(dataOf(artifact(task, 'pull-request')).url, 'https://github.example/o/r/pull/1');
    const gh = JSON.parse(readFileSync(ghLog, 'utf8'));
    assert.deepEqual(gh.argv.slice(0, 6), ['pr', 'create', '--head', branch, '--base', 'main']);
    assert.match(gh.body, /Tests \(run by the gateway\)/);
    assert.equal(
      readFileSync(join(repo, 'value.txt'), 'utf8'),
      'bad\n',
      "the caller's checkout is untouched",
    );
  });

  test('an agent that leaves the tests failing gets one more turn, then the task fails with the report', async () => {
    const res = await sendTask(gw.url, {
      skill: 'refactor_code',
      input: { instructions: 'tidy value.txt', workdir: repo, test_command: 'node check.js' },
    });
    const task = res.body.result;
    assert.equal(task?.status.state, 'failed', JSON.stringify(res.body));
    const reason = task.status.message.parts.map((p: any) => p.text ?? '').join('');
    assert.match(reason, /tests still fail after the agent's change/);
    const report = dataOf(artifact(task, 'test-report'));
    assert.equal(report.verdict, 'failed');
    assert.equal(report.blocking, true);
    assert.equal(report.fixAttemptsUsed, 1);
    assert.equal(report.after.length, 2);
    assert.match(report.after[1].outputTail, /value is worse/);
  });

  test('verify: report completes with the failing report', async () => {
    const res = await sendTask(gw.url, {
      skill: 'refactor_code',
      input: { instructions: 'tidy', workdir: repo, test_command: 'node check.js', verify: 'report' },
    });
    const task = res.body.result;
    assert.equal(task?.status.state, 'completed', JSON.stringify(res.body));
    assert.equal(dataOf(artifact(task, 'test-report')).verdict, 'failed');
  });

  test('a test command with shell syntax, and a push to a missing remote, are refused before a task exists', async () => {
    const piped = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: { bug_description: 'x', workdir: repo, test_command: 'npm test | tee log' },
    });
    assert.equal(piped.body.error?.code, -32602, JSON.stringify(piped.body));
    assert.match(piped.body.error.message, /input\.test_command: .*a pipe \(\|\).*without a shell/);
    const remote = await sendTask(gw.url, {
      skill: 'fix_bug',
      input: { bug_description: 'x', workdir: repo, push: true, remote: 'upstream' },
    });
    assert.equal(remote.body.error?.code, -32602, JSON.stringify(remote.body));
    assert.match(remote.body.error.message, /input\.remote: .*no remote "upstream"/);
  });
});
