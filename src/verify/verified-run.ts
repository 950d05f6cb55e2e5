import type { BackendOutcome, Usage } from '../agents/types.js';
import type { VerifyPolicy } from './policy.js';
import { describeReport, fixPrompt, verdictOf, type TestReport } from './report.js';
import type { TestRun } from './run-tests.js';

/** One agent turn: the first with the task's own prompt (`fix` absent), later ones with the failing tests. */
export interface AgentTurn {
  /** 0 for the first turn, then 1, 2, … for each fix attempt. */
  attempt: number;
  /** The prompt of a fix attempt (the failing output); absent on the first turn. */
  prompt?: string;
  /** The outcome of the previous turn (its session id, to resume). */
  previous?: BackendOutcome;
}

export interface VerifiedRunDeps {
  policy: VerifyPolicy;
  runTests: (phase: 'before' | 'after') => Promise<TestRun>;
  runAgent: (turn: AgentTurn) => Promise<BackendOutcome>;
  /** Told about each test run as it ends (progress for the caller). */
  onTests?: (phase: 'before' | 'after', run: TestRun) => void;
}

/**
 * The agent's run checked by the gateway's own test run: the tests run before the agent starts and after each of
 * its turns; while they fail under `required` and fix attempts are left, the agent gets one more turn with the
 * failing output. The outcome is the agent's, turned into a failure naming the test report when the verdict blocks.
 */
export async function verifiedRun(
  deps: VerifiedRunDeps,
): Promise<{ outcome: BackendOutcome; report: TestReport }> {
  const { policy } = deps;
  const tests = async (phase: 'before' | 'after'): Promise<TestRun> => {
    const run = await deps.runTests(phase);
    deps.onTests?.(phase, run);
    return run;
  };
  const before = await tests('before');
  const after: TestRun[] = [];
  let outcome = await deps.runAgent({ attempt: 0 });
  let used = 0;
  if (outcome.status === 'completed') {
    after.push(await tests('after'));
    while (policy.mode === 'required' && !after.at(-1)?.passed && used < policy.fixAttempts) {
      used += 1;
      const next = await deps.runAgent({
        attempt: used,
        prompt: fixPrompt(policy.command.text, after.at(-1) as TestRun),
        previous: outcome,
      });
      // Usage adds up over the turns; the summary is the last turn's.
      outcome = { ...next, ...(mergeUsage(outcome, next) ?? {}) };
      if (outcome.status !== 'completed') break;
      after.push(await tests('after'));
    }
  }
  const report: TestReport = {
    command: policy.command.text,
    mode: policy.mode,
    ...verdictOf(policy.mode, outcome.status === 'completed' ? after : []),
    before,
    after,
    fixAttempts: policy.fixAttempts,
    fixAttemptsUsed: used,
  };
  if (report.blocking && outcome.status === 'completed') {
    outcome = {
      ...outcome,
      status: 'failed',
      reason: `the tests still fail after the agent's change, so the change is not accepted: ${describeReport(report)}`,
    };
  }
  return { outcome, report };
}

const SUMMED = [
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'costUsd',
  'numTurns',
  'durationMs',
] as const;

/** The usage of two turns together: counts and cost add up; the model is the later turn's. */
function mergeUsage(a: BackendOutcome, b: BackendOutcome): { usage: Usage } | undefined {
  if (!a.usage || !b.usage) {
    const usage = b.usage ?? a.usage;
    return usage ? { usage } : undefined;
  }
  const usage: Usage = { ...a.usage, ...b.usage };
  for (const key of SUMMED) {
    const x = a.usage[key];
    const y = b.usage[key];
    if (x !== undefined || y !== undefined) usage[key] = (x ?? 0) + (y ?? 0);
  }
  return { usage };
}
