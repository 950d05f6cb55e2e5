/** Workspaces: allowed roots, a git worktree per task, the task's diff, commit and apply, copies of plain dirs. */
export { isInside, pinWorkdir, resolveWorkdir, type PinnedWorkdir, type WorkdirResult } from './roots.js';
export { GitError, WorkspaceError, type WorkspaceErrorCode } from './errors.js';
export { DEFAULT_GIT_TIMEOUT_MS, isLockError, runGit, type GitContext, type GitOutput } from './git-exec.js';
export {
  addDetachedWorktree,
  createWorktree,
  findRepoRoot,
  listWorktrees,
  removeWorktree,
  resolveCommit,
  unlockAbandonedWorktrees,
  type CreateWorktreeOptions,
  type Worktree,
  type WorktreeEntry,
} from './git.js';
export {
  TASK_BRANCH_PREFIX,
  deleteBranch,
  dropTaskBranch,
  newestReflogSeconds,
  pruneTaskBranches,
  taskBranchName,
  type PruneResult,
} from './branches.js';
export { GATEWAY_IDENTITY, commitChanges, type GitIdentity } from './commit.js';
export {
  DEFAULT_MAX_DIFF_BYTES,
  EMPTY_CHANGES,
  collectChanges,
  diffDirectories,
  withoutPending,
  type ChangedFile,
  type Changes,
  type DiffLimits,
} from './changes.js';
export {
  applyPatch,
  applyToWorkingTree,
  applyToWorktree,
  type ApplyRefusal,
  type ApplyResult,
} from './apply.js';
export {
  changesBetween,
  snapshotCopy,
  treesEqual,
  type SnapshotLimits,
  type SnapshotResult,
} from './snapshot.js';
export {
  CONVERSATION_REF_PREFIX,
  conversationRef,
  moveConversationRef,
  pruneConversationRefs,
  refExists,
} from './conversation-refs.js';
export {
  DEFAULT_INCLUDE_LIMITS,
  WORKTREE_INCLUDE_FILE,
  copyWorktreeIncludes,
  type IncludeLimits,
  type IncludeResult,
} from './worktree-include.js';
