import { buildChildEnv } from '../runner/env.js';
import { runProcess } from '../runner/spawn.js';
import { TailBuffer } from '../runner/tail-buffer.js';
import type { ProcessRunner } from '../runner/types.js';
import type { TestCommand } from './command.js';

/** Default bound on one run of the test command; the task's own deadline still applies on top. */
export const DEFAULT_TEST_TIMEOUT_MS = 10 * 60_000;
/** Default size of the output tail kept for the report (stdout and stderr together, in order of arrival). */
export const DEFAULT_TEST_OUTPUT_BYTES = 16 * 1024;

/** One run of the test command, as it goes in the test report. */
export interface TestRun {
  /** True when the command exited 0 (and was neither killed nor stopped by its deadline). */
  passed: boolean;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** True when the command's own deadline stopped it. */
  timedOut: boolean;
  /** The last bytes of its output (stdout and stderr interleaved by line). */
  outputTail: string;
  outputTruncated: boolean;
  /** Set when the command could not start (not installed, say). */
  error?: string;
}

export interface RunTestsOptions {
  command: TestCommand;
  /** The task's workspace (the directory the agent worked in). */
  cwd: string;
  /** The environment the child's is built from (the gateway's, handed down from the composition root). */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Names allowed on top of the runner's default allowlist (the backend's, say). */
  allowEnv?: readonly string[];
  /** The child's HOME (the task's private home); unset otherwise. */
  home?: string;
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** The task's signal: a cancel or the task's deadline stops the tests too. */
  signal?: AbortSignal;
  /** The runner to go through (the sandboxed task runner); plain {@link runProcess} when absent. */
  runner?: ProcessRunner;
  /** Label for the process registry. */
  label?: string;
  /** Each output line as it comes (stdout and stderr), besides the kept tail. */
  onLine?: (line: string) => void;
}

/**
 * Runs the test command in the task's workspace: argv only (no shell), stdin closed, an environment built from the
 * allowlist, in its own process group that is killed (SIGTERM, then SIGKILL) on its deadline or the task's cancel.
 * Never throws: a command that cannot start is a failed run with `error` set.
 */
export async function runTests(opts: RunTestsOptions): Promise<TestRun> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TEST_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const tail = new TailBuffer(opts.maxOutputBytes ?? DEFAULT_TEST_OUTPUT_BYTES);
  const onLine = (line: string): void => {
    tail.push(Buffer.from(`${line}\n`));
    opts.onLine?.(line);
  };
  const env = buildChildEnv({
    base: opts.baseEnv,
    ...(opts.allowEnv ? { allow: opts.allowEnv } : {}),
    // CI=1 keeps watch modes and interactive prompts of test runners off; the caller's assignments come last.
    set: { CI: '1', ...opts.command.env },
    ...(opts.home !== undefined ? { home: opts.home } : {}),
  });
  const runOpts = {
    argv: opts.command.argv,
    cwd: opts.cwd,
    env,
    signal,
    graceMs: 2000,
    // Lines go to the shared tail; the per-stream buffers only need to be small.
    maxBufferedBytes: 64 * 1024,
    onStdoutLine: onLine,
    onStderrLine: onLine,
  };
  const result = opts.runner
    ? await opts.runner(runOpts, opts.label ?? 'test-command')
    : await runProcess(runOpts);
  const timedOut = result.aborted && deadline.aborted;
  const run: TestRun = {
    passed: result.exitCode === 0 && !result.aborted && !result.spawnError,
    exitCode: result.exitCode,
    signal: result.signal,
    durationMs: result.durationMs,
    timedOut,
    outputTail: tail.toString(),
    outputTruncated: tail.truncated,
  };
  if (result.spawnError) run.error = result.spawnError.message;
  else if (timedOut) run.error = `the test command did not finish within ${Math.round(timeoutMs / 1000)} s`;
  else if (result.aborted)
    run.error = 'the test run was stopped (the task was canceled or reached its deadline)';
  return run;
}
