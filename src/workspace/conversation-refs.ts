import { newestReflogSeconds } from './branches.js';
import { runGit, type GitContext } from './git-exec.js';

/** Hidden refs (not branches) a conversation's follow-up turns start from. */
export const CONVERSATION_REF_PREFIX = 'refs/a2a/conversations/';

/** The hidden ref of a conversation (`key` is the conversation's hash, never a name the caller chose). */
export function conversationRef(key: string): string {
  return `${CONVERSATION_REF_PREFIX}${key}`;
}

export async function refExists(repo: string, ref: string, git: GitContext): Promise<boolean> {
  const out = await runGit(git, repo, ['show-ref', '--verify', '--quiet', ref], { okExitCodes: [0, 1] });
  return out.exitCode === 0;
}

/** Points the conversation's ref at `commit` (where its next turn starts), with a reflog entry for retention. */
export async function moveConversationRef(
  repo: string,
  ref: string,
  commit: string,
  git: GitContext,
): Promise<void> {
  await runGit(git, repo, [
    'update-ref',
    '--create-reflog',
    '-m',
    'a2a-gateway: conversation turn',
    ref,
    commit,
  ]);
}

/** Deletes conversation refs whose newest reflog entry (or commit) is older than `before` (ms since the epoch). */
export async function pruneConversationRefs(repo: string, before: number, git: GitContext): Promise<number> {
  const refs = await runGit(git, repo, [
    'for-each-ref',
    '--count=5000',
    '--format=%(refname)%00%(committerdate:unix)',
    CONVERSATION_REF_PREFIX,
  ]);
  let removed = 0;
  for (const line of refs.stdout.split('\n')) {
    const [ref, seconds] = line.split('\0');
    if (!ref?.startsWith(CONVERSATION_REF_PREFIX)) continue;
    const last = Math.max(Number(seconds) || 0, await newestReflogSeconds(repo, ref, git)) * 1000;
    if (last >= before) continue;
    await runGit(git, repo, ['update-ref', '-d', ref]);
    removed += 1;
  }
  return removed;
}
