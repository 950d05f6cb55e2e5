import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Logger } from '../observability/logger.js';
import { conversationKey } from './conversations.js';
import {
  EMPTY_CHANGES,
  TASK_BRANCH_PREFIX,
  WorkspaceError,
  addDetachedWorktree,
  applyPatch,
  applyToWorkingTree,
  applyToWorktree,
  changesBetween,
  collectChanges,
  commitChanges,
  conversationRef,
  copyWorktreeIncludes,
  createWorktree,
  dropTaskBranch,
  findRepoRoot,
  moveConversationRef,
  pinWorkdir,
  pruneConversationRefs,
  pruneTaskBranches,
  unlockAbandonedWorktrees,
  refExists,
  removeWorktree,
  runGit,
  snapshotCopy,
  taskBranchName,
  withoutPending,
  WORKTREE_INCLUDE_FILE,
  type Changes,
  type GitContext,
  type Worktree,
} from '../workspace/index.js';
import { repositoryFor, runSetup, type RepositorySettings } from '../workspace/setup.js';

/** How a task's files are isolated from the caller's. */
export type WorkspaceKind = 'worktree' | 'copy' | 'in_place' | 'scratch';

/** Where a task that names no git repository runs: in a copy (the default), or in place against a snapshot. */
export type NonGitMode = 'copy' | 'in_place';

export interface WorkspacesOptions {
  dataDir: string;
  git: GitContext;
  logger: Logger;
  nonGit: NonGitMode;
  /** How long a task branch (and a conversation's hidden ref) is kept after its last activity. */
  branchRetentionMs: number;
  /** Repositories with a set-up command run in each new worktree before the agent. */
  repositories?: readonly RepositorySettings[];
}

export interface WorkspaceRequest {
  owner: string;
  contextId: string;
  taskId: string;
  skill: string;
  readOnly: boolean;
  /** The caller's workdir (a real path inside the allowed roots). */
  workdir: string | undefined;
  /** The conversation's scratch directory, used when there is no workdir. */
  scratch: string;
  baseRef?: string | undefined;
  /** `commit` needs a repository: refused up front for any other workdir. */
  commit: boolean;
  signal?: AbortSignal;
  /** Lines about the set-up (the repository's set-up command and its output), for the task's progress. */
  onProgress?: (text: string) => void;
}

/** What became of a finished task's changes. */
export interface KeepResult {
  /** The commit holding the task's changes, when there were any (on the kept branch, or the conversation's ref). */
  commit?: string;
  /** The task branch, when it is kept (`commit` asked for, or an apply that was refused). */
  branch?: string;
}

/** The files one task works on, from preparation to removal. */
export interface TaskWorkspace {
  readonly kind: WorkspaceKind;
  /** Where the agent runs. */
  readonly cwd: string;
  /** The top of the tree the diff's paths are relative to. */
  readonly root: string;
  /** The commit the task started from (git workspaces only). */
  readonly base?: string;
  /** Everything the task changed so far. */
  collect(): Promise<Changes>;
  /**
   * Records a finished task's changes: commits them (git), moves the conversation's ref so a follow-up turn starts
   * from them, and keeps the task branch when asked.
   */
  keep(opts: { message: string; keepBranch: boolean }): Promise<KeepResult>;
  /** Puts the changes into the caller's directory (git: only onto a clean working tree). */
  apply(changes: Changes): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Removes the worktree, copy or snapshot, and the task branch unless it was kept. Idempotent. */
  dispose(): Promise<void>;
}

const REPOS_FILE = 'repos.json';
const MAX_KNOWN_REPOS = 500;

/**
 * Prepares and cleans up the place each task works in. A workdir inside a git repository gets a worktree on a new
 * task branch, at a fixed path per conversation (a resumed CLI session is tied to its directory) under
 * `DATA_DIR/worktrees`; it starts from the caller's base ref, else from where the conversation's previous turn
 * ended (a hidden ref, so follow-ups see earlier turns' changes without a branch per turn), else HEAD. Any other
 * workdir is copied (or used in place against a snapshot), and the scratch directory of a context without a
 * workdir is used in place against a snapshot. Every kind yields the same diff shape.
 */
export class Workspaces {
  private readonly worktreesDir: string;
  private knownRepos: Set<string> | undefined;

  constructor(private readonly opts: WorkspacesOptions) {
    this.worktreesDir = join(opts.dataDir, 'worktrees');
  }

  private git(signal?: AbortSignal): GitContext {
    return signal ? { ...this.opts.git, signal } : this.opts.git;
  }

  async prepare(req: WorkspaceRequest): Promise<TaskWorkspace> {
    const git = this.git(req.signal);
    const key = conversationKey(req.owner, req.contextId);
    if (req.workdir === undefined) {
      if (req.commit)
        throw new WorkspaceError('not_a_repository', 'commit needs input.workdir (a git repository)');
      await mkdir(req.scratch, { recursive: true });
      return this.inPlace('scratch', req.scratch, req.taskId, git);
    }
    // Checked again now, and held open: the workdir may have been swapped (for a symlink to /etc, say) while the
    // task was queued. Everything below works through the pinned directory, not the path.
    const pinned = await pinWorkdir(req.workdir);
    try {
      const ws = await this.fromWorkdir(req, pinned.path, key, git);
      return { ...ws, dispose: () => ws.dispose().finally(() => pinned.close()) };
    } catch (err) {
      await pinned.close();
      throw err;
    }
  }

  private async fromWorkdir(
    req: WorkspaceRequest,
    dir: string,
    key: string,
    git: GitContext,
  ): Promise<TaskWorkspace> {
    const repoRoot = await findRepoRoot(dir, git);
    if (repoRoot === undefined) {
      if (req.commit) {
        throw new WorkspaceError(
          'not_a_repository',
          `commit needs a git repository, and ${req.workdir} is not inside one`,
        );
      }
      return this.opts.nonGit === 'in_place'
        ? this.inPlace('in_place', dir, req.taskId, git)
        : this.copy(dir, key, git);
    }
    return this.worktree(req, repoRoot, key, git);
  }

  private async worktree(
    req: WorkspaceRequest,
    repoRoot: string,
    key: string,
    git: GitContext,
  ): Promise<TaskWorkspace> {
    const path = join(this.worktreesDir, key);
    await this.clearPath(repoRoot, path);
    const ref = conversationRef(key);
    const continues = !req.readOnly && req.baseRef === undefined && (await refExists(repoRoot, ref, git));
    // A read-only task gets a detached worktree: no branch is created, so the repository's refs never change.
    const branch = req.readOnly ? undefined : taskBranchName(req.skill, req.taskId);
    // Not abortable: a cancel in the middle of `git worktree add` would leave git's admin entry and the branch
    // behind (the cleanup would run with the aborted signal too). Creating a worktree takes well under a second.
    const baseRef = req.baseRef ?? (continues ? ref : 'HEAD');
    const wt: Pick<Worktree, 'path' | 'baseCommit'> = branch
      ? // The branch is named after this task: one that exists is from an attempt a crash cut off.
        await createWorktree({ repo: repoRoot, branch, path, baseRef, replaceLeftover: true }, this.opts.git)
      : await addDetachedWorktree(repoRoot, path, baseRef, this.opts.git);
    await this.remember(repoRoot);
    await this.copyIncludes(repoRoot, wt.path, req.taskId, git);
    let keptBranch = false;
    let disposed = false;
    const dispose = async (): Promise<void> => {
      if (disposed) return;
      disposed = true;
      // Cleanup must run even after a cancel aborted the task's signal.
      const git = this.opts.git;
      await removeWorktree(repoRoot, wt.path, git);
      if (branch && !keptBranch) await dropTaskBranch(repoRoot, branch, git);
    };
    try {
      let pending: Changes = EMPTY_CHANGES;
      if (req.readOnly && req.baseRef === undefined) {
        // A review of "the current changes" must see the caller's uncommitted work, without touching it.
        pending = await collectChanges(repoRoot, 'HEAD', git);
        if (pending.files.length > 0) await applyToWorktree(wt.path, pending.applyableDiff, git);
      }
      const collect = async (): Promise<Changes> =>
        withoutPending(await collectChanges(wt.path, wt.baseCommit, this.git(req.signal)), pending);
      const sub = relative(repoRoot, req.workdir ?? repoRoot);
      const cwd = join(wt.path, sub);
      await mkdir(cwd, { recursive: true });
      const repository = repositoryFor(this.opts.repositories ?? [], repoRoot);
      if (repository?.setup) {
        req.onProgress?.(`setting up the worktree: ${repository.setup.text}`);
        const done = await runSetup({
          repository,
          cwd: wt.path,
          baseEnv: this.opts.git.env,
          ...(req.signal ? { signal: req.signal } : {}),
          ...(req.onProgress ? { onLine: req.onProgress } : {}),
        });
        if (done) {
          this.opts.logger.info(
            { taskId: req.taskId, command: done.command, durationMs: done.durationMs },
            'the worktree set-up command finished',
          );
        }
      }
      return {
        kind: 'worktree',
        cwd,
        root: wt.path,
        base: wt.baseCommit,
        collect,
        keep: async ({ message, keepBranch }) => {
          const sha = await commitChanges(wt.path, message, this.opts.git);
          await moveConversationRef(repoRoot, ref, sha ?? wt.baseCommit, this.opts.git);
          keptBranch = keepBranch && sha !== undefined;
          return { ...(sha ? { commit: sha } : {}), ...(keptBranch && branch ? { branch } : {}) };
        },
        apply: async (changes) => {
          const result = await applyToWorkingTree(repoRoot, changes.applyableDiff, this.opts.git);
          if (result.ok) return result;
          keptBranch = true;
          return {
            ok: false,
            reason: `${result.reason} (the change is kept on branch ${branch ?? '(none)'})`,
          };
        },
        dispose,
      };
    } catch (err) {
      await dispose().catch(() => undefined);
      throw err;
    }
  }

  /**
   * The ignored files the repository's `.worktreeinclude` lists (`.env`, local settings) go into the new worktree.
   * A failure is logged, not fatal: the agent still gets the checkout.
   */
  private async copyIncludes(repoRoot: string, path: string, taskId: string, git: GitContext): Promise<void> {
    try {
      const { copied, skipped } = await copyWorktreeIncludes(repoRoot, path, git);
      if (copied.length > 0 || skipped.length > 0) {
        this.opts.logger.info(
          { taskId, copied: copied.length, skipped: skipped.slice(0, 20) },
          `copied ${copied.length} file(s) listed in ${WORKTREE_INCLUDE_FILE} into the task's worktree`,
        );
      }
    } catch (err) {
      this.opts.logger.warn({ err, taskId }, `copying the files ${WORKTREE_INCLUDE_FILE} lists failed`);
    }
  }

  /** A leftover at the conversation's fixed path (a crash, a previous turn on another repository) goes first. */
  private async clearPath(repoRoot: string, path: string): Promise<void> {
    if (!(await exists(path))) return;
    try {
      await removeWorktree(repoRoot, path, this.opts.git);
    } catch (err) {
      if (!(err instanceof WorkspaceError)) throw err;
      await rm(path, { recursive: true, force: true });
    }
  }

  private async copy(workdir: string, key: string, git: GitContext): Promise<TaskWorkspace> {
    const path = join(this.opts.dataDir, 'copies', key);
    await rm(path, { recursive: true, force: true });
    const snap = await snapshotCopy(workdir, path);
    return {
      kind: 'copy',
      cwd: snap.path,
      root: snap.path,
      collect: () => changesBetween(workdir, snap.path, snap.altered, git),
      keep: () => Promise.resolve({}),
      apply: (changes) => applyPatch(workdir, changes.applyableDiff, this.opts.git),
      dispose: () => rm(snap.path, { recursive: true, force: true }),
    };
  }

  private async inPlace(
    kind: 'in_place' | 'scratch',
    dir: string,
    taskId: string,
    git: GitContext,
  ): Promise<TaskWorkspace> {
    const snapshotPath = join(
      this.opts.dataDir,
      'snapshots',
      createHash('sha256').update(taskId).digest('hex').slice(0, 32),
    );
    await rm(snapshotPath, { recursive: true, force: true });
    const snap = await snapshotCopy(dir, snapshotPath);
    return {
      kind,
      cwd: dir,
      root: dir,
      collect: () => changesBetween(snap.path, dir, snap.altered, git),
      keep: () => Promise.resolve({}),
      // The task already wrote there.
      apply: () => Promise.resolve({ ok: true }),
      dispose: () => rm(snap.path, { recursive: true, force: true }),
    };
  }

  /**
   * At start-up: whatever a crashed gateway left in the worktree, copy and snapshot directories goes (their tasks
   * were recorded as interrupted), and git forgets the worktrees it had.
   */
  async recover(): Promise<void> {
    for (const dir of ['worktrees', 'copies', 'snapshots']) {
      await rm(join(this.opts.dataDir, dir), { recursive: true, force: true });
    }
    for (const repo of await this.repos()) {
      const unlocked = await unlockAbandonedWorktrees(
        repo,
        join(this.opts.dataDir, 'worktrees'),
        this.opts.git,
      ).catch((err: unknown) => {
        this.opts.logger.warn({ err, repo }, 'reading the worktree entries failed');
        return 0;
      });
      if (unlocked > 0)
        this.opts.logger.info({ repo, unlocked }, 'unlocked worktree entries a killed git left half made');
      await runGit(this.opts.git, repo, ['worktree', 'prune']).catch((err: unknown) =>
        this.opts.logger.warn({ err, repo }, 'git worktree prune failed'),
      );
    }
  }

  /** Deletes task branches and conversation refs older than the retention, in every repository tasks used. */
  async prune(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const repo of await this.repos()) {
      try {
        const result = await pruneTaskBranches(repo, this.opts.branchRetentionMs, this.opts.git, { now });
        removed += result.deleted.length;
        removed += await pruneConversationRefs(repo, now - this.opts.branchRetentionMs, this.opts.git);
      } catch (err) {
        this.opts.logger.warn({ err, repo }, 'pruning task branches failed');
      }
    }
    return removed;
  }

  private async repos(): Promise<string[]> {
    if (!this.knownRepos) {
      const text = await readFile(join(this.opts.dataDir, REPOS_FILE), 'utf8').catch(() => '[]');
      let list: unknown;
      try {
        list = JSON.parse(text);
      } catch {
        list = [];
      }
      this.knownRepos = new Set(Array.isArray(list) ? list.filter((r) => typeof r === 'string') : []);
    }
    const alive: string[] = [];
    for (const repo of this.knownRepos) if (await exists(join(repo, '.git'))) alive.push(repo);
    return alive;
  }

  private async remember(repo: string): Promise<void> {
    await this.repos();
    const known = this.knownRepos ?? new Set<string>();
    if (known.has(repo)) return;
    known.add(repo);
    const list = [...known].slice(-MAX_KNOWN_REPOS);
    await mkdir(this.opts.dataDir, { recursive: true });
    await writeFile(join(this.opts.dataDir, REPOS_FILE), JSON.stringify(list, null, 2), { mode: 0o600 });
  }

  /** Paths of the worktree, copy and snapshot directories now present (for tests and health). */
  async leftovers(): Promise<string[]> {
    const out: string[] = [];
    for (const dir of ['worktrees', 'copies', 'snapshots']) {
      const names = await readdir(join(this.opts.dataDir, dir)).catch(() => []);
      out.push(...names.map((n) => join(this.opts.dataDir, dir, n)));
    }
    return out;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

export { EMPTY_CHANGES, TASK_BRANCH_PREFIX };
