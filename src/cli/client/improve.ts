/**
 * `a2a-gateway improve`: the self-improvement loop over the A2A API. A review pass (review_pr, read-only) lists
 * findings with ids; each chosen finding becomes a fix_bug task that names it (`finding: <taskId>#<id>`), runs
 * with the test command verified by the gateway, is committed on its own task branch, and optionally pushed with a
 * pull request. Prints one line per finding and exits 0 only when every chosen fix verified.
 */
import { resolve } from 'node:path';
import { TaskState, type SendMessageRequest, type Task } from '@a2a-js/sdk';
import type { CommandContext } from './context.js';
import { usageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { buildSendRequest } from './send-input.js';
import { dataOf, messageText, stateName, textOf } from './task-view.js';

export interface ImproveFlags {
  workdir?: string;
  testCommand: string;
  focus?: string;
  max?: string;
  severity?: string;
  push?: boolean;
  pullRequest?: boolean;
  remote?: string;
  fixAttempts?: string;
  timeout?: string;
}

interface Finding {
  id: string;
  file: string;
  line: number | null;
  severity: string;
  text: string;
}

/** One fix's line of the report. */
export interface FixReport {
  finding: Finding;
  taskId: string;
  state: string;
  verified: boolean;
  tests?: string;
  branch?: string;
  pushed?: boolean;
  pullRequest?: string;
  reason?: string;
}

const SEVERITY_ORDER = ['critical', 'major', 'minor', 'nit'];

function artifactData(task: Task, name: string): Record<string, unknown> | undefined {
  return dataOf(task.artifacts.find((a) => a.name === name)?.parts);
}

/** The findings of a review task's result (the data part whose comments carry ids). */
function findingsOf(task: Task): Finding[] {
  const result = task.artifacts.find((a) => a.name === 'result');
  for (const part of result?.parts ?? []) {
    if (part.content?.$case !== 'data') continue;
    const comments = (part.content.value as { comments?: unknown }).comments;
    if (Array.isArray(comments))
      return comments.filter((c): c is Finding => typeof (c as Finding)?.id === 'string');
  }
  return [];
}

async function runToEnd(ctx: CommandContext, request: SendMessageRequest): Promise<Task> {
  const conn = await ctx.connect();
  const result = await conn.client.sendMessage(request);
  if ('messageId' in result)
    throw new Error(`the gateway answered with a message, not a task: ${messageText(result)}`);
  return result;
}

function request(
  skill: string,
  input: Record<string, unknown>,
  flags: Pick<ImproveFlags, 'timeout'>,
): SendMessageRequest {
  return buildSendRequest(
    {
      skill,
      input: JSON.stringify(input),
      ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
    },
    [],
    { cwd: process.cwd(), stdin: () => '' },
  );
}

/** Runs the loop; the exit code says whether every chosen fix verified. */
export async function improveCommand(ctx: CommandContext, flags: ImproveFlags): Promise<number> {
  const { out } = ctx;
  const workdir = resolve(process.cwd(), flags.workdir ?? '.');
  const max = flags.max === undefined ? Infinity : Number(flags.max);
  if (!(max >= 1) || !Number.isInteger(max === Infinity ? 1 : max))
    throw usageError(`--max: expected a whole number of at least 1, got "${flags.max}"`, 'max');
  const floor = flags.severity ?? 'nit';
  if (!SEVERITY_ORDER.includes(floor))
    throw usageError(`--severity: expected one of ${SEVERITY_ORDER.join(', ')}, got "${floor}"`, 'severity');
  const fixAttempts = flags.fixAttempts === undefined ? undefined : Number(flags.fixAttempts);
  if (fixAttempts !== undefined && !(Number.isInteger(fixAttempts) && fixAttempts >= 0))
    throw usageError(`--fix-attempts: expected a whole number, got "${flags.fixAttempts}"`, 'fix-attempts');

  const log = (line: string): void => {
    if (!out.json) out.stderr.write(`${line}\n`);
  };
  log(`reviewing ${workdir} …`);
  const review = await runToEnd(
    ctx,
    request('review_pr', { workdir, ...(flags.focus ? { focus: flags.focus } : {}) }, flags),
  );
  if (review.status?.state !== TaskState.TASK_STATE_COMPLETED) {
    const why = messageText(review.status?.message);
    if (out.json)
      out.data({ review: { taskId: review.id, state: stateName(review.status?.state), reason: why } });
    else out.line(`review ${review.id} ${stateName(review.status?.state)}: ${why}`);
    return EXIT.failed;
  }
  const found = findingsOf(review);
  const chosen = found
    .filter((f) => SEVERITY_ORDER.indexOf(f.severity) <= SEVERITY_ORDER.indexOf(floor))
    .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity))
    .slice(0, max);
  log(`review ${review.id}: ${found.length} finding(s), fixing ${chosen.length}`);

  const fixes: FixReport[] = [];
  for (const finding of chosen) {
    log(
      `fixing ${finding.id} (${finding.severity}) ${finding.file}${finding.line ? `:${finding.line}` : ''} …`,
    );
    const task = await runToEnd(
      ctx,
      request(
        'fix_bug',
        {
          finding: `${review.id}#${finding.id}`,
          workdir,
          test_command: flags.testCommand,
          commit: true,
          ...(fixAttempts !== undefined ? { fixAttempts } : {}),
          ...(flags.push ? { push: true } : {}),
          ...(flags.pullRequest ? { pull_request: true } : {}),
          ...(flags.remote ? { remote: flags.remote } : {}),
        },
        flags,
      ),
    ).catch((err: unknown) => err as Error);
    if (task instanceof Error) {
      fixes.push({ finding, taskId: '', state: 'refused', verified: false, reason: task.message });
      continue;
    }
    const report = artifactData(task, 'test-report');
    const details = dataOf(task.artifacts.find((a) => a.name === 'result')?.parts);
    const workspace = (details?.workspace ?? {}) as { branch?: string; pushed?: unknown };
    const pr = artifactData(task, 'pull-request')?.url;
    const completed = task.status?.state === TaskState.TASK_STATE_COMPLETED;
    fixes.push({
      finding,
      taskId: task.id,
      state: stateName(task.status?.state),
      verified: completed && report?.verdict === 'passed',
      ...(report ? { tests: testsLine(report) } : {}),
      ...(workspace.branch ? { branch: workspace.branch } : {}),
      ...(workspace.pushed ? { pushed: true } : {}),
      ...(typeof pr === 'string' ? { pullRequest: pr } : {}),
      ...(completed ? {} : { reason: textOf(task.status?.message?.parts) }),
    });
  }

  const ok = fixes.every((f) => f.verified);
  if (out.json) {
    out.data({ review: { taskId: review.id, findings: found }, fixes, verified: ok });
  } else {
    out.line(`review ${review.id}: ${found.length} finding(s); ${chosen.length} chosen`);
    for (const f of fixes) {
      out.line(
        [
          `${f.verified ? 'verified' : 'NOT verified'}  ${f.finding.id} ${f.finding.severity} ${f.finding.file}${f.finding.line ? `:${f.finding.line}` : ''}`,
          `  task ${f.taskId || '-'} ${f.state}`,
          f.tests ? `  tests: ${f.tests}` : undefined,
          f.branch ? `  branch: ${f.branch}${f.pushed ? ' (pushed)' : ''}` : undefined,
          f.pullRequest ? `  pull request: ${f.pullRequest}` : undefined,
          f.reason ? `  reason: ${f.reason}` : undefined,
        ]
          .filter((l) => l !== undefined)
          .join('\n'),
      );
    }
    out.line(ok ? `all ${fixes.length} fix(es) verified` : 'some fixes did not verify');
  }
  return ok ? EXIT.ok : EXIT.failed;
}

function testsLine(report: Record<string, unknown>): string {
  const before = report.before as { passed?: boolean } | undefined;
  const after = (report.after as Array<{ passed?: boolean }> | undefined)?.at(-1);
  const word = (r: { passed?: boolean } | undefined): string =>
    r === undefined ? 'not run' : r.passed ? 'pass' : 'fail';
  return `${String(report.verdict)} (before: ${word(before)}, after: ${word(after)})`;
}
