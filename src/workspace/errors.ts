/** What went wrong in a workspace operation, as a stable string a caller can branch on. */
export type WorkspaceErrorCode =
  | 'git_failed'
  | 'git_timeout'
  | 'git_aborted'
  | 'git_not_found'
  | 'output_too_large'
  | 'not_a_repository'
  | 'invalid_ref'
  | 'invalid_branch'
  | 'branch_exists'
  | 'path_exists'
  | 'invalid_path'
  | 'not_a_worktree'
  | 'invalid_message'
  | 'snapshot_too_large'
  | 'workdir_changed'
  | 'no_remote'
  | 'push_rejected'
  | 'gh_not_found'
  | 'pull_request_failed'
  | 'setup_failed';

/** A workspace operation that was refused or failed; `code` says which way. */
export class WorkspaceError extends Error {
  constructor(
    readonly code: WorkspaceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/** A git command that failed: the command (without the gateway's fixed `-c` overrides) and the end of its stderr. */
export class GitError extends WorkspaceError {
  constructor(
    code: WorkspaceErrorCode,
    message: string,
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(code, message);
    this.name = 'GitError';
  }
}
