import { runGit, type GitContext } from './git-exec.js';
import { findRepoRoot } from './git.js';

/** Why an apply was refused: no repository, a working tree with changes, or a diff that does not fit. */
export type ApplyRefusal = 'not_a_repository' | 'dirty' | 'does_not_apply';

export type ApplyResult = { ok: true } | { ok: false; code: ApplyRefusal; reason: string };

/** Paths named in a refusal, at most; the rest are counted. */
const SHOWN_PATHS = 5;

/**
 * Applies a task's diff (use `Changes.applyableDiff`) to the caller's working tree, only when that tree is clean,
 * and otherwise changes nothing and says why.
 *
 * Clean means `git status --porcelain --untracked-files=all` prints nothing: no staged or unstaged change and no
 * untracked file that is not ignored. Untracked files count because after the apply a person could no longer tell
 * their own new files from the agent's, and a `git stash -u` or `git clean` to undo one would take the other.
 *
 * The diff is checked first (`git apply --check`) and then applied with plain `git apply` at the top of the
 * working tree: the working tree changes, the index does not (as when a person runs `git apply`). `git apply` is
 * all-or-nothing without `--reject`, so a diff that fails part-way leaves no file changed.
 */
export async function applyToWorkingTree(repo: string, diff: string, ctx: GitContext): Promise<ApplyResult> {
  const root = await findRepoRoot(repo, ctx);
  if (root === undefined) {
    return { ok: false, code: 'not_a_repository', reason: `${repo} is not inside a git working tree` };
  }
  const status = await runGit(ctx, root, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--ignore-submodules=none',
  ]);
  const dirty = status.stdout.split('\0').filter((entry) => entry.length > 3);
  if (dirty.length > 0) {
    const shown = dirty.slice(0, SHOWN_PATHS).map((entry) => entry.slice(3));
    const more = dirty.length > SHOWN_PATHS ? ` and ${dirty.length - SHOWN_PATHS} more` : '';
    return {
      ok: false,
      code: 'dirty',
      reason: `the working tree of ${root} has uncommitted changes or untracked files (${shown.join(', ')}${more}); commit, stash or remove them, then apply again (the task branch keeps the change)`,
    };
  }
  return applyPatch(root, diff, ctx);
}

/**
 * Applies a diff in `dir` with `git apply`, all or nothing: `--check` first, then the apply. `dir` need not be a
 * repository (outside one, git apply works like patch). An empty diff is applied trivially.
 */
export async function applyPatch(dir: string, diff: string, ctx: GitContext): Promise<ApplyResult> {
  if (diff.trim() === '') return { ok: true };
  for (const args of [
    ['apply', '--check', '--whitespace=nowarn'],
    ['apply', '--whitespace=nowarn'],
  ]) {
    const out = await runGit(ctx, dir, args, { stdin: diff, okExitCodes: [0, 1, 128] });
    if (out.exitCode !== 0) {
      return {
        ok: false,
        code: 'does_not_apply',
        reason: `the diff does not apply to ${dir}: ${out.stderr.trim().slice(-1500)}`,
      };
    }
  }
  return { ok: true };
}

/** Applies a diff to a task's own worktree as it is (the caller's pending changes, for a review to see). */
export async function applyToWorktree(worktree: string, diff: string, git: GitContext): Promise<void> {
  await runGit(git, worktree, ['apply', '--whitespace=nowarn'], { stdin: diff });
}
