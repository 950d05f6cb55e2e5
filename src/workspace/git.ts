import { lstat, mkdir, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { GitError, WorkspaceError } from './errors.js';
import { isLockError, oneAtATime, runGit, withLockRetry, type GitContext } from './git-exec.js';
import { isInside } from './roots.js';

/**
 * The top of the git working tree that contains `dir` (its real path), or undefined when `dir` is not inside a
 * working tree (no repository, a bare repository, the inside of `.git`). Other failures (a repository git refuses
 * as of dubious ownership, a timeout) throw, so a task does not quietly fall back to a copy.
 */
export async function findRepoRoot(dir: string, ctx: GitContext): Promise<string | undefined> {
  const out = await runGit(ctx, dir, ['rev-parse', '--show-toplevel'], { okExitCodes: [0, 128] });
  if (out.exitCode !== 0) {
    if (/not a git repository|must be run in a work tree/i.test(out.stderr)) return undefined;
    throw new GitError(
      'git_failed',
      `cannot tell whether ${dir} is in a git repository: ${out.stderr.trim()}`,
      ['git', 'rev-parse', '--show-toplevel'],
      out.exitCode,
      out.stderr.slice(-2000),
    );
  }
  const top = out.stdout.replace(/\n$/, '');
  return top === '' ? undefined : realpath(top);
}

/** Like {@link findRepoRoot}, but a missing repository is a `not_a_repository` error. */
export async function requireRepoRoot(dir: string, ctx: GitContext): Promise<string> {
  const root = await findRepoRoot(dir, ctx);
  if (root === undefined)
    throw new WorkspaceError('not_a_repository', `${dir} is not inside a git working tree`);
  return root;
}

/**
 * Refuses what could be read as an option or smuggle something past argv (`--upload-pack=…`, NUL, newlines)
 * before git sees it; whatever remains is only ever a revision argument after `--end-of-options`.
 */
function assertRefText(ref: string, what: string): void {
  if (ref === '') throw new WorkspaceError('invalid_ref', `${what} is empty`);
  if (ref.startsWith('-')) throw new WorkspaceError('invalid_ref', `${what} "${ref}" starts with "-"`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\x00-\x1f\x7f]/.test(ref))
    throw new WorkspaceError('invalid_ref', `${what} contains control characters`);
  if (ref.length > 256) throw new WorkspaceError('invalid_ref', `${what} is longer than 256 characters`);
}

/**
 * Resolves `ref` (a branch, tag, sha, `HEAD~2`…) to the full sha of a commit in `repo`, or throws `invalid_ref`
 * naming it. `git rev-parse --verify --end-of-options <ref>^{commit}`: nothing in `ref` is taken as an option.
 */
export async function resolveCommit(
  repo: string,
  ref: string,
  ctx: GitContext,
  what = 'base ref',
): Promise<string> {
  assertRefText(ref, what);
  const out = await runGit(
    ctx,
    repo,
    ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
    {
      okExitCodes: [0, 1, 128],
    },
  );
  const sha = out.stdout.trim();
  if (out.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new WorkspaceError('invalid_ref', `${what} "${ref}" does not name a commit in ${repo}`);
  }
  return sha;
}

/** Refuses a branch name git would not accept (`git check-ref-format --branch`) or one that reads as an option. */
export async function assertBranchName(repo: string, branch: string, ctx: GitContext): Promise<void> {
  const refuse = (why: string): never => {
    throw new WorkspaceError('invalid_branch', `branch name "${branch}" ${why}`);
  };
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (branch === '' || branch.startsWith('-') || /[\x00-\x1f\x7f]/.test(branch)) refuse('is not allowed');
  const out = await runGit(ctx, repo, ['check-ref-format', '--branch', branch], { okExitCodes: [0, 1, 128] });
  // `--branch` expands `@{-1}`; only a name that stays itself is a name.
  if (out.exitCode !== 0 || out.stdout.trim() !== branch) refuse('is not a valid git branch name');
}

/** True when `refs/heads/<branch>` exists. */
export async function branchExists(repo: string, branch: string, ctx: GitContext): Promise<boolean> {
  const out = await runGit(ctx, repo, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], {
    okExitCodes: [0, 1],
  });
  return out.exitCode === 0;
}

/** One entry of `git worktree list`. */
export interface WorktreeEntry {
  path: string;
  /** The branch checked out there (`a2a/fix_bug/…`), undefined when detached. */
  branch?: string;
  /** True for the repository's main working tree. */
  main: boolean;
}

/** The repository's worktrees, main first (`git worktree list --porcelain -z`). */
export async function listWorktrees(repo: string, ctx: GitContext): Promise<WorktreeEntry[]> {
  const out = await runGit(ctx, repo, ['worktree', 'list', '--porcelain', '-z']);
  const entries: WorktreeEntry[] = [];
  let current: WorktreeEntry | undefined;
  for (const field of out.stdout.split('\0')) {
    if (field.startsWith('worktree ')) {
      current = { path: field.slice('worktree '.length), main: entries.length === 0 };
      entries.push(current);
    } else if (field.startsWith('branch refs/heads/') && current) {
      current.branch = field.slice('branch refs/heads/'.length);
    }
  }
  return entries;
}

/** What {@link createWorktree} needs. */
export interface CreateWorktreeOptions {
  /** Any directory inside the caller's repository. */
  repo: string;
  /** The new branch (see `taskBranchName`); it must not exist yet. */
  branch: string;
  /** Where the worktree goes (under `DATA_DIR`); it must not exist yet. Its parent is created. */
  path: string;
  /** The commit to start from: a branch, tag or sha; the repository's HEAD when absent. */
  baseRef?: string;
  /**
   * The branch may be left over from an earlier attempt of the same task (a gateway killed after creating it, the
   * task run again at start-up): delete it first, unless a worktree has it checked out.
   */
  replaceLeftover?: boolean;
}

/** A task's worktree as created. */
export interface Worktree {
  /** Real, absolute path of the worktree. */
  path: string;
  branch: string;
  /** The full sha the branch started from: the base of the task's diff. */
  baseCommit: string;
  /** Real path of the caller's repository's top level. */
  repoRoot: string;
}

/**
 * Creates a worktree for one task on a new branch from `baseRef` (or HEAD). The branch is created first with
 * `git update-ref … ""` (atomic: fails if it exists) and a reflog entry (its creation time, see
 * `pruneTaskBranches`), then checked out with `git worktree add`. Steps that lose a race for one of git's locks
 * against another task are retried a bounded number of times. On failure nothing is left: no branch, no directory.
 *
 * Refused up front: a base ref that is not a commit or reads as an option, an invalid branch name, an existing
 * branch or path, and a path inside the repository's working tree that the repository does not ignore (it would
 * show as an untracked directory in the user's `git status` and block `apply`).
 */
export async function createWorktree(opts: CreateWorktreeOptions, ctx: GitContext): Promise<Worktree> {
  const root = await requireRepoRoot(opts.repo, ctx);
  await assertBranchName(root, opts.branch, ctx);
  const baseCommit = await resolveCommit(root, opts.baseRef ?? 'HEAD', ctx);
  const path = await prepareWorktreePath(root, opts.path, ctx);
  if (await branchExists(root, opts.branch, ctx)) {
    // `git branch -D` refuses a branch some worktree has checked out, so a live one is never taken away.
    const removed =
      opts.replaceLeftover === true &&
      (await withLockRetry(() => runGit(ctx, root, ['branch', '-D', '--', opts.branch])).then(
        () => true,
        () => false,
      ));
    if (!removed)
      throw new WorkspaceError('branch_exists', `branch "${opts.branch}" already exists in ${root}`);
  }

  const ref = `refs/heads/${opts.branch}`;
  await withLockRetry(() =>
    runGit(ctx, root, [
      'update-ref',
      '--create-reflog',
      '-m',
      'a2a-gateway: task branch',
      ref,
      baseCommit,
      '',
    ]),
  );
  try {
    await withLockRetry(
      () => oneAtATime(root, () => runGit(ctx, root, ['worktree', 'add', '--quiet', path, opts.branch])),
      // A try that lost a lock race may leave the directory or an admin entry; the next try needs neither.
      async () => {
        await rm(path, { recursive: true, force: true });
        await runGit(ctx, root, ['worktree', 'prune']).catch(() => undefined);
      },
    );
  } catch (err) {
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    await runGit(ctx, root, ['worktree', 'prune']).catch(() => undefined);
    await withLockRetry(() => runGit(ctx, root, ['update-ref', '-d', ref, baseCommit])).catch(
      () => undefined,
    );
    throw err;
  }
  return { path, branch: opts.branch, baseCommit, repoRoot: root };
}

/** Makes the parent, and checks the path is new and is not an unignored directory of the repository itself. */
async function prepareWorktreePath(root: string, requested: string, ctx: GitContext): Promise<string> {
  if (!isAbsolute(requested)) {
    throw new WorkspaceError('invalid_path', `worktree path "${requested}" must be absolute`);
  }
  const parent = dirname(resolve(requested));
  await mkdir(parent, { recursive: true });
  const path = join(await realpath(parent), basename(requested));
  const exists = await lstat(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new WorkspaceError('path_exists', `worktree path ${path} already exists`);
  if (isInside(root, path)) {
    const ignored = await runGit(ctx, root, ['check-ignore', '--quiet', '--no-index', '--', path], {
      okExitCodes: [0, 1],
    });
    if (ignored.exitCode !== 0) {
      throw new WorkspaceError(
        'invalid_path',
        `worktree path ${path} is inside the repository ${root} and not ignored by it; put DATA_DIR outside the repository or ignore it`,
      );
    }
  }
  return path;
}

/**
 * Removes a task's worktree (`git worktree remove --force`, modified and untracked files included) and prunes
 * git's admin entries; the branch stays. Call it only once the task's processes are confirmed dead. Idempotent:
 * a worktree already gone is not an error. When git cannot remove it (the agent deleted its `.git` file, a
 * submodule inside), the directory is deleted anyway, but only if git lists it as a worktree of this repository
 * or its `.git` file points into this repository: an unrelated directory is refused (`not_a_worktree`), and the
 * main working tree is never removed.
 */
export async function removeWorktree(repo: string, path: string, ctx: GitContext): Promise<void> {
  // The usual case in one call: git itself refuses the main working tree and anything not a worktree of this
  // repository. Whatever it refuses or fails at (a lock, a damaged worktree, a path already gone) takes the
  // guarded way below.
  const quick = await oneAtATime(resolve(repo), () =>
    runGit(ctx, repo, ['worktree', 'remove', '--force', resolve(path)]),
  ).then(
    () => true,
    () => false,
  );
  if (quick) return;
  const target = resolve(path);
  const real = await realpath(target).catch(() => target);
  const exists = await lstat(real).then(
    () => true,
    () => false,
  );
  const root = await findRepoRoot(repo, ctx);
  if (root === undefined) {
    if (!exists) return;
    throw new WorkspaceError('not_a_repository', `${repo} is not a git repository; not removing ${real}`);
  }
  const entry = (await listWorktrees(root, ctx)).find((w) => w.path === target || w.path === real);
  if (entry?.main || real === root) {
    throw new WorkspaceError(
      'not_a_worktree',
      `${real} is the main working tree of ${root}; it is never removed`,
    );
  }
  if (entry) {
    try {
      await withLockRetry(() => runGit(ctx, root, ['worktree', 'remove', '--force', real]));
    } catch (err) {
      if (isLockError(err)) throw err;
      // Fall through: the directory goes below, and prune drops the entry.
    }
  }
  if (
    await lstat(real).then(
      () => true,
      () => false,
    )
  ) {
    if (!entry && !(await pointsIntoRepo(real, root, ctx))) {
      throw new WorkspaceError('not_a_worktree', `${real} is not a worktree of ${root}; not removing it`);
    }
    await rm(real, { recursive: true, force: true });
  }
  await withLockRetry(() => runGit(ctx, root, ['worktree', 'prune']));
}

/** True when `dir/.git` is a file naming a worktree admin directory of `root`'s repository. */
async function pointsIntoRepo(dir: string, root: string, ctx: GitContext): Promise<boolean> {
  const text = await readFile(join(dir, '.git'), 'utf8').catch(() => '');
  const match = /^gitdir: (.+)$/m.exec(text);
  if (!match?.[1]) return false;
  const common = await runGit(ctx, root, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
  const commonDir = await realpath(common.stdout.trim()).catch(() => common.stdout.trim());
  return isInside(join(commonDir, 'worktrees'), resolve(dir, match[1]));
}

/** `git worktree add --detach` at `ref`: a worktree without a branch of its own (a read-only task's). */
export async function addDetachedWorktree(
  repo: string,
  path: string,
  ref: string,
  ctx: GitContext,
): Promise<Pick<Worktree, 'path' | 'baseCommit'>> {
  const baseCommit = await resolveCommit(repo, ref, ctx);
  await mkdir(dirname(path), { recursive: true });
  await withLockRetry(
    () =>
      oneAtATime(resolve(repo), () =>
        runGit(ctx, repo, ['worktree', 'add', '--detach', '--quiet', path, baseCommit]),
      ),
    async () => {
      await rm(path, { recursive: true, force: true });
      await runGit(ctx, repo, ['worktree', 'prune']).catch(() => undefined);
    },
  );
  return { path: await realpath(path), baseCommit };
}

/** How old a half-made worktree entry with no `gitdir` must be before it counts as abandoned. */
const ABANDONED_ENTRY_MS = 10_000;

/**
 * Unlocks the worktree entries a killed `git worktree add` left half made, so that `git worktree prune` drops
 * them: git locks an entry while it writes it, prune never touches a locked entry, and every later `worktree add`
 * in the repository fails reading the entry's missing `commondir`. An entry is taken as abandoned when its
 * worktree was to be under `ownedDir` (the gateway's own worktree directory, emptied before this is called) and
 * is gone, or when it never got as far as naming its worktree and is older than ten seconds. Returns how many.
 */
export async function unlockAbandonedWorktrees(
  root: string,
  ownedDir: string,
  ctx: GitContext,
  now = Date.now(),
): Promise<number> {
  const common = await runGit(ctx, root, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
  const adminDir = join(common.stdout.trim(), 'worktrees');
  const names = await readdir(adminDir).catch(() => [] as string[]);
  let unlocked = 0;
  for (const name of names) {
    const locked = join(adminDir, name, 'locked');
    const lockedAt = await stat(locked).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (lockedAt === undefined) continue;
    const gitdir = await readFile(join(adminDir, name, 'gitdir'), 'utf8').catch(() => undefined);
    let abandoned: boolean;
    if (gitdir === undefined) {
      abandoned = now - lockedAt > ABANDONED_ENTRY_MS;
    } else {
      const worktree = dirname(gitdir.trim());
      abandoned =
        isInside(ownedDir, worktree) &&
        !(await lstat(worktree).then(
          () => true,
          () => false,
        ));
    }
    if (!abandoned) continue;
    await rm(locked, { force: true });
    unlocked += 1;
  }
  return unlocked;
}
