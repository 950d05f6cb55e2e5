// `a2a-gateway improve` as a user runs it (the binary from the sources) against a gateway with fake agents: a
// review that reports findings, a fix agent, the gateway's own test run, a task branch per fix pushed to a bare
// origin, and a report whose exit code says whether every fix verified.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FAKE_CLI_DIR, REPO_ROOT, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';
import { git } from '../helpers/git.js';

const run = promisify(execFile);
const EDIT = join(FAKE_CLI_DIR, 'edit-files.mjs');
const REVIEW = [
  'Request changes.',
  '```json',
  '[{"file": "value.txt", "line": 1, "severity": "major", "text": "value.txt must say good", "suggestion": "write good"},',
  ' {"file": "README.md", "line": null, "severity": "nit", "text": "add a title"}]',
  '```',
].join('\n');
const agent = (name: string, spec: unknown): string => `  ${name}:
    type: command
    command: ${EDIT}
    env: { FAKE_EDIT: ${JSON.stringify(JSON.stringify(spec))} }`;
const CHECK = `const v = require('node:fs').readFileSync('value.txt', 'utf8').trim();
if (v !== 'good') { console.error('FAIL: value is ' + v); process.exit(1); }
console.log('PASS');
`;

async function improve(
  url: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), '--url', url, 'improve', ...args],
      {
        cwd: REPO_ROOT,
        timeout: 120_000,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function makeRepo(root: string, name: string, bare: string): string {
  const repo = join(root, name);
  mkdirSync(repo);
  writeFileSync(join(repo, 'value.txt'), 'bad\n');
  writeFileSync(join(repo, 'README.md'), 'demo\n');
  writeFileSync(join(repo, 'check.js'), CHECK);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  git(repo, 'remote', 'add', 'origin', bare);
  return repo;
}

describe('a2a-gateway improve', () => {
  let good: TestGateway;
  let bad: TestGateway;
  let tmp: ReturnType<typeof tempDir>;

  before(async () => {
    tmp = tempDir('a2a-improve-');
    const config = (fixer: unknown): string => `
backends:
${agent('reviewer', { say: REVIEW })}
${agent('fixer', fixer)}
skills:
  review_pr: { backend: reviewer }
  fix_bug: { backend: fixer }
`;
    good = await startTestGateway({ configYaml: config({ write: { 'value.txt': 'good\n' } }) });
    bad = await startTestGateway({ configYaml: config({ write: { 'value.txt': 'worse\n' } }) });
  });
  after(async () => {
    await good?.stop();
    await bad?.stop();
    tmp?.cleanup();
  });

  test('the most severe finding is fixed, verified, committed on its own branch and pushed; exit 0', async () => {
    const bare = join(tmp.dir, 'good.git');
    git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
    const repo = makeRepo(good.workDir, 'good', bare);
    const r = await improve(good.url, [
      '-w',
      repo,
      '--test-command',
      'node check.js',
      '--max',
      '1',
      '--push',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const report = JSON.parse(r.stdout);
    assert.equal(report.review.findings.length, 2);
    assert.equal(report.fixes.length, 1);
    const [fix] = report.fixes;
    assert.equal(fix.finding.file, 'value.txt', 'the major finding comes before the nit');
    assert.equal(fix.verified, true);
    assert.match(fix.tests, /^passed \(before: fail, after: pass\)/);
    assert.match(fix.branch, /^a2a\/fix_bug\//);
    assert.equal(fix.pushed, true);
    assert.equal(git(bare, 'show', `${fix.branch}:value.txt`), 'good\n');
  });

  test('a fix whose tests still fail is reported as not verified; exit 1 (plain text report)', async () => {
    const bare = join(tmp.dir, 'bad.git');
    git(tmp.dir, 'init', '-q', '--bare', '-b', 'main', bare);
    const repo = makeRepo(bad.workDir, 'bad', bare);
    const r = await improve(bad.url, ['-w', repo, '--test-command', 'node check.js', '--severity', 'major']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /NOT verified {2}f[0-9a-f]{8} major value\.txt:1/);
    assert.match(r.stdout, /tests: failed \(before: fail, after: fail\)/);
    assert.match(r.stdout, /reason: the tests still fail/);
    assert.match(r.stdout, /some fixes did not verify/);
  });
});
