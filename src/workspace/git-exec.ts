import { stat } from 'node:fs/promises';
import { runProcess } from '../runner/spawn.js';
import { buildChildEnv } from '../runner/env.js';
import { GitError } from './errors.js';

/** How every git call of a task runs: which environment it starts from, and its bounds. */
export interface GitContext {
  /**
   * The environment git's own is built from (the gateway's, handed down from the composition root). Only the child
   * allowlist passes, plus `HOME` and `XDG_CONFIG_HOME`, so git sees the user's global config (identity, global
   * excludes, `safe.directory`) like the user's own git does, and nothing else of the gateway's environment.
   */
  env: Readonly<Record<string, string | undefined>>;
  /** Bound on each git command (default {@link DEFAULT_GIT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Aborts the command in flight (a task's cancel). */
  signal?: AbortSignal;
}

export const DEFAULT_GIT_TIMEOUT_MS = 60_000;
/** Output kept for ordinary commands; diffs pass their own bound. */
const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
const STDERR_TAIL_CHARS = 2000;

/**
 * Settings forced on every call, whatever the user's config says, because the gateway runs git unattended:
 * - no hooks: a repository's hooks (husky, lint-staged, a post-checkout) may hang, need a terminal or the network,
 *   or rewrite files, and an agent could have planted one; our worktree adds and commits are plumbing;
 * - no fsmonitor (it runs a configured program) and no automatic gc/maintenance (background processes that would
 *   outlive the call and take locks other tasks need);
 * - no pager, no colour, unquoted paths (parsed output uses `-z` anyway).
 */
const FIXED_CONFIG: readonly string[] = [
  '--no-pager',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'gc.auto=0',
  '-c',
  'maintenance.auto=false',
  '-c',
  'color.ui=false',
  '-c',
  'core.quotePath=false',
];

export interface GitRunOptions {
  /** Written to git's stdin, then closed (stdin is closed when absent). */
  stdin?: string;
  /** Extra variables for this call (`GIT_INDEX_FILE`, `GIT_DIR`, identity). */
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (`diff --quiet` exits 1 on a difference). Default `[0]`. */
  okExitCodes?: readonly number[];
  /** Stdout larger than this is an `output_too_large` error rather than a silently cut result. */
  maxOutputBytes?: number;
}

export interface GitOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Builds git's environment: the allowlist, the caller's HOME, and no prompt of any kind. */
export function gitEnv(ctx: GitContext, extra: Record<string, string> = {}): Record<string, string> {
  return buildChildEnv({
    base: ctx.env,
    allow: ['HOME', 'XDG_CONFIG_HOME'],
    set: {
      GIT_TERMINAL_PROMPT: '0',
      GCM_INTERACTIVE: 'never',
      GIT_EDITOR: 'true',
      GIT_PAGER: 'cat',
      // git's own messages in English: lock errors are recognised by their text.
      LC_ALL: 'C',
      LANGUAGE: undefined,
      // `status` and friends must not rewrite a user's index behind their back, nor take its lock.
      GIT_OPTIONAL_LOCKS: '0',
      ...extra,
    },
  });
}

/**
 * Runs `git <args>` in `cwd`: argv only (no shell), stdin closed, bounded by the context's timeout and signal,
 * output capped. Any exit code outside `okExitCodes`, a timeout or a cut output throws a {@link GitError} naming
 * the command with the end of its stderr.
 */
export async function runGit(
  ctx: GitContext,
  cwd: string,
  args: readonly string[],
  opts: GitRunOptions = {},
): Promise<GitOutput> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  const maxOutput = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const result = await runProcess({
    argv: ['git', ...FIXED_CONFIG, ...args],
    cwd,
    env: gitEnv(ctx, opts.env),
    signal,
    graceMs: 2000,
    // One byte over the cap tells a cut output from one that fits exactly.
    maxBufferedBytes: maxOutput + 1,
    ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }),
  });
  const command = ['git', ...args];
  const tail = result.stderr.slice(-STDERR_TAIL_CHARS).trim();
  const shown = `\`${command.join(' ')}\` in ${cwd}`;
  if (result.spawnError) {
    // A missing directory is the caller's path at fault, not a missing git.
    const cwdExists = await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const code = cwdExists ? 'git_not_found' : 'invalid_path';
    throw new GitError(code, `${shown} could not start: ${result.spawnError.message}`, command, null, '');
  }
  if (result.aborted) {
    const timedOut = timeout.aborted;
    throw new GitError(
      timedOut ? 'git_timeout' : 'git_aborted',
      timedOut
        ? `${shown} timed out after ${ctx.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS} ms`
        : `${shown} was cancelled`,
      command,
      result.exitCode,
      tail,
    );
  }
  if (result.stdoutTruncated || Buffer.byteLength(result.stdout) > maxOutput) {
    throw new GitError(
      'output_too_large',
      `${shown} wrote more than ${maxOutput} bytes of output`,
      command,
      result.exitCode,
      tail,
    );
  }
  const exitCode = result.exitCode ?? -1;
  if (!(opts.okExitCodes ?? [0]).includes(exitCode)) {
    const how =
      result.exitCode === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited ${exitCode}`;
    throw new GitError(
      'git_failed',
      `${shown} ${how}${tail ? `: ${tail}` : ''}`,
      command,
      result.exitCode,
      tail,
    );
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode };
}

/** git's messages when another git process holds a lock we need for a moment (index, ref, config, worktrees). */
const LOCK_ERROR =
  /Unable to create '[^']*\.lock'|\.lock': File exists|cannot lock ref|could not lock|unable to lock|failed to read [^\n]*worktrees\/[^\n]*\/(?:commondir|gitdir)/i;

// (The last one: `git worktree add` reads every worktree's admin entry, and one another `worktree add` is
// writing has no `commondir` yet for a moment.)

/** True for a failure that another git process's lock caused, worth retrying after a short wait. */
export function isLockError(err: unknown): boolean {
  return err instanceof GitError && err.code === 'git_failed' && LOCK_ERROR.test(err.stderrTail);
}

const LOCK_ATTEMPTS = 8;

/**
 * Runs `attempt` again while it fails on another git process's lock: git never waits for its locks, and two tasks
 * on one repository create worktrees and branches at the same moment. At most {@link LOCK_ATTEMPTS} tries with
 * jittered backoff (about 4 s in all); `beforeRetry` undoes what a failed try left.
 */
export async function withLockRetry<T>(
  attempt: () => Promise<T>,
  beforeRetry: () => Promise<void> = () => Promise.resolve(),
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= LOCK_ATTEMPTS || !isLockError(err)) throw err;
      await beforeRetry();
      const delay = Math.min(1000, 25 * 2 ** i) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

const repoQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call for the same repository has settled: changes to a repository's worktree
 * list (`worktree add`, `remove`) go one at a time within this process, since each one reads every other entry
 * and one half written makes it fail. Another process's git is covered by {@link withLockRetry}.
 */
export function oneAtATime<T>(repo: string, fn: () => Promise<T>): Promise<T> {
  const previous = repoQueues.get(repo) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  repoQueues.set(repo, settled);
  void settled.then(() => {
    if (repoQueues.get(repo) === settled) repoQueues.delete(repo);
  });
  return run;
}
