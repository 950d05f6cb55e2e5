import type { BackendOutcome } from '../agents/types.js';
import type { TaskJob } from '../queue/job.js';
import type { TaskPlan } from '../service/planner.js';
import { describeReport, type TestReport } from '../verify/report.js';
import { WorkspaceError } from '../workspace/errors.js';
import { runGit, type GitContext } from '../workspace/git-exec.js';
import { openPullRequest, pushBranch } from '../workspace/push.js';

/** What publishing a verified change did: the pushed branch, and the pull request when one was asked for. */
export interface Published {
  pushed?: { remote: string; branch: string; url: string; commit: string };
  pullRequest?: { url: string };
}

/**
 * After a completed, verified run whose plan asks for it: pushes the task branch (never forced) and opens a pull
 * request with gh. A failure fails the task with the reason; the branch stays (it was kept for the push).
 */
export async function publish(opts: {
  plan: TaskPlan;
  job: Pick<TaskJob, 'taskId' | 'request'>;
  outcome: BackendOutcome;
  /** The kept task branch (the settle step's workspace details). */
  branch: string | undefined;
  /** A directory of the repository: the task's worktree while it exists. */
  dir: string;
  report: TestReport | undefined;
  git: GitContext;
  redact: (text: string) => string;
}): Promise<{ outcome: BackendOutcome; published: Published }> {
  const { plan, outcome } = opts;
  const push = plan.workspace.push;
  if (!push || outcome.status !== 'completed') return { outcome, published: {} };
  const failed = (
    reason: string,
    published: Published = {},
  ): { outcome: BackendOutcome; published: Published } => ({
    outcome: { ...outcome, status: 'failed', reason: opts.redact(reason) },
    published,
  });
  if (opts.branch === undefined)
    return failed('push: the task made no change, so there is no branch to push');
  let pushed: Published['pushed'];
  try {
    pushed = await pushBranch({ dir: opts.dir, branch: opts.branch, remote: push.remote, ctx: opts.git });
  } catch (err) {
    if (err instanceof WorkspaceError) return failed(`push: ${err.message}`);
    throw err;
  }
  if (!push.pullRequest) return { outcome, published: { pushed } };
  const title = prTitle(plan.skill.id, opts.job.request);
  const body = opts.redact(
    [
      outcome.summary.trim() || '(the agent gave no summary)',
      opts.report ? `**Tests (run by the gateway):** ${describeReport(opts.report)}` : undefined,
      `Made by a2a-gateway, task ${opts.job.taskId}, branch \`${opts.branch}\`.`,
    ]
      .filter((p) => p !== undefined)
      .join('\n\n'),
  );
  try {
    const base = plan.workspace.baseRef ?? (await currentBranch(plan.workdir ?? opts.dir, opts.git));
    const pr = await openPullRequest({
      dir: plan.workdir ?? opts.dir,
      head: opts.branch,
      ...(base !== undefined ? { base } : {}),
      title,
      body,
      env: opts.git.env,
      ...(opts.git.signal ? { signal: opts.git.signal } : {}),
    });
    return { outcome, published: { pushed, pullRequest: pr } };
  } catch (err) {
    if (err instanceof WorkspaceError) return failed(`pull request: ${err.message}`, { pushed });
    throw err;
  }
}

function prTitle(skill: string, request: string): string {
  const first =
    request
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? skill;
  const title = `${skill}: ${first}`;
  return title.length > 100 ? `${title.slice(0, 99)}…` : title;
}

/** The branch the caller's checkout is on (what the pull request merges into), if it is on one. */
async function currentBranch(dir: string, git: GitContext): Promise<string | undefined> {
  const out = await runGit(git, dir, ['symbolic-ref', '--quiet', '--short', 'HEAD'], { okExitCodes: [0, 1] });
  const name = out.stdout.trim();
  return out.exitCode === 0 && name !== '' ? name : undefined;
}
