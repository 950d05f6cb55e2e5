// The git side of per-task workspaces against real git in temporary directories: worktrees from HEAD and a base
// ref, concurrent tasks on one repository, the changes a task made (new, modified, deleted, renamed, binary,
// untracked, ignored), apply onto clean and dirty trees, commit without a global identity, removal, branch
// retention, refused refs, and copies of directories that are not repositories. Git runs with HOME set to an
// empty directory, so nothing here depends on the machine's git config.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GATEWAY_IDENTITY,
  GitError,
  WorkspaceError,
  applyToWorkingTree,
  collectChanges,
  commitChanges,
  createWorktree,
  deleteBranch,
  diffDirectories,
  findRepoRoot,
  listWorktrees,
  pruneTaskBranches,
  removeWorktree,
  snapshotCopy,
  taskBranchName,
  unlockAbandonedWorktrees,
  type ChangedFile,
  type GitContext,
} from '../../src/workspace/index.js';

const TOP = realpathSync(mkdtempSync(join(tmpdir(), 'a2a-ws-git-')));
const HOME = join(TOP, 'home');
mkdirSync(HOME);
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME };
const ctx: GitContext = { env: ENV, timeoutMs: 30_000 };
/** A binary blob: NUL bytes make git treat it as binary. */
const BINARY = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01, 0xff, 0x00, 0x10, 0x20]);

let counter = 0;
function fresh(name: string): string {
  const dir = join(TOP, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Test-side git (setup and inspection), with the same empty HOME and no system config. */
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: { ...ENV, GIT_CONFIG_NOSYSTEM: '1' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function write(dir: string, rel: string, content: string | Buffer): void {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), content);
}

/** A repository on `main` with a few committed files; `identity` false leaves it without user.name/email. */
function makeRepo(opts: { identity?: boolean } = {}): string {
  const repo = fresh('repo');
  git(repo, 'init', '-q', '-b', 'main');
  if (opts.identity !== false) {
    git(repo, 'config', 'user.name', 'Test User');
    git(repo, 'config', 'user.email', 'test@example.com');
  }
  write(repo, '.gitignore', '*.log\nbuild/\n');
  write(repo, 'a.txt', 'alpha\nbeta\ngamma\n');
  write(repo, 'b.txt', 'one\ntwo\nthree\n');
  write(repo, 'del.txt', 'to be deleted\n');
  write(
    repo,
    'src/old-name.ts',
    Array.from({ length: 30 }, (_, i) => `export const v${i} = ${i};`).join('\n') + '\n',
  );
  write(repo, 'image.bin', BINARY);
  const env = {
    GIT_AUTHOR_NAME: 'Setup',
    GIT_AUTHOR_EMAIL: 's@x',
    GIT_COMMITTER_NAME: 'Setup',
    GIT_COMMITTER_EMAIL: 's@x',
  };
  git(repo, 'add', '-A');
  execFileSync('git', ['commit', '-q', '-m', 'initial'], {
    cwd: repo,
    env: { ...ENV, ...env, GIT_CONFIG_NOSYSTEM: '1' },
  });
  return repo;
}

const head = (repo: string, ref = 'HEAD'): string => git(repo, 'rev-parse', ref).trim();
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const byPath = (files: readonly ChangedFile[]): Map<string, ChangedFile> =>
  new Map(files.map((f) => [f.path, f]));
const worktreePath = (name: string): string => join(TOP, 'data', 'worktrees', `${name}-${++counter}`);

/** A clone of `repo` checked out at `commit`, to apply a diff onto. */
function cloneAt(repo: string, commit: string): string {
  const dir = join(TOP, `clone-${++counter}`);
  git(TOP, 'clone', '-q', '--no-checkout', repo, dir);
  git(dir, 'checkout', '-q', '--detach', commit);
  return dir;
}

/** `git apply` reading the diff from stdin; returns stderr on failure instead of throwing. */
function gitApply(cwd: string, diff: string, ...flags: string[]): { ok: boolean; stderr: string } {
  try {
    execFileSync('git', ['apply', ...flags], { cwd, input: diff, env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: Buffer }).stderr ?? err) };
  }
}

after(() => {
  rmSync(TOP, { recursive: true, force: true });
});

describe('branch names and repository roots', () => {
  test('taskBranchName gives a valid branch under a2a/ from any skill and task id', () => {
    const repo = makeRepo();
    const cases: [string, string, string][] = [
      ['fix_bug', '3f2c9a1b-77aa-4c1e-9d0e-123456789abc', 'a2a/fix_bug/3f2c9a1b'],
      ['../etc', 'a..b@{c}.lock', 'a2a/etc/a-b-c-lo'],
      ['', '', 'a2a/task/id'],
      ['weird skill!', '-x-y-z-', 'a2a/weird-skill/x-y-z'],
    ];
    for (const [skill, id, expected] of cases) {
      const name = taskBranchName(skill, id);
      assert.equal(name, expected);
      assert.equal(git(repo, 'check-ref-format', '--branch', name).trim(), name);
    }
  });

  test('findRepoRoot gives the real top level from a subdirectory, and undefined outside a repository', async () => {
    const repo = makeRepo();
    assert.equal(await findRepoRoot(join(repo, 'src'), ctx), repo);
    assert.equal(await findRepoRoot(fresh('plain'), ctx), undefined);
    assert.equal(await findRepoRoot(join(repo, '.git'), ctx), undefined);
    await assert.rejects(findRepoRoot(join(repo, 'missing'), ctx), { code: 'invalid_path' });
    await assert.rejects(findRepoRoot(repo, { ...ctx, signal: AbortSignal.abort() }), (err: unknown) => {
      assert.ok(err instanceof GitError && err.code === 'git_aborted');
      assert.deepEqual(err.command, ['git', 'rev-parse', '--show-toplevel']);
      return true;
    });
  });
});

describe('createWorktree', () => {
  test('from HEAD: a new branch checked out in its own directory, the main tree untouched', async () => {
    const repo = makeRepo();
    const branch = taskBranchName('fix_bug', 'aaaaaaaa-1');
    const wt = await createWorktree({ repo, branch, path: worktreePath('head') }, ctx);
    assert.equal(wt.baseCommit, head(repo));
    assert.equal(wt.repoRoot, repo);
    assert.equal(readFileSync(join(wt.path, 'a.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
    assert.equal(git(wt.path, 'branch', '--show-current').trim(), branch);
    assert.equal(git(repo, 'branch', '--show-current').trim(), 'main');
    assert.ok((await listWorktrees(repo, ctx)).some((w) => w.path === wt.path && w.branch === branch));
  });

  test('from a base ref (tag, older sha): the worktree holds that commit', async () => {
    const repo = makeRepo();
    const first = head(repo);
    git(repo, 'tag', 'v1');
    write(repo, 'a.txt', 'changed later\n');
    git(repo, 'commit', '-q', '-am', 'later');
    for (const baseRef of ['v1', first, 'main~1']) {
      const wt = await createWorktree(
        {
          repo,
          branch: taskBranchName('refactor_code', `b${++counter}`),
          path: worktreePath('ref'),
          baseRef,
        },
        ctx,
      );
      assert.equal(wt.baseCommit, first);
      assert.equal(readFileSync(join(wt.path, 'a.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
    }
  });

  test('refs that read as options or commands, unknown refs and bad branch names are refused, leaving nothing', async () => {
    const repo = makeRepo();
    const refsBefore = git(repo, 'for-each-ref');
    const badRefs = [
      '--upload-pack=x',
      '-h',
      'main; rm -rf /',
      'no-such-branch',
      '',
      'main\nHEAD',
      'HEAD:a.txt',
    ];
    for (const baseRef of badRefs) {
      const path = worktreePath('bad');
      await assert.rejects(
        createWorktree({ repo, branch: taskBranchName('fix_bug', `c${++counter}`), path, baseRef }, ctx),
        (err: unknown) => err instanceof WorkspaceError && err.code === 'invalid_ref',
        `base ref ${JSON.stringify(baseRef)}`,
      );
      assert.equal(existsSync(path), false);
    }
    for (const branch of ['-b', 'a..b', 'x.lock', 'has space', '@{-1}', '']) {
      await assert.rejects(
        createWorktree({ repo, branch, path: worktreePath('bad') }, ctx),
        (err: unknown) => err instanceof WorkspaceError && err.code === 'invalid_branch',
        `branch ${JSON.stringify(branch)}`,
      );
    }
    assert.equal(git(repo, 'for-each-ref'), refsBefore);
    assert.equal((await listWorktrees(repo, ctx)).length, 1);
  });

  test('an existing branch or path, or a path inside the repository that it does not ignore, is refused', async () => {
    const repo = makeRepo();
    const branch = taskBranchName('fix_bug', 'dddddddd');
    await createWorktree({ repo, branch, path: worktreePath('dup') }, ctx);
    await assert.rejects(createWorktree({ repo, branch, path: worktreePath('dup') }, ctx), {
      code: 'branch_exists',
    });
    const existing = fresh('exists');
    await assert.rejects(createWorktree({ repo, branch: 'a2a/x/1', path: existing }, ctx), {
      code: 'path_exists',
    });
    await assert.rejects(createWorktree({ repo, branch: 'a2a/x/2', path: join(repo, 'wt') }, ctx), {
      code: 'invalid_path',
    });
    // Ignored (build/ in .gitignore): allowed, and the user's status stays empty.
    const inside = await createWorktree({ repo, branch: 'a2a/x/3', path: join(repo, 'build', 'wt') }, ctx);
    assert.equal(git(repo, 'status', '--porcelain'), '');
    await removeWorktree(repo, inside.path, ctx);
  });

  test('hooks of the repository do not run for worktree creation or commits', async () => {
    const repo = makeRepo();
    const marker = join(TOP, `hook-ran-${++counter}`);
    for (const hook of ['post-checkout', 'pre-commit', 'commit-msg', 'post-commit']) {
      write(repo, `.git/hooks/${hook}`, `#!/bin/sh\ntouch '${marker}'\nexit 1\n`);
      chmodSync(join(repo, '.git', 'hooks', hook), 0o755);
    }
    const wt = await createWorktree({ repo, branch: 'a2a/hooks/1', path: worktreePath('hooks') }, ctx);
    write(wt.path, 'a.txt', 'edited\n');
    assert.match((await commitChanges(wt.path, 'task: edit', ctx)) ?? '', /^[0-9a-f]{40}$/);
    assert.equal(existsSync(marker), false);
  });
});

describe('worktree entries a killed git left', () => {
  /** What `git worktree add` killed while writing `commondir` leaves behind (an empty file). */
  function halfMadeEntry(repo: string, worktree: string, opts: { gitdir: boolean }): string {
    const entry = join(repo, '.git', 'worktrees', `killed-${++counter}`);
    mkdirSync(entry, { recursive: true });
    writeFileSync(join(entry, 'locked'), 'initializing');
    if (opts.gitdir) writeFileSync(join(entry, 'gitdir'), `${join(worktree, '.git')}\n`);
    writeFileSync(join(entry, 'commondir'), '');
    return entry;
  }

  test("a half-made entry under the gateway's worktrees blocks worktree add until unlocked and pruned", async () => {
    const repo = makeRepo();
    const owned = join(TOP, 'data', 'worktrees');
    const entry = halfMadeEntry(repo, join(owned, 'gone-task'), { gitdir: true });
    await assert.rejects(
      createWorktree({ repo, branch: 'a2a/killed/1', path: worktreePath('killed') }, ctx),
      /commondir/,
    );
    assert.equal(await unlockAbandonedWorktrees(repo, owned, ctx), 1);
    git(repo, 'worktree', 'prune');
    assert.equal(existsSync(entry), false);
    const wt = await createWorktree({ repo, branch: 'a2a/killed/2', path: worktreePath('killed') }, ctx);
    assert.equal(existsSync(join(wt.path, 'a.txt')), true);
  });

  test("entries that are not the gateway's, or too young to be abandoned, stay locked", async () => {
    const repo = makeRepo();
    const owned = join(TOP, 'data', 'worktrees');
    const elsewhere = halfMadeEntry(repo, join(TOP, 'users-own-worktree'), { gitdir: true });
    const young = halfMadeEntry(repo, '', { gitdir: false });
    assert.equal(await unlockAbandonedWorktrees(repo, owned, ctx), 0);
    assert.equal(existsSync(join(elsewhere, 'locked')), true);
    assert.equal(existsSync(join(young, 'locked')), true);
    // Older than ten seconds, an entry that never named its worktree is abandoned.
    assert.equal(await unlockAbandonedWorktrees(repo, owned, ctx, Date.now() + 60_000), 1);
    assert.equal(existsSync(join(young, 'locked')), false);
    assert.equal(existsSync(join(elsewhere, 'locked')), true);
  });

  test('twelve worktrees made at once on one repository all succeed', async () => {
    const repo = makeRepo();
    const names = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    const made = await Promise.all(
      names.map((n) => createWorktree({ repo, branch: `a2a/many/${n}`, path: worktreePath(n) }, ctx)),
    );
    assert.equal(new Set(made.map((w) => w.path)).size, 12);
    assert.equal((await listWorktrees(repo, ctx)).length, 13);
  });
});

describe('collectChanges', () => {
  test('concurrent tasks on one repository each get exactly their own diff', async () => {
    const repo = makeRepo();
    const tasks = ['one', 'two', 'three', 'four'];
    const worktrees = await Promise.all(
      tasks.map((t) =>
        createWorktree({ repo, branch: taskBranchName('fix_bug', t), path: worktreePath(t) }, ctx),
      ),
    );
    worktrees.forEach((wt, i) => {
      write(wt.path, `task-${tasks[i]}.txt`, `written by ${tasks[i]}\n`);
      write(wt.path, 'a.txt', `alpha\nbeta from ${tasks[i]}\ngamma\n`);
    });
    const changes = await Promise.all(worktrees.map((wt) => collectChanges(wt.path, wt.baseCommit, ctx)));
    changes.forEach((c, i) => {
      const own = tasks[i] ?? '';
      assert.deepEqual(
        c.files.map((f) => [f.path, f.status]),
        [
          ['a.txt', 'modified'],
          [`task-${own}.txt`, 'added'],
        ],
      );
      assert.match(c.diff, new RegExp(`\\+beta from ${own}\\n`));
      for (const other of tasks.filter((t) => t !== own)) assert.doesNotMatch(c.diff, new RegExp(other));
    });
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  test('new, modified, deleted, renamed, binary and untracked files are listed; ignored files are not', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/kinds/1', path: worktreePath('kinds') }, ctx);
    write(wt.path, 'a.txt', 'alpha\nBETA\ngamma\ndelta\n');
    unlinkSync(join(wt.path, 'del.txt'));
    renameSync(join(wt.path, 'src', 'old-name.ts'), join(wt.path, 'src', 'new-name.ts'));
    write(wt.path, 'docs/new.md', '# new\n\ntext\n');
    write(wt.path, 'assets/logo.bin', BINARY);
    write(wt.path, 'image.bin', Buffer.concat([BINARY, BINARY]));
    write(wt.path, 'debug.log', 'ignored\n');
    write(wt.path, 'build/out.js', 'ignored too\n');
    // A commit by the agent and a staged edit count as much as untracked files.
    write(wt.path, 'b.txt', 'one\ntwo\nthree\nfour\n');
    git(wt.path, 'add', 'b.txt');

    const worktreeIndex = join(repo, '.git', 'worktrees', wt.path.split('/').pop() ?? '', 'index');
    const indexBefore = sha256(worktreeIndex);
    const { diff, applyableDiff, files } = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.equal(sha256(worktreeIndex), indexBefore, "the worktree's own index is untouched");

    const got = byPath(files);
    assert.deepEqual(got.get('a.txt'), {
      path: 'a.txt',
      status: 'modified',
      added: 2,
      removed: 1,
      binary: false,
    });
    assert.deepEqual(got.get('b.txt'), {
      path: 'b.txt',
      status: 'modified',
      added: 1,
      removed: 0,
      binary: false,
    });
    assert.deepEqual(got.get('del.txt'), {
      path: 'del.txt',
      status: 'deleted',
      added: 0,
      removed: 1,
      binary: false,
    });
    assert.deepEqual(got.get('src/new-name.ts'), {
      path: 'src/new-name.ts',
      status: 'renamed',
      added: 0,
      removed: 0,
      binary: false,
      oldPath: 'src/old-name.ts',
    });
    assert.deepEqual(got.get('docs/new.md'), {
      path: 'docs/new.md',
      status: 'added',
      added: 3,
      removed: 0,
      binary: false,
    });
    assert.deepEqual(got.get('assets/logo.bin'), {
      path: 'assets/logo.bin',
      status: 'added',
      added: 0,
      removed: 0,
      binary: true,
    });
    assert.equal(got.get('image.bin')?.binary, true);
    assert.equal(got.size, 7, `unexpected files: ${[...got.keys()].join(', ')}`);

    assert.match(diff, /Binary files \/dev\/null and b\/assets\/logo\.bin differ/);
    assert.match(diff, /rename from src\/old-name\.ts\nrename to src\/new-name\.ts/);
    assert.match(diff, /deleted file mode 100644/);
    assert.doesNotMatch(diff, /GIT binary patch/);
    assert.match(applyableDiff, /GIT binary patch/);

    // The readable diff names binary files without content, so only the applyable one applies.
    const clone = cloneAt(repo, wt.baseCommit);
    assert.equal(gitApply(clone, diff, '--check').ok, false);
    assert.deepEqual(gitApply(clone, applyableDiff), { ok: true, stderr: '' });
    for (const rel of ['a.txt', 'b.txt', 'src/new-name.ts', 'docs/new.md', 'assets/logo.bin', 'image.bin']) {
      assert.deepEqual(readFileSync(join(clone, rel)), readFileSync(join(wt.path, rel)), rel);
    }
    assert.equal(existsSync(join(clone, 'del.txt')), false);
    assert.equal(existsSync(join(clone, 'src', 'old-name.ts')), false);
  });

  test('a text-only change: the readable diff is the applyable one and applies to a fresh clone at the base', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/text/1', path: worktreePath('text') }, ctx);
    write(wt.path, 'a.txt', 'alpha\ngamma\n');
    write(wt.path, 'new dir/ünï cödé.txt', 'hello\n');
    unlinkSync(join(wt.path, 'del.txt'));
    const changes = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.equal(changes.applyableDiff, changes.diff);
    assert.ok(changes.files.some((f) => f.path === 'new dir/ünï cödé.txt' && f.status === 'added'));
    const clone = cloneAt(repo, wt.baseCommit);
    assert.deepEqual(gitApply(clone, changes.diff, '--check'), { ok: true, stderr: '' });
    assert.deepEqual(gitApply(clone, changes.diff), { ok: true, stderr: '' });
    assert.equal(readFileSync(join(clone, 'new dir', 'ünï cödé.txt'), 'utf8'), 'hello\n');
  });

  test("no change gives an empty diff, and the user's working tree and index stay byte-for-byte the same", async () => {
    const repo = makeRepo();
    // The user has work in progress of their own.
    write(repo, 'a.txt', 'user edit\n');
    write(repo, 'user-notes.txt', 'untracked\n');
    write(repo, 'b.txt', 'staged edit\n');
    git(repo, 'add', 'b.txt');
    const statusBefore = git(repo, 'status', '--porcelain');
    const indexBefore = sha256(join(repo, '.git', 'index'));

    const wt = await createWorktree({ repo, branch: 'a2a/user/1', path: worktreePath('user') }, ctx);
    assert.deepEqual(await collectChanges(wt.path, wt.baseCommit, ctx), {
      diff: '',
      applyableDiff: '',
      files: [],
    });
    write(wt.path, 'c.txt', 'task file\n');
    const changes = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.deepEqual(
      changes.files.map((f) => f.path),
      ['c.txt'],
    );

    assert.equal(git(repo, 'status', '--porcelain'), statusBefore);
    assert.equal(sha256(join(repo, '.git', 'index')), indexBefore);
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'user edit\n');
  });

  test('an edit the file stat cannot show is still seen: the index copy keeps its mtime (racy git)', async () => {
    // Checkout and edit in the same second, same size: only the index file's own mtime tells git to re-read the
    // file. Forged timestamps make that case certain instead of depending on where a second boundary falls.
    const repo = makeRepo();
    git(repo, 'config', 'core.trustctime', 'false');
    git(repo, 'config', 'core.checkStat', 'minimal');
    const wt = await createWorktree({ repo, branch: 'a2a/racy/1', path: worktreePath('racy') }, ctx);
    const file = join(wt.path, 'a.txt');
    const second = Math.floor(Date.now() / 1000) - 60;
    utimesSync(file, second, second);
    git(wt.path, 'update-index', '--refresh');
    writeFileSync(file, 'ALPHA\nbeta\ngamma\n');
    utimesSync(file, second, second);
    utimesSync(
      git(wt.path, 'rev-parse', '--path-format=absolute', '--git-path', 'index').trim(),
      second,
      second,
    );
    const { files } = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.deepEqual(
      files.map((f) => f.path),
      ['a.txt'],
    );
  });

  test('a diff larger than the bound is an output_too_large error', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/big/1', path: worktreePath('big') }, ctx);
    write(wt.path, 'big.txt', 'x'.repeat(10_000) + '\n');
    await assert.rejects(collectChanges(wt.path, wt.baseCommit, ctx, { maxDiffBytes: 1000 }), {
      code: 'output_too_large',
    });
  });
});

describe('applyToWorkingTree', () => {
  async function taskDiff(repo: string): Promise<string> {
    const wt = await createWorktree(
      { repo, branch: taskBranchName('fix_bug', `apply${++counter}`), path: worktreePath('apply') },
      ctx,
    );
    write(wt.path, 'a.txt', 'alpha\nfixed\ngamma\n');
    write(wt.path, 'added.txt', 'new file\n');
    write(wt.path, 'logo.bin', BINARY);
    return (await collectChanges(wt.path, wt.baseCommit, ctx)).applyableDiff;
  }

  test('onto a clean tree: the working tree gets the change, the index does not', async () => {
    const repo = makeRepo();
    const diff = await taskDiff(repo);
    const indexBefore = sha256(join(repo, '.git', 'index'));
    assert.deepEqual(await applyToWorkingTree(repo, diff, ctx), { ok: true });
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'alpha\nfixed\ngamma\n');
    assert.equal(readFileSync(join(repo, 'added.txt'), 'utf8'), 'new file\n');
    assert.deepEqual(readFileSync(join(repo, 'logo.bin')), BINARY);
    assert.equal(sha256(join(repo, '.git', 'index')), indexBefore);
    assert.equal(git(repo, 'status', '--porcelain'), ' M a.txt\n?? added.txt\n?? logo.bin\n');
  });

  test('onto a dirty tree (a modified or an untracked file) it is refused and nothing is lost', async () => {
    for (const dirty of ['modified', 'untracked', 'staged'] as const) {
      const repo = makeRepo();
      const diff = await taskDiff(repo);
      if (dirty === 'modified') write(repo, 'a.txt', 'my unsaved work\n');
      if (dirty === 'untracked') write(repo, 'mine.txt', 'my new file\n');
      if (dirty === 'staged') {
        write(repo, 'b.txt', 'staged work\n');
        git(repo, 'add', 'b.txt');
      }
      const files = ['a.txt', 'b.txt', 'mine.txt', 'added.txt'].map((f) => join(repo, f));
      const snapshot = (): (string | undefined)[] =>
        files.map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : undefined));
      const before = snapshot();
      const statusBefore = git(repo, 'status', '--porcelain');
      const indexBefore = sha256(join(repo, '.git', 'index'));

      const result = await applyToWorkingTree(repo, diff, ctx);
      assert.equal(result.ok, false, dirty);
      assert.ok(
        !result.ok && result.code === 'dirty' && /uncommitted changes or untracked files/.test(result.reason),
      );
      assert.deepEqual(snapshot(), before, dirty);
      assert.equal(git(repo, 'status', '--porcelain'), statusBefore);
      assert.equal(sha256(join(repo, '.git', 'index')), indexBefore);
    }
  });

  test('ignored files do not make a tree dirty', async () => {
    const repo = makeRepo();
    const diff = await taskDiff(repo);
    write(repo, 'server.log', 'noise\n');
    assert.deepEqual(await applyToWorkingTree(repo, diff, ctx), { ok: true });
  });

  test('a diff that fails on its second file changes no file at all', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/atomic/1', path: worktreePath('atomic') }, ctx);
    write(wt.path, 'a.txt', 'alpha\nBETA\ngamma\n');
    write(wt.path, 'b.txt', 'one\nTWO\nthree\n');
    const { applyableDiff } = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.ok(applyableDiff.indexOf('a/a.txt') < applyableDiff.indexOf('a/b.txt'), 'a.txt comes first');
    // The user's b.txt moved on since the task started: the second file's hunk no longer fits.
    write(repo, 'b.txt', 'uno\ndos\ntres\n');
    git(repo, 'commit', '-q', '-am', 'user changed b');

    const result = await applyToWorkingTree(repo, applyableDiff, ctx);
    assert.ok(
      !result.ok && result.code === 'does_not_apply' && /b\.txt/.test(result.reason),
      JSON.stringify(result),
    );
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
    assert.equal(git(repo, 'status', '--porcelain'), '');
    // And git apply itself, without the --check first, is all-or-nothing.
    assert.equal(gitApply(repo, applyableDiff).ok, false);
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });
});

describe('commitChanges', () => {
  test('commits everything on the task branch without any global git identity', async () => {
    const repo = makeRepo({ identity: false });
    assert.deepEqual(readdirSync(HOME), [], 'HOME is empty: no global config');
    const mainBefore = head(repo);
    const wt = await createWorktree({ repo, branch: 'a2a/commit/1', path: worktreePath('commit') }, ctx);
    assert.equal(await commitChanges(wt.path, 'nothing yet', ctx), undefined);
    write(wt.path, 'a.txt', 'committed\n');
    write(wt.path, 'new.txt', 'untracked then committed\n');
    write(wt.path, 'skip.log', 'ignored\n');
    const sha = await commitChanges(wt.path, '--amend: a message that looks like an option\n\nbody', ctx);
    assert.match(sha ?? '', /^[0-9a-f]{40}$/);
    assert.equal(head(repo, 'refs/heads/a2a/commit/1'), sha);
    assert.equal(head(repo), mainBefore, 'main did not move');
    assert.equal(
      git(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', sha ?? ''),
      `${GATEWAY_IDENTITY.name} <${GATEWAY_IDENTITY.email}>|${GATEWAY_IDENTITY.name} <${GATEWAY_IDENTITY.email}>|--amend: a message that looks like an option\n`,
    );
    assert.equal(git(repo, 'show', '--name-only', '--format=', sha ?? ''), 'a.txt\nnew.txt\n');
    assert.equal(git(wt.path, 'status', '--porcelain'), '');
    // After a commit, collectChanges against the base still reports the task's whole change.
    const changes = await collectChanges(wt.path, wt.baseCommit, ctx);
    assert.deepEqual(
      changes.files.map((f) => f.path),
      ['a.txt', 'new.txt'],
    );
  });

  test("the repository's own identity commits, and an explicit author is recorded as author", async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/commit/2', path: worktreePath('commit') }, ctx);
    write(wt.path, 'a.txt', 'x\n');
    const sha = await commitChanges(wt.path, 'task abc: fix', ctx, {
      name: 'Agent',
      email: 'agent@example.com',
    });
    assert.equal(
      git(repo, 'log', '-1', '--format=%an <%ae>|%cn <%ce>', sha ?? ''),
      'Agent <agent@example.com>|Test User <test@example.com>\n',
    );
    await assert.rejects(commitChanges(wt.path, '  \n', ctx), { code: 'invalid_message' });
  });
});

describe('removeWorktree and branch retention', () => {
  test('removes the directory and the entry, keeps the branch, and is idempotent', async () => {
    const repo = makeRepo();
    const branch = 'a2a/remove/1';
    const wt = await createWorktree({ repo, branch, path: worktreePath('remove') }, ctx);
    write(wt.path, 'a.txt', 'modified\n');
    write(wt.path, 'untracked.txt', 'left behind by an agent\n');
    write(wt.path, 'debug.log', 'ignored\n');
    await removeWorktree(repo, wt.path, ctx);
    assert.equal(existsSync(wt.path), false);
    assert.doesNotMatch(git(repo, 'worktree', 'list', '--porcelain'), new RegExp(wt.path));
    assert.equal(git(repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`).trim(), wt.baseCommit);
    await removeWorktree(repo, wt.path, ctx);
    await removeWorktree(repo, join(TOP, 'never-existed'), ctx);
  });

  test('a worktree whose .git file the agent deleted is still removed; other directories and the main tree are not', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/remove/2', path: worktreePath('broken') }, ctx);
    unlinkSync(join(wt.path, '.git'));
    await removeWorktree(repo, wt.path, ctx);
    assert.equal(existsSync(wt.path), false);
    assert.equal((await listWorktrees(repo, ctx)).length, 1);

    const unrelated = fresh('unrelated');
    write(unrelated, 'keep.txt', 'keep\n');
    await assert.rejects(removeWorktree(repo, unrelated, ctx), { code: 'not_a_worktree' });
    await assert.rejects(removeWorktree(repo, repo, ctx), { code: 'not_a_worktree' });
    assert.equal(readFileSync(join(unrelated, 'keep.txt'), 'utf8'), 'keep\n');
    assert.equal(readFileSync(join(repo, 'a.txt'), 'utf8'), 'alpha\nbeta\ngamma\n');
  });

  test('deleteBranch deletes a branch once, and refuses one checked out by a running task', async () => {
    const repo = makeRepo();
    const wt = await createWorktree({ repo, branch: 'a2a/del/1', path: worktreePath('del') }, ctx);
    await assert.rejects(deleteBranch(repo, 'a2a/del/1', ctx), { code: 'git_failed' });
    await removeWorktree(repo, wt.path, ctx);
    assert.equal(await deleteBranch(repo, 'a2a/del/1', ctx), true);
    assert.equal(await deleteBranch(repo, 'a2a/del/1', ctx), false);
    await assert.rejects(deleteBranch(repo, '--force', ctx), { code: 'invalid_branch' });
  });

  test('pruneTaskBranches deletes old task branches only: not recent ones, running ones or other branches', async () => {
    const repo = makeRepo();
    git(repo, 'branch', 'feature/mine');
    const done = await createWorktree({ repo, branch: 'a2a/fix_bug/done', path: worktreePath('p') }, ctx);
    const running = await createWorktree(
      { repo, branch: 'a2a/fix_bug/running', path: worktreePath('p') },
      ctx,
    );
    await removeWorktree(repo, done.path, ctx);
    const hour = 3_600_000;

    // The base commit may be old; the branch was created just now, so it is kept.
    assert.deepEqual(await pruneTaskBranches(repo, hour, ctx), { deleted: [], failed: [] });
    const later = await pruneTaskBranches(repo, hour, ctx, { now: Date.now() + 2 * hour });
    assert.deepEqual(later, { deleted: ['a2a/fix_bug/done'], failed: [] });
    const branches = git(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/').trim().split('\n');
    assert.deepEqual(branches.sort(), ['a2a/fix_bug/running', 'feature/mine', 'main']);
    await removeWorktree(repo, running.path, ctx);
  });
});

describe('directories that are not repositories', () => {
  test('snapshotCopy copies the tree, keeps inner symlinks, drops those leading out; diffDirectories diffs it', async () => {
    const outside = fresh('outside');
    write(outside, 'secret.txt', 'secret\n');
    const src = fresh('plain-src');
    write(src, 'main.py', 'print("hi")\n');
    write(src, 'lib/util.py', 'def f():\n    return 1\n');
    write(src, 'old.txt', Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n');
    write(src, 'data.bin', BINARY);
    write(src, 'run.sh', '#!/bin/sh\necho run\n');
    chmodSync(join(src, 'run.sh'), 0o755);
    symlinkSync('lib/util.py', join(src, 'inner-link'));
    symlinkSync(join(src, 'main.py'), join(src, 'absolute-inner-link'));
    symlinkSync(join(outside, 'secret.txt'), join(src, 'escape'));
    symlinkSync('../../..', join(src, 'lib', 'up'));

    const copy = join(TOP, `copy-${++counter}`, 'work');
    const snap = await snapshotCopy(src, copy);
    assert.equal(snap.path, copy);
    assert.deepEqual(snap.skipped.map((s) => s.path).sort(), ['escape', 'lib/up']);
    assert.equal(readFileSync(join(copy, 'inner-link'), 'utf8'), 'def f():\n    return 1\n');
    assert.equal(realpathSync(join(copy, 'absolute-inner-link')), join(copy, 'main.py'));
    assert.equal(existsSync(join(copy, 'escape')), false);
    assert.equal(statSync(join(copy, 'run.sh')).mode & 0o777, 0o755, 'file modes are kept');

    write(copy, 'main.py', 'print("hello")\n');
    write(copy, 'tests/test_main.py', 'def test():\n    assert True\n');
    renameSync(join(copy, 'old.txt'), join(copy, 'renamed.txt'));
    unlinkSync(join(copy, 'lib', 'util.py'));
    write(copy, 'data.bin', Buffer.concat([BINARY, BINARY]));

    // Compared with the source as is, the dropped and rewritten links would show as changes; excluded, they do not.
    assert.deepEqual(snap.altered.sort(), ['absolute-inner-link', 'escape', 'lib/up']);
    const changes = await diffDirectories(src, copy, ctx, { exclude: snap.altered });
    const got = byPath(changes.files);
    assert.deepEqual(got.get('main.py'), {
      path: 'main.py',
      status: 'modified',
      added: 1,
      removed: 1,
      binary: false,
    });
    assert.equal(got.get('tests/test_main.py')?.status, 'added');
    assert.equal(got.get('renamed.txt')?.status, 'renamed');
    assert.equal(got.get('renamed.txt')?.oldPath, 'old.txt');
    assert.equal(got.get('lib/util.py')?.status, 'deleted');
    assert.equal(got.get('data.bin')?.binary, true);
    assert.equal(got.size, 5, [...got.keys()].join(', '));
    assert.match(changes.diff, /^diff --git a\/main\.py b\/main\.py$/m);

    // The applyable diff turns a second copy of the original into the edited one, outside any repository.
    const target = join(TOP, `copy-${++counter}`, 'again');
    await snapshotCopy(src, target);
    assert.deepEqual(gitApply(target, changes.applyableDiff), { ok: true, stderr: '' });
    assert.deepEqual((await diffDirectories(target, copy, ctx)).files, []);
  });

  test('snapshotCopy stops at its bounds and leaves no partial copy; it refuses to copy into itself', async () => {
    const src = fresh('many');
    for (let i = 0; i < 30; i++) write(src, `f${i}.txt`, `${i}\n`);
    const dest = join(TOP, `bounded-${++counter}`);
    await assert.rejects(snapshotCopy(src, dest, { maxFiles: 10 }), { code: 'snapshot_too_large' });
    assert.equal(existsSync(dest), false);
    await assert.rejects(snapshotCopy(src, dest, { maxBytes: 20 }), { code: 'snapshot_too_large' });
    assert.equal(existsSync(dest), false);
    await assert.rejects(snapshotCopy(src, join(src, 'inner')), { code: 'invalid_path' });
    mkdirSync(dest);
    await assert.rejects(snapshotCopy(src, dest), { code: 'path_exists' });
  });
});
