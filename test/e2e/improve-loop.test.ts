// The self-improvement loop end to end (issue 19), with the real Claude Code against the scripted model: on a clone
// of this repository with a planted bug and a local bare repository as its origin, `a2a-gateway improve` runs a
// review_pr pass that reports the bug as a finding, then a fix_bug task naming it; the gateway's own run of the
// unit subset fails before the agent and passes after, the commit lands on the task branch, the branch reaches the
// bare origin, a pull request is opened through a stand-in `gh` that records its argv, and the report says so.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { startMockLlm, type MockLlm } from '../fixtures/mock-llm/index.js';
import { REPO_ROOT, spawnGateway, tempDir, type GatewayProcess } from '../helpers/gateway.js';
import { e2eGatewayEnv } from './helpers/cli-env.js';

const run = promisify(execFile);
const FILE = 'src/skills/generated-files.ts';
const FIXED = 'const instruction = /^([A-Za-z]+)/.exec(line)?.[1]?.toUpperCase();';
const BUGGY = 'const instruction = /^([A-Za-z]+)/.exec(line)?.[1];';
const UNIT_SUBSET = 'node --import tsx --test test/unit/results.test.ts test/unit/skills.test.ts';
const PR_URL = 'https://github.example/a2a/a2a-gateway/pull/42';
// What the scripted model answers to the review: a summary, then the findings block the review prompt asks for.
const REVIEW = [
  'Request changes: Dockerfile instructions are compared case-sensitively.',
  '```json',
  JSON.stringify([
    {
      file: FILE,
      line: 1,
      severity: 'major',
      text: 'generate_dockerfile refuses a Dockerfile whose instructions are lower case ("from alpine"): the instruction is compared without normalising its case.',
      suggestion: 'upper-case the instruction before comparing it',
    },
    { file: 'README.md', line: null, severity: 'nit', text: 'a typo in the introduction' },
  ]),
  '```',
].join('\n');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

describe('a2a-gateway improve on its own repository (claude, scripted model, bare origin, stand-in gh)', () => {
  let tmp: ReturnType<typeof tempDir>;
  let mock: MockLlm;
  let gw: GatewayProcess;
  let clone: string;
  let origin: string;
  let ghLog: string;

  before(async () => {
    tmp = tempDir('a2a-gw-improve-');
    const repos = join(tmp.dir, 'repos');
    mkdirSync(repos);
    origin = join(tmp.dir, 'origin.git');
    git(tmp.dir, 'init', '--quiet', '--bare', '-b', 'main', origin);
    clone = join(repos, 'a2a-gateway');
    git(repos, 'clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone);
    clone = realpathSync(clone);
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
    appendFileSync(join(clone, '.git', 'info', 'exclude'), '/node_modules\n');
    const source = readFileSync(join(clone, FILE), 'utf8');
    assert.ok(source.includes(FIXED), `${FILE} still has the line this test breaks`);
    writeFileSync(join(clone, FILE), source.replace(FIXED, BUGGY));
    git(clone, 'commit', '--quiet', '-am', 'a regression: lower-case Dockerfile instructions');
    git(clone, 'remote', 'remove', 'origin');
    git(clone, 'remote', 'add', 'origin', origin);
    git(clone, 'push', '--quiet', 'origin', 'HEAD:main');

    // A stand-in gh: records its argv and the body it read, prints the pull request's URL.
    const bin = join(tmp.dir, 'bin');
    mkdirSync(bin);
    ghLog = join(tmp.dir, 'gh.json');
    writeFileSync(
      join(bin, 'gh'),
      `#!${process.execPath}\nconst fs = require('node:fs');\nfs.writeFileSync(${JSON.stringify(ghLog)}, JSON.stringify({ argv: process.argv.slice(2), body: fs.readFileSync(0, 'utf8') }));\nconsole.log(${JSON.stringify(PR_URL)});\n`,
    );
    chmodSync(join(bin, 'gh'), 0o755);

    // The review prompt carries `mock:answer` (through --focus), so the model answers it with the findings; the
    // fix task's prompt does not, so the model edits the file.
    mock = await startMockLlm({
      cwd: clone,
      script: { scenario: 'edit', file: FILE, search: BUGGY, replace: FIXED, content: REVIEW },
    });
    const home = join(tmp.dir, 'home');
    mkdirSync(home);
    const config = join(tmp.dir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'skills:',
        '  review_pr: { backend: claude }',
        '  fix_bug: { backend: claude }',
        'repositories:',
        `  - path: ${JSON.stringify(clone)}`,
        `    setup: [ln, -s, ${JSON.stringify(join(REPO_ROOT, 'node_modules'))}, node_modules]`,
        '',
      ].join('\n'),
    );
    const env = e2eGatewayEnv({ home, dataDir: join(tmp.dir, 'data'), roots: repos });
    gw = await spawnGateway(
      {
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: 'sk-mock-e2e',
        CLAUDE_CODE_MAX_RETRIES: '0',
        ...env,
        PATH: `${bin}:${env.PATH}`,
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

  test('review finds the bug; the fix verifies, lands on its branch, reaches origin and gets a pull request', async () => {
    const { NODE_TEST_CONTEXT: _ignored, ...env } = process.env;
    const r = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'src/cli/main.ts'),
        '--url',
        gw.url,
        'improve',
        '-w',
        clone,
        '--focus',
        'mock:answer correctness of the generated-file checks',
        '--test-command',
        UNIT_SUBSET,
        '--max',
        '1',
        '--push',
        '--pull-request',
        '--timeout',
        '240',
        '--json',
      ],
      { cwd: REPO_ROOT, timeout: 400_000, env: { ...env, NO_COLOR: '1' } },
    ).catch((err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.fail(`improve exited ${err.code}: ${err.stderr}\n${err.stdout}`);
    });
    const report = JSON.parse(r.stdout) as {
      review: { findings: Array<{ file: string; severity: string }> };
      fixes: Array<{
        finding: { file: string };
        verified: boolean;
        tests?: string;
        branch?: string;
        pushed?: boolean;
        pullRequest?: string;
      }>;
      verified: boolean;
    };
    assert.equal(report.review.findings.length, 2, r.stdout);
    assert.equal(report.fixes.length, 1);
    const [fix] = report.fixes;
    assert.equal(fix?.finding.file, FILE, 'the major finding comes first');
    assert.equal(fix?.verified, true, r.stdout);
    assert.equal(report.verified, true);
    assert.match(
      fix?.tests ?? '',
      /^passed \(before: fail, after: pass\)/,
      'the gateway ran the tests itself',
    );
    assert.match(fix?.branch ?? '', /^a2a\/fix_bug\//);
    assert.equal(fix?.pushed, true);
    assert.equal(fix?.pullRequest, PR_URL);

    // The branch is on the bare origin, with the fix committed; the clone's own tree is untouched.
    const pushed = git(origin, 'show', `${fix?.branch ?? ''}:${FILE}`);
    assert.ok(pushed.includes(FIXED), 'the pushed branch has the fix');
    assert.equal(git(clone, 'status', '--porcelain'), '');
    assert.ok(readFileSync(join(clone, FILE), 'utf8').includes(BUGGY), 'the working tree is not changed');

    // gh was asked for a pull request of that branch, with the test verdict in its body.
    assert.ok(existsSync(ghLog), 'gh was run');
    const gh = JSON.parse(readFileSync(ghLog, 'utf8')) as { argv: string[]; body: string };
    assert.deepEqual(gh.argv.slice(0, 2), ['pr', 'create']);
    assert.ok(gh.argv.includes(fix?.branch ?? '-'), gh.argv.join(' '));
    assert.match(gh.body, /pass/i);
  });
});
