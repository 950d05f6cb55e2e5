import type { BackendOutcome } from '../agents/types.js';
import type { TaskJob } from '../queue/job.js';
import { changedFilesList, readGeneratedFiles, type GeneratedFile } from '../service/results.js';
import type { TaskPlan } from '../service/planner.js';
import type { TaskWorkspace } from '../service/workspaces.js';
import type { ReviewComment } from '../skills/review-skill.js';
import type { Changes } from '../workspace/index.js';
import type { RunRecord } from './progress.js';
import type { RunEnd } from './run-events.js';
import type { TestReport } from '../verify/report.js';

/** What a run's workspace produced, for the result. */
export interface RunExtras {
  changes?: Changes;
  files?: GeneratedFile[];
  review?: { comments: ReviewComment[]; error?: string };
  workspace?: Record<string, unknown>;
  /** The gateway's own test run, when the task had a test command (kept on failure too). */
  testReport?: TestReport;
  /** The pull request opened for the pushed branch. */
  pullRequest?: { url: string };
}

/**
 * After a completed run: reads what changed, checks generated files, records the change (commit, conversation
 * ref) and applies it when asked. A check or an apply that fails turns the task into a failure with the reason.
 */
export async function settle(
  ws: TaskWorkspace,
  plan: TaskPlan,
  job: Pick<TaskJob, 'taskId' | 'contextId' | 'request'>,
  result: BackendOutcome,
  record: RunRecord,
  redact: (text: string) => string,
): Promise<{ outcome: BackendOutcome; extras: RunExtras }> {
  if (result.status !== 'completed') return { outcome: result, extras: {} };
  const { taskId, contextId, request } = job;
  const skill = plan.skill.id;
  const changes = await ws.collect();
  const workspace: Record<string, unknown> = { kind: ws.kind, ...(ws.base ? { base: ws.base } : {}) };
  if (plan.skill.readOnly) {
    const answer = result.summary || record.lastResult || '';
    const review = plan.skill.parseReview?.(answer);
    return {
      outcome: result,
      extras: {
        ...(review ? { review } : {}),
        workspace: { ...workspace, discardedChanges: changes.files.length },
      },
    };
  }
  const files = plan.skill.returnsFiles ? await readGeneratedFiles(changes, ws.root) : [];
  const invalid = plan.skill.checkFiles?.(files);
  if (invalid) {
    return {
      outcome: {
        ...result,
        status: 'failed',
        reason: `the generated files failed their check: ${invalid}`,
      },
      extras: { changes, workspace },
    };
  }
  const firstLine =
    request
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? skill;
  const title = firstLine.length > 72 ? `${firstLine.slice(0, 71)}…` : firstLine;
  const message = redact(
    `${skill}: ${title}\n\nMade by a2a-gateway, task ${taskId} (context ${contextId}), backend ${plan.backendName}.`,
  );
  const kept = await ws.keep({ message, keepBranch: plan.workspace.commit });
  Object.assign(workspace, kept);
  const extras: RunExtras = { changes, files, workspace };
  if (plan.workspace.apply) {
    const applied = await ws.apply(changes);
    workspace.applied = applied.ok;
    if (!applied.ok) {
      return {
        outcome: { ...result, status: 'failed', reason: `apply refused: ${applied.reason}` },
        extras,
      };
    }
  }
  return { outcome: result, extras };
}

/**
 * The end of a run as the caller is told it: the run details (usage, changed files, workspace, exit code, with
 * the task's metadata), the last word, and on success what becomes the result (summary, review, diff, files).
 * Every text is redacted here.
 */
export function endOf(
  outcome: BackendOutcome,
  record: RunRecord | undefined,
  meta: Record<string, unknown>,
  extras: RunExtras,
  redact: (text: string) => string,
): RunEnd {
  const usage = outcome.usage ?? record?.usage;
  const changedFiles = extras.changes
    ? changedFilesList(extras.changes.files)
    : record
      ? [...record.changedFiles.entries()].map(([path, kind]) => ({ path, kind }))
      : [];
  const details = {
    ...meta,
    status: outcome.status,
    ...(usage ? { usage } : {}),
    ...(changedFiles.length > 0 ? { changedFiles } : {}),
    ...(extras.workspace ? { workspace: extras.workspace } : {}),
    ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
    ...(outcome.errorKind ? { errorKind: outcome.errorKind } : {}),
    ...(extras.testReport
      ? { tests: { command: extras.testReport.command, verdict: extras.testReport.verdict } }
      : {}),
    ...(extras.pullRequest ? { pullRequest: extras.pullRequest.url } : {}),
  };
  const reported = extras.testReport ? { testReport: redactReport(extras.testReport, redact) } : {};
  const summary = redact(outcome.summary || record?.lastResult || '');
  if (outcome.status !== 'completed') {
    return {
      status: outcome.status,
      text: redact(outcome.reason ?? (outcome.status === 'canceled' ? 'canceled' : 'failed')),
      details,
      ...reported,
    };
  }
  const said = summary || '(the agent produced no output)';
  return {
    status: outcome.status,
    text: statusTextOf(said),
    details,
    ...reported,
    products: {
      summary: said,
      ...(extras.review ? { review: extras.review } : {}),
      ...(extras.changes && extras.changes.diff !== '' ? { diff: redact(extras.changes.diff) } : {}),
      files: (extras.files ?? []).map((file) => ({ ...file, text: redact(file.text) })),
      ...(extras.pullRequest ? { pullRequest: extras.pullRequest } : {}),
    },
  };
}

/** The most of a summary the final status message carries; the result artifact carries all of it. */
export const STATUS_TEXT_MAX_CHARS = 64 * 1024;

/**
 * The final status message's text: the summary, or for a summary longer than {@link STATUS_TEXT_MAX_CHARS} (a
 * text-mode agent whose whole output is its result) its start and its end around a line saying how much was left
 * out and where the whole is. The status message is also kept in the task's history and its events, so a
 * megabyte there was the task's size three times over (and its memory, on every save and read).
 */
export function statusTextOf(summary: string): string {
  if (summary.length <= STATUS_TEXT_MAX_CHARS) return summary;
  const half = STATUS_TEXT_MAX_CHARS / 2;
  // Never between the two halves of a surrogate pair.
  const isHigh = (i: number): boolean => (summary.charCodeAt(i) & 0xfc00) === 0xd800;
  const headEnd = isHigh(half - 1) ? half - 1 : half;
  const tailStart = isHigh(summary.length - half - 1) ? summary.length - half + 1 : summary.length - half;
  const left = tailStart - headEnd;
  return `${summary.slice(0, headEnd)}\n\n[... ${left} characters left out here; the whole text is in the result artifact ...]\n\n${summary.slice(tailStart)}`;
}

/** The test output can carry anything the tests printed: masked like every other text the task returns. */
function redactReport(report: TestReport, redact: (text: string) => string): TestReport {
  const run = (r: TestReport['before']): TestReport['before'] => ({ ...r, outputTail: redact(r.outputTail) });
  return { ...report, before: run(report.before), after: report.after.map(run) };
}
