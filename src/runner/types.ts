/** Options for {@link runProcess}. The child is always spawned from an argv array, never a shell string. */
export interface RunOptions {
  /** argv[0] is the command: an absolute path, or a name looked up on `env.PATH`. */
  argv: readonly string[];
  cwd: string;
  /** The child's whole environment (already filtered through an allowlist; see `buildChildEnv`). */
  env: Readonly<Record<string, string>>;
  /** Text written to stdin and then closed; stdin is closed (`ignore`) when absent (and `interactive` is not set). */
  stdin?: string;
  /**
   * Keeps stdin open for the run: called once, synchronously right after the spawn (before any output line is
   * delivered), with a writer the caller may use while the child runs, e.g. to answer a CLI's control requests.
   * `stdin`, when also given, is written first. The writer is closed when the run ends.
   */
  interactive?: (input: ChildInput) => void;
  /** Aborting kills the whole process group: SIGTERM, then SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** Grace between SIGTERM and SIGKILL (default 5000 ms). */
  graceMs?: number;
  /**
   * The command is a wrapper whose death would end what runs inside it at once, without its grace (bubblewrap):
   * the SIGTERM goes to the rest of its process group, where the command inside runs; the SIGKILL after `graceMs`
   * still goes to the whole group.
   */
  spareLeaderFromTerm?: boolean;
  /**
   * The leader's exit ends every other process of its group (bubblewrap: its PID namespace dies with it), so after
   * the leader exits by itself there is nothing left to look for in the group (an abort still ends the group).
   */
  leaderEndsGroup?: boolean;
  /** Cap on the buffered stdout and stderr kept in the result, each (default 1 MiB). Lines are still streamed. */
  maxBufferedBytes?: number;
  /** Longest line passed to the line callbacks; longer lines are cut (default 1 MiB). */
  maxLineBytes?: number;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /**
   * Called once the child is running, with its pid, which is also its process-group id. Lets a caller record the
   * group (to end it after a crash of the gateway, say) or log it while the run is still going.
   */
  onSpawn?: (pid: number) => void;
  /**
   * Called once the process group is gone (after the leader's exit or an abort), before the last output is read:
   * ends the processes that left the group (a setsid daemon holding the pipes), so the run does not wait on them.
   * Its errors are ignored; the run waits for it (bound it yourself).
   */
  reap?: () => Promise<void>;
  /**
   * The paths the run works on, for a sandbox that confines it: the task's workspace (the top of its tree; `cwd`
   * is inside it) and its private home. Absent: `cwd` and `env.HOME`.
   */
  confine?: { workspace: string; home?: string };
}

/** The stdin of a running child, for {@link RunOptions.interactive}. Writes after the end are dropped. */
export interface ChildInput {
  /** Writes text as is (add the newline yourself). False when stdin is already closed or the child is gone. */
  write(text: string): boolean;
  /** Closes stdin (the child reads end of file). Idempotent. */
  end(): void;
}

export interface RunResult {
  /** null when the child was ended by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  /** True when `signal` aborted the run (we killed it). */
  aborted: boolean;
  durationMs: number;
  pid: number | undefined;
  /** Set when the process could not be started at all (ENOENT, EACCES, bad cwd). */
  spawnError?: { code: string; message: string };
  /**
   * The first error thrown by `onSpawn`, `onStdoutLine` or `onStderrLine`. The run goes on and later lines are still
   * delivered: a parser bug must not leave a child running or crash the gateway.
   */
  callbackError?: Error;
}

/** Runs one process; `label` says what for (e.g. the task id), for bookkeeping such as the process registry. */
export type ProcessRunner = (opts: RunOptions, label: string) => Promise<RunResult>;
