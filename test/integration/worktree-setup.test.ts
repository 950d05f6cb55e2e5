// Setting up a task's worktree, through the gateway against real git: the ignored files a repository lists in
// .worktreeinclude (.env, local settings) are in the agent's checkout; tracked, unlisted, unignored and symlinked
// files are not copied; and none of them shows in the task's diff. A repository's set-up command from the config
// runs in the new worktree before the agent; when it fails, the task fails with its output and leaves nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  FAKE_CLI_DIR,
  getTask,
  sendTask,
  startTestGateway,
  tempDir,
  type TestGateway,
} from '../helpers/gateway.js';
import { commitRepo, git } from '../helpers/git.js';

const EDIT = join(FAKE_CLI_DIR, 'edit-files.mjs');

const CONFIG = `
backends:
  editor:
    type: command
    command: ${EDIT}
    args: ["{input.instructions}"]
skills:
  code: { backend: editor }
`;

describe('.worktreeinclude: ignored files a new worktree needs', () => {
  let gw: TestGateway;
  let root: string;
  let repo: string;
  let outside: string;
  const dirs: { cleanup: () => void }[] = [];

  before(async () => {
    const made = [tempDir('a2a-wtinc-'), tempDir('a2a-wtinc-outside-')] as const;
    dirs.push(...made);
    root = made[0].dir;
    outside = made[1].dir;
    writeFileSync(join(outside, 'secret'), 'from outside the repository\n');
    repo = join(root, 'app');
    mkdirSync(join(repo, 'config'), { recursive: true });
    writeFileSync(join(repo, '.gitignore'), '.env\nconfig/local.json\n.env.link\nbuild/\n');
    writeFileSync(
      join(repo, '.worktreeinclude'),
      '# set-up files\n.env\nconfig/local.json\n.env.link\nnotes.txt\n',
    );
    writeFileSync(join(repo, 'README.md'), '# app\n');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    // Ignored and listed: copied.
    writeFileSync(join(repo, '.env'), 'APP_MODE=development\n');
    writeFileSync(join(repo, 'config/local.json'), '{"db": "local"}\n');
    // Ignored and listed, but a symlink leading out of the repository: not followed.
    symlinkSync(join(outside, 'secret'), join(repo, '.env.link'));
    // Listed but not ignored (the user's work in progress): not copied.
    writeFileSync(join(repo, 'notes.txt'), 'draft\n');
    // Ignored but not listed: not copied.
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build/out.js'), 'built\n');
    gw = await startTestGateway({ env: { WORKSPACE_ROOTS: root }, configYaml: CONFIG });
  });
  after(async () => {
    await gw?.stop();
    for (const d of dirs) d.cleanup();
  });

  test('the agent finds the listed ignored files; nothing else is copied; the diff holds only its own change', async () => {
    const instructions = JSON.stringify({
      write: { 'src/new.txt': 'made by the agent\n' },
      show: ['.env', 'config/local.json', '.env.link', 'notes.txt', 'build/out.js', 'README.md'],
    });
    const res = await sendTask(gw.url, { skill: 'code', input: { workdir: repo, instructions } });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body).slice(0, 600));
    const result = (task.artifacts ?? []).find((a: any) => a.name === 'result');
    const printed = JSON.parse(result.parts[0].text);
    assert.notEqual(printed.cwd, repo, 'the agent ran in a worktree, not the repository');
    assert.deepEqual(printed.shown, {
      '.env': 'APP_MODE=development\n',
      'config/local.json': '{"db": "local"}\n',
      '.env.link': null,
      'notes.txt': null,
      'build/out.js': null,
      'README.md': '# app\n',
    });
    const diff = (task.artifacts ?? []).find((a: any) => a.name === 'diff')?.parts[0]?.text ?? '';
    assert.match(diff, /src\/new\.txt/);
    assert.doesNotMatch(diff, /APP_MODE|local\.json|\.env/);
  });

  test('a repository without .worktreeinclude gets a plain checkout', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    writeFileSync(join(plain, '.gitignore'), '.env\n');
    git(plain, 'init', '-q', '-b', 'main');
    git(plain, 'add', '-A');
    git(plain, 'commit', '-q', '-m', 'initial');
    writeFileSync(join(plain, '.env'), 'X=1\n');
    const instructions = JSON.stringify({ show: ['.env', '.gitignore'] });
    const res = await sendTask(gw.url, { skill: 'code', input: { workdir: plain, instructions } });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body).slice(0, 600));
    const printed = JSON.parse((task.artifacts ?? []).find((a: any) => a.name === 'result').parts[0].text);
    assert.deepEqual(printed.shown, { '.env': null, '.gitignore': '.env\n' });
  });
});

describe("a repository's set-up command runs in each new worktree before the agent", () => {
  let gw: TestGateway;
  let good: string;
  let bad: string;
  const dirs: { cleanup: () => void }[] = [];

  before(async () => {
    const made = tempDir('a2a-setup-');
    dirs.push(made);
    good = commitRepo(join(made.dir, 'good'), {
      '.gitignore': 'deps/\n',
      // Stands in for `npm ci`: writes what the build needs where git ignores it, and says where it ran.
      'setup.mjs':
        "import { mkdirSync, writeFileSync } from 'node:fs';\nmkdirSync('deps', { recursive: true });\nwriteFileSync('deps/ready', process.cwd());\nconsole.log('installed 3 packages');\n",
    });
    bad = commitRepo(join(made.dir, 'bad'), {
      'setup.mjs':
        "console.log('resolving');\nconsole.error('error: package left-pad not found');\nprocess.exit(3);\n",
    });
    const config = `${CONFIG}
repositories:
  - path: ${good}
    setup: node setup.mjs
  - path: ${bad}
    setup: [node, setup.mjs]
    setupTimeout: 30
`;
    gw = await startTestGateway({ env: { WORKSPACE_ROOTS: made.dir }, configYaml: config });
  });
  after(async () => {
    await gw?.stop();
    for (const d of dirs) d.cleanup();
  });

  test('the agent finds what the set-up made, in its own worktree; the repository itself is untouched', async () => {
    const instructions = JSON.stringify({ show: ['deps/ready'], write: { 'src/x.txt': 'x\n' } });
    const res = await sendTask(gw.url, { skill: 'code', input: { workdir: good, instructions } });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body).slice(0, 600));
    const printed = JSON.parse((task.artifacts ?? []).find((a: any) => a.name === 'result').parts[0].text);
    assert.equal(printed.shown['deps/ready'], printed.cwd, "the set-up ran in the task's worktree");
    assert.equal(existsSync(join(good, 'deps')), false, "nothing was installed in the caller's repository");
    const diff = (task.artifacts ?? []).find((a: any) => a.name === 'diff')?.parts[0]?.text ?? '';
    assert.doesNotMatch(diff, /deps\//);
    // The set-up's output is in the task's events, marked as set-up, before the agent's.
    const history: any[] = (await getTask(gw.url, task.id))?.history ?? [];
    const setup = history
      .filter((m) => m.metadata?.event === 'setup')
      .flatMap((m) => (m.parts ?? []).map((p: any) => p.text ?? ''))
      .join('\n');
    assert.match(setup, /setting up the worktree: node setup\.mjs/);
    assert.match(setup, /installed 3 packages/);
  });

  test('a failing set-up fails the task with the command and its output, before the agent, leaving no branch', async () => {
    const instructions = JSON.stringify({ write: { 'agent-ran.txt': 'yes\n' } });
    const res = await sendTask(gw.url, { skill: 'code', input: { workdir: bad, instructions } });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'failed', JSON.stringify(res.body).slice(0, 600));
    const reason = (task.status.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
    assert.match(reason, /set-up command `node setup\.mjs` exited with 3/);
    assert.match(reason, /package left-pad not found/);
    assert.deepEqual(
      git(bad, 'for-each-ref', '--format=%(refname)', 'refs/heads/a2a/').trim(),
      '',
      'the task branch is gone',
    );
    assert.equal(git(bad, 'worktree', 'list', '--porcelain').match(/^worktree /gm)?.length, 1);
    assert.deepEqual(readdirSync(bad).sort(), ['.git', 'setup.mjs']);
  });
});

describe('repositories in the config file are checked at start-up', () => {
  test('a missing path and a set-up command with shell syntax are refused, naming the field', async () => {
    const made = tempDir('a2a-setup-cfg-');
    try {
      const repo = commitRepo(join(made.dir, 'r'), { 'a.txt': 'a\n' });
      const config = `${CONFIG}
repositories:
  - path: ${join(made.dir, 'missing')}
  - path: ${repo}
    setup: npm ci && npm run build
`;
      await assert.rejects(
        startTestGateway({ env: { WORKSPACE_ROOTS: made.dir }, configYaml: config }),
        (err: Error) =>
          /repositories\.0\.path: .*missing does not exist/.test(err.message) &&
          /repositories\.1\.setup: .*&&/.test(err.message),
      );
    } finally {
      made.cleanup();
    }
  });
});
