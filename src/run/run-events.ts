import type { BackendOutcome, InputAnswer, InputQuestion } from '../agents/types.js';
import type { TaskJob } from '../queue/job.js';
import type { TestReport } from '../verify/report.js';
import type { ReviewComment } from '../skills/review-skill.js';
import type { GeneratedFile } from '../service/results.js';

/** How a run ended: the backend's status. */
export type RunStatus = BackendOutcome['status'];

/** What a completed run hands back besides its summary: the review, the diff and the files it wrote. */
export interface RunProducts {
  /** The agent's summary (redacted), or a placeholder when it said nothing. */
  summary: string;
  review?: { comments: ReviewComment[]; error?: string };
  /** The unified diff of every changed file (redacted); absent when nothing changed. */
  diff?: string;
  /** Files a generation skill wrote (text redacted). */
  files: GeneratedFile[];
  /** The pull request opened for the task's pushed branch. */
  pullRequest?: { url: string };
}

/** The end of a run, everything the caller is told. */
export interface RunEnd {
  status: RunStatus;
  /** The last word: the summary when completed, else the reason (redacted). */
  text: string;
  /** The run details: the task's metadata, status, usage, changed files, workspace, exit code, duration. */
  details: Record<string, unknown>;
  /** Only when completed. */
  products?: RunProducts;
  /** The gateway's own test run (before and after the agent), completed or not. */
  testReport?: TestReport;
}

/**
 * What a task run reports, in the order it happens. Protocol-free: the A2A executor maps these to status and
 * artifact updates; a worker node's sink may store them the same way.
 */
export type RunEvent =
  /** The run got its slot and starts (`text` says which skill runs with which backend). */
  | { type: 'started'; text: string }
  /**
   * Progress while it works: what the agent says, the tool it runs, a question it asks, the worktree's set-up
   * output, a pause for a usage limit (`metadata.event` is `text`, `tool_call`, `needs_input`, `setup` or
   * `usage_limit`; `metadata.usage` is the usage so far).
   */
  | { type: 'progress'; text: string; metadata: Record<string, unknown> }
  /** The run is over; nothing follows. */
  | ({ type: 'finished' } & RunEnd);

/** Receives a run's events synchronously, in order. */
export type RunSink = (event: RunEvent) => void;

/** Sees every run's events after the sink (metrics, logs); one that throws is skipped. */
export type RunObserver = (job: TaskJob, event: RunEvent) => void;

/** How a backend's question reaches the caller and the answer comes back (A2A: `input-required`). */
export type Ask = (question: InputQuestion, signal?: AbortSignal) => Promise<InputAnswer>;
