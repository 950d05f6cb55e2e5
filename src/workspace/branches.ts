import { WorkspaceError } from './errors.js';
import { runGit, withLockRetry, type GitContext } from './git-exec.js';
import { assertBranchName, branchExists, listWorktrees, requireRepoRoot } from './git.js';

/** Every task branch lives under this prefix, so retention never touches a person's own branches. */
export const TASK_BRANCH_PREFIX = 'a2a/';

/** Most task branches a single prune looks at; the rest wait for the next run. */
const MAX_PRUNE_BRANCHES = 5000;

/** Keeps letters, digits, `_` and `-`; everything else (`/`, `.`, `..`, `@{`, spaces) becomes one `-`. */
function refComponent(text: string, maxLength: number, fallback: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .slice(0, maxLength)
    .replace(/^-+|-+$/g, '');
  return cleaned === '' ? fallback : cleaned;
}

/**
 * The branch for one task: `a2a/<skill>/<first 8 characters of the task id>`, e.g. `a2a/fix_bug/3f2c9a1b`. Both
 * parts are cut down to `[A-Za-z0-9_-]`, so the result always passes `git check-ref-format --branch`.
 */
export function taskBranchName(skill: string, taskId: string): string {
  return `${TASK_BRANCH_PREFIX}${refComponent(skill, 40, 'task')}/${refComponent(taskId, 8, 'id')}`;
}

/**
 * Deletes a local branch (`git branch -D`): true when deleted, false when it did not exist. A branch checked out
 * in some worktree (a task still running) is not deleted: git refuses and this throws a `GitError`.
 */
export async function deleteBranch(repo: string, branch: string, ctx: GitContext): Promise<boolean> {
  const root = await requireRepoRoot(repo, ctx);
  await assertBranchName(root, branch, ctx);
  if (!(await branchExists(root, branch, ctx))) return false;
  await withLockRetry(() => runGit(ctx, root, ['branch', '-D', '--', branch]));
  return true;
}

/**
 * Deletes a task's own branch once its worktree is gone: one `update-ref -d` in the usual case; on a failure (a
 * lock held by another task) the guarded {@link deleteBranch}, which checks and retries.
 */
export async function dropTaskBranch(repo: string, branch: string, ctx: GitContext): Promise<void> {
  const deleted = await runGit(ctx, repo, ['update-ref', '-d', `refs/heads/${branch}`]).then(
    () => true,
    () => false,
  );
  if (!deleted) await deleteBranch(repo, branch, ctx);
}

/** What a prune did. */
export interface PruneResult {
  deleted: string[];
  /** Branches old enough that could not be deleted (checked out, a git error), with the reason. */
  failed: { branch: string; reason: string }[];
}

/**
 * Deletes task branches (under {@link TASK_BRANCH_PREFIX}) whose last activity is at least `olderThanMs` before
 * `now`. Last activity is the later of the branch's newest reflog entry (its creation by `createWorktree`, which
 * always writes one, or a commit on it) and the committer date of its tip. The commit date alone would be wrong:
 * a branch made today from a year-old HEAD with no commit of its own looks a year old. The reflog alone can be
 * missing (disabled, expired), and then the commit date is all there is. Taking the later of the two never prunes
 * early. Branches checked out in a worktree (running tasks) are skipped; stale worktree entries are pruned first.
 */
export async function pruneTaskBranches(
  repo: string,
  olderThanMs: number,
  ctx: GitContext,
  opts: { now?: number } = {},
): Promise<PruneResult> {
  if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new WorkspaceError(
      'invalid_branch',
      `olderThanMs must be a non-negative number, got ${olderThanMs}`,
    );
  }
  const root = await requireRepoRoot(repo, ctx);
  const now = opts.now ?? Date.now();
  await withLockRetry(() => runGit(ctx, root, ['worktree', 'prune']));
  const checkedOut = new Set((await listWorktrees(root, ctx)).flatMap((w) => (w.branch ? [w.branch] : [])));

  const refs = await runGit(ctx, root, [
    'for-each-ref',
    `--count=${MAX_PRUNE_BRANCHES}`,
    '--format=%(refname)%00%(committerdate:unix)',
    `refs/heads/${TASK_BRANCH_PREFIX}`,
  ]);
  const result: PruneResult = { deleted: [], failed: [] };
  for (const line of refs.stdout.split('\n')) {
    const [refname, commitSeconds] = line.split('\0');
    if (!refname?.startsWith('refs/heads/')) continue;
    const branch = refname.slice('refs/heads/'.length);
    if (checkedOut.has(branch)) continue;
    const lastMs = Math.max(Number(commitSeconds) || 0, await newestReflogSeconds(root, refname, ctx)) * 1000;
    if (now - lastMs < olderThanMs) continue;
    try {
      if (await deleteBranch(root, branch, ctx)) result.deleted.push(branch);
    } catch (err) {
      result.failed.push({ branch, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return result;
}

/** Seconds since the epoch of the newest reflog entry of `refname`, 0 when it has none. */
export async function newestReflogSeconds(root: string, refname: string, ctx: GitContext): Promise<number> {
  const out = await runGit(ctx, root, ['reflog', 'show', '--date=unix', '-n', '1', '--format=%gd', refname], {
    okExitCodes: [0, 128],
  });
  const match = /@\{(\d+)\}\s*$/.exec(out.stdout.trim());
  return match?.[1] ? Number(match[1]) : 0;
}
