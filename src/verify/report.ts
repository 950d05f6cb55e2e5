import type { VerifyMode } from './policy.js';
import type { TestRun } from './run-tests.js';

/**
 * `passed`: the tests pass after the agent's change. `failed`: they do not. `not_run`: the agent's run failed, so
 * there was no change to test.
 */
export type TestVerdict = 'passed' | 'failed' | 'not_run';

/** The `test-report` artifact's data: what the gateway ran, before and after the agent, and what it concluded. */
export interface TestReport {
  command: string;
  mode: VerifyMode;
  verdict: TestVerdict;
  /** True when the verdict fails the task (`required` and the tests do not pass). */
  blocking: boolean;
  /** The run before the agent started. */
  before: TestRun;
  /** One run after each agent turn (the first, then each fix attempt); the last one decides. */
  after: TestRun[];
  /** Fix attempts allowed and used (agent turns after the first, each given the failing output). */
  fixAttempts: number;
  fixAttemptsUsed: number;
}

/** The verdict of a run sequence under `mode`. */
export function verdictOf(
  mode: VerifyMode,
  after: readonly TestRun[],
): Pick<TestReport, 'verdict' | 'blocking'> {
  const last = after.at(-1);
  if (!last) return { verdict: 'not_run', blocking: false };
  const verdict = last.passed ? 'passed' : 'failed';
  return { verdict, blocking: mode === 'required' && verdict === 'failed' };
}

/** One line on a run: "exit 1 in 2.3 s", "timed out after 600 s", "could not start: …". */
export function describeRun(run: TestRun): string {
  const secs = `${(run.durationMs / 1000).toFixed(1)} s`;
  if (run.error) return `${run.passed ? 'passed' : 'failed'} (${run.error})`;
  if (run.exitCode === null) return `killed by ${run.signal ?? 'a signal'} after ${secs}`;
  return `${run.passed ? 'passed' : 'failed'}: exit ${run.exitCode} in ${secs}`;
}

/** One paragraph for the task's status and summary: before and after, and the verdict. */
export function describeReport(report: TestReport): string {
  const last = report.after.at(-1);
  const before = `before the agent: ${describeRun(report.before)}`;
  const after = last
    ? `after the agent${report.fixAttemptsUsed > 0 ? ` (${report.fixAttemptsUsed} fix attempt${report.fixAttemptsUsed === 1 ? '' : 's'})` : ''}: ${describeRun(last)}`
    : 'after the agent: not run (the agent did not finish)';
  return `tests ${JSON.stringify(report.command)}: ${before}; ${after}.`;
}

/** The most output a fix prompt quotes; the end is kept (where the failures and the summary are). */
const PROMPT_OUTPUT_CHARS = 8000;

/** The next turn's prompt when the tests still fail after the agent's change. */
export function fixPrompt(command: string, run: TestRun): string {
  const output =
    run.outputTail.length > PROMPT_OUTPUT_CHARS ? run.outputTail.slice(-PROMPT_OUTPUT_CHARS) : run.outputTail;
  return [
    `The gateway ran the test command ${JSON.stringify(command)} on your change and it failed (${describeRun(run)}).`,
    `The end of its output:\n\`\`\`\n${output.trimEnd()}\n\`\`\``,
    'Fix the code so that this command passes. Do not weaken, skip or delete tests to make them pass. Finish with a short summary of what you changed.',
  ].join('\n\n');
}
