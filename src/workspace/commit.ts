import { WorkspaceError } from './errors.js';
import { runGit, withLockRetry, type GitContext } from './git-exec.js';
import { requireRepoRoot } from './git.js';

/** A name and email for a commit. */
export interface GitIdentity {
  name: string;
  email: string;
}

/** Used when the repository (and the user's global config, if any) names nobody. */
export const GATEWAY_IDENTITY: Readonly<GitIdentity> = Object.freeze({
  name: 'a2a-gateway',
  email: 'a2a-gateway@localhost',
});

/**
 * Commits everything in a task's worktree (tracked, untracked, deletions; not ignored files) on its branch and
 * returns the new commit's sha, or undefined when there was nothing to commit.
 *
 * Identity: the committer is whoever the repository's git config names (`user.name`/`user.email`, local or the
 * user's global config) and otherwise {@link GATEWAY_IDENTITY}; the author is `author` when given, else the
 * committer. Both are passed as `GIT_AUTHOR_*`/`GIT_COMMITTER_*`, so git never guesses from the host name and never
 * fails on a machine without a global identity. Hooks do not run and the commit is not signed (`--no-verify`,
 * `--no-gpg-sign`): a pre-commit hook or a signing prompt would hang an unattended commit.
 */
export async function commitChanges(
  worktree: string,
  message: string,
  ctx: GitContext,
  author?: GitIdentity,
): Promise<string | undefined> {
  if (message.trim() === '') throw new WorkspaceError('invalid_message', 'commit message is empty');
  const root = await requireRepoRoot(worktree, ctx);
  await withLockRetry(() => runGit(ctx, root, ['add', '-A']));
  const staged = await runGit(ctx, root, ['diff', '--cached', '--quiet'], { okExitCodes: [0, 1] });
  if (staged.exitCode === 0) return undefined;

  const committer = (await configuredIdentity(root, ctx)) ?? GATEWAY_IDENTITY;
  const by = author ?? committer;
  await withLockRetry(() =>
    runGit(
      ctx,
      root,
      ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--cleanup=whitespace', '-F', '-'],
      {
        // The message goes through stdin: any length, and nothing in it can be read as an option.
        stdin: message,
        env: {
          GIT_AUTHOR_NAME: by.name,
          GIT_AUTHOR_EMAIL: by.email,
          GIT_COMMITTER_NAME: committer.name,
          GIT_COMMITTER_EMAIL: committer.email,
        },
      },
    ),
  );
  return (await runGit(ctx, root, ['rev-parse', 'HEAD'])).stdout.trim();
}

/** The identity git config gives for this repository, or undefined when either half is missing. */
async function configuredIdentity(root: string, ctx: GitContext): Promise<GitIdentity | undefined> {
  const get = async (key: string): Promise<string> =>
    (await runGit(ctx, root, ['config', '--get', key], { okExitCodes: [0, 1] })).stdout.trim();
  const [name, email] = await Promise.all([get('user.name'), get('user.email')]);
  return name !== '' && email !== '' ? { name, email } : undefined;
}
