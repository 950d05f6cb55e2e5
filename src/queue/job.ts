/**
 * One task's run, decided once at admission: everything a run needs, serializable (no functions, no SDK types),
 * so it can be kept in a store and run after a restart or by another process.
 */
export interface TaskJob {
  taskId: string;
  contextId: string;
  /** The principal that sent it (the key id), and its tenant: the scope of the task and its conversation. */
  owner: string;
  tenant: string;
  skill: string;
  backend: string;
  input: Record<string, unknown>;
  prompt: string;
  /** The real path of the caller's workdir; absent for the conversation's scratch directory. */
  workdir?: string;
  timeoutMs: number;
  model?: string;
  effort?: string;
  workspace: TaskWorkspacePlan;
  /** What the caller asked, in words (for backends that replay earlier turns, and commit messages). */
  request: string;
  /** Task metadata set when the task is created (skill, backend, dialect). */
  meta: Record<string, string>;
  /** W3C trace context of the request that sent it: in the task's log lines, and the CLI's TRACEPARENT. */
  traceparent?: string;
}

/** What happens to a task's change: where it starts, whether it is committed, applied, pushed. */
export interface TaskWorkspacePlan {
  baseRef?: string;
  commit: boolean;
  apply: boolean;
  /** Push the task branch to `remote` after a verified change, and open a pull request when asked. */
  push?: { remote: string; pullRequest: boolean };
}

/** Where a kept job is: waiting for a slot (owed after a restart) or running (settled after a restart). */
export type JobState = 'queued' | 'running';

export interface StoredJob {
  job: TaskJob;
  state: JobState;
}
