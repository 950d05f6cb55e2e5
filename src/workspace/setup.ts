import type { TestCommand } from '../verify/command.js';
import { runTests } from '../verify/run-tests.js';
import { WorkspaceError } from './errors.js';
import { isInside } from './roots.js';

/** A repository the config names, with what a new workspace of it needs before the agent starts. */
export interface RepositorySettings {
  /** Real path of the repository's top level. */
  root: string;
  /** Run in each new worktree (`npm ci`, `uv sync`), argv without a shell. */
  setup?: TestCommand;
  setupTimeoutMs: number;
}

/** The settings of the repository at `repoRoot` (the innermost one that contains it), if the config names it. */
export function repositoryFor(
  repositories: readonly RepositorySettings[],
  repoRoot: string,
): RepositorySettings | undefined {
  return repositories
    .filter((r) => r.root === repoRoot || isInside(r.root, repoRoot))
    .sort((a, b) => b.root.length - a.root.length)[0];
}

export interface SetupOptions {
  repository: RepositorySettings;
  /** The new workspace. */
  cwd: string;
  baseEnv: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /** Each line of the command's output, as it comes (the task's progress). */
  onLine?: (line: string) => void;
}

/**
 * Runs the repository's set-up command in a new workspace: argv only, the child environment allowlist, its own
 * deadline, the process group killed at the end. A command that fails (or cannot start, or overruns) is a
 * `setup_failed` error carrying the end of its output: the agent would otherwise work in a tree that does not build.
 * Returns what it ran and how long it took; nothing when the repository has no set-up command.
 */
export async function runSetup(
  opts: SetupOptions,
): Promise<{ command: string; durationMs: number } | undefined> {
  const command = opts.repository.setup;
  if (!command) return undefined;
  const run = await runTests({
    command,
    cwd: opts.cwd,
    baseEnv: opts.baseEnv,
    timeoutMs: opts.repository.setupTimeoutMs,
    label: 'setup-command',
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onLine ? { onLine: opts.onLine } : {}),
  });
  if (run.passed) return { command: command.text, durationMs: run.durationMs };
  if (opts.signal?.aborted) throw opts.signal.reason;
  const why = run.timedOut
    ? `did not finish within ${Math.round(opts.repository.setupTimeoutMs / 1000)} s`
    : run.error !== undefined
      ? `could not run: ${run.error}`
      : run.signal
        ? `was killed by ${run.signal}`
        : `exited with ${run.exitCode}`;
  const tail = run.outputTail.trim().split('\n').slice(-20).join('\n');
  throw new WorkspaceError(
    'setup_failed',
    `the repository's set-up command \`${command.text}\` ${why}${tail ? `:\n${tail}` : ''}`,
  );
}
