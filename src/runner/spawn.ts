import { spawn, type ChildProcess } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LineSplitter } from './line-splitter.js';
import { terminateGroup } from './process-group.js';
import { TailBuffer } from './tail-buffer.js';
import type { ChildInput, RunOptions, RunResult } from './types.js';

export const DEFAULT_GRACE_MS = 5000;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
/**
 * How long to wait, once the group is gone, for the leader to be reaped and the last output read. Only a process
 * that left the group (setsid) can hold the pipes longer; its output is then cut off.
 */
const DRAIN_MS = 1000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs one child process to the end and reports how it went. It never throws and never leaves a process behind.
 *
 * - The child is spawned from `argv` (no shell), in its own process group, with exactly `env`, and with stdin
 *   closed unless `stdin` is given (then it is written and closed) or `interactive` is (then it stays open, and
 *   the caller writes to it while the child runs; it is closed at the end whatever the caller did).
 * - Aborting `signal` sends SIGTERM to the whole group (but its leader, with `spareLeaderFromTerm`) and SIGKILL
 *   after `graceMs`; `aborted` is then true whatever the exit code (CLIs exit 0, 143 or by signal when cancelled).
 *   An abort that comes after the leader has exited by itself does not count. A signal already aborted means
 *   nothing is spawned.
 * - When the leader exits by itself, processes it left in its group (background grandchildren) get the same
 *   SIGTERM-then-SIGKILL treatment (not looked for with `leaderEndsGroup`: the leader's exit ended them). The promise resolves once the group is gone, or at the latest about
 *   `graceMs` + 3 s (SIGKILL confirmation and drain) after the leader exited or the abort came.
 * - Output is streamed as lines to `onStdoutLine` / `onStderrLine` (see {@link LineSplitter}: `\r\n` handled,
 *   lines over `maxLineBytes` cut). `stdout` / `stderr` keep the **last** `maxBufferedBytes` of each stream
 *   (the end of a run is where the result and the fatal error are); `*Truncated` says when the start was dropped.
 * - A callback (`onSpawn`, a line callback) that throws does not stop the run: the first error is reported as
 *   `callbackError` and later lines are still delivered.
 * - A child that cannot be started (command not found, not executable, missing working directory) gives
 *   `spawnError` with the OS error code and `exitCode` null.
 */
export async function runProcess(opts: RunOptions): Promise<RunResult> {
  const startedAt = performance.now();
  const elapsed = (): number => Math.round(performance.now() - startedAt);
  const notStarted = (extra: Partial<RunResult>): RunResult => ({
    ...emptyResult(),
    durationMs: elapsed(),
    ...extra,
  });

  if (opts.signal?.aborted) return notStarted({ aborted: true });
  const command = opts.argv[0];
  if (command === undefined || command === '') {
    return notStarted({
      spawnError: { code: 'EINVAL', message: 'argv is empty: there is no command to run' },
    });
  }

  let child: ChildProcess;
  try {
    child = spawn(command, opts.argv.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      shell: false,
      windowsHide: true,
      stdio: [opts.stdin === undefined && !opts.interactive ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    // Invalid arguments (a NUL byte in argv, say) throw synchronously instead of emitting 'error'.
    return notStarted({ spawnError: await describeSpawnError(err, command, opts.cwd) });
  }

  let callbackError: Error | undefined;
  const guard =
    (callback: (line: string) => void) =>
    (line: string): void => {
      try {
        callback(line);
      } catch (thrown) {
        callbackError ??= toError(thrown);
      }
    };
  const maxBuffered = positiveOr(opts.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES);
  const maxLine = positiveOr(opts.maxLineBytes, DEFAULT_MAX_LINE_BYTES);
  const out = collect(child.stdout, maxBuffered, maxLine, opts.onStdoutLine && guard(opts.onStdoutLine));
  const err = collect(child.stderr, maxBuffered, maxLine, opts.onStderrLine && guard(opts.onStderrLine));

  // Listen before anything can be emitted; a late 'error' without a listener would crash the gateway.
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const started = new Promise<unknown>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.on('error', resolve);
  });
  if (child.stdin) {
    // EPIPE when the child exits without reading its input is not our failure.
    child.stdin.on('error', () => undefined);
    if (opts.interactive) {
      if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
      try {
        opts.interactive(childInput(child));
      } catch (thrown) {
        callbackError ??= toError(thrown);
      }
    } else if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  }

  const startError = await started;
  const pid = child.pid;
  if (startError !== undefined || pid === undefined) {
    destroyStdio(child);
    return notStarted({ spawnError: await describeSpawnError(startError, command, opts.cwd) });
  }

  try {
    opts.onSpawn?.(pid);
  } catch (thrown) {
    callbackError ??= toError(thrown);
  }

  const graceMs = opts.graceMs !== undefined && opts.graceMs >= 0 ? opts.graceMs : DEFAULT_GRACE_MS;
  let aborted = false;
  let onAbort = (): void => undefined;
  const abortRequested = new Promise<undefined>((resolve) => {
    onAbort = () => {
      if (exit === undefined) aborted = true;
      resolve(undefined);
    };
  });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // The signal may have fired while the child was starting, before the listener was attached.
  if (opts.signal?.aborted) onAbort();

  try {
    await Promise.race([exited, abortRequested]);
    // Either way the whole group goes: all of it on abort, the leader's leftovers after a normal exit (none when
    // the leader's exit ends them: a /proc scan per task saved).
    if (!(opts.leaderEndsGroup === true && exit !== undefined && !aborted))
      await terminateGroup(pid, graceMs, { spareLeaderFromTerm: opts.spareLeaderFromTerm === true });
    await opts.reap?.().catch(() => undefined);
    // Every writer is gone now: the leader gets reaped and the pipes end once their buffered data is read.
    await withTimeout(closed, DRAIN_MS);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    destroyStdio(child);
  }

  const stdout = out.finish();
  const stderr = err.finish();
  const result: RunResult = {
    exitCode: exit?.code ?? null,
    signal: exit?.signal ?? null,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    aborted,
    durationMs: elapsed(),
    pid,
  };
  if (callbackError) result.callbackError = callbackError;
  return result;
}

/** The result of a run that never started (fill in its spawnError). */
export function emptyResult(): RunResult {
  return {
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    aborted: false,
    durationMs: 0,
    pid: undefined,
  };
}

function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
}

interface Collector {
  /** Flushes the last partial line and returns the kept output. */
  finish(): { text: string; truncated: boolean };
}

function collect(
  stream: Readable | null,
  maxBuffered: number,
  maxLine: number,
  onLine: ((line: string) => void) | undefined,
): Collector {
  const buffer = new TailBuffer(maxBuffered);
  const lines = onLine ? new LineSplitter(maxLine, onLine) : undefined;
  stream?.on('data', (chunk: Buffer) => {
    buffer.push(chunk);
    lines?.push(chunk);
  });
  stream?.on('error', () => undefined);
  return {
    finish() {
      lines?.end();
      return { text: buffer.toString(), truncated: buffer.truncated };
    },
  };
}

/** A writer on the child's stdin that never throws: once stdin is closed or broken, writes are dropped. */
function childInput(child: ChildProcess): ChildInput {
  const open = (): boolean => {
    const stdin = child.stdin;
    return stdin !== null && stdin.writable && !stdin.destroyed && !stdin.writableEnded;
  };
  return {
    write(text: string): boolean {
      if (!open()) return false;
      child.stdin?.write(text);
      return true;
    },
    end(): void {
      if (open()) child.stdin?.end();
    },
  };
}

function destroyStdio(child: ChildProcess): void {
  child.stdin?.destroy();
  child.stdout?.destroy();
  child.stderr?.destroy();
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Node reports a missing cwd as ENOENT of the command; tell the two apart so the message is actionable. */
async function describeSpawnError(
  err: unknown,
  command: string,
  cwd: string,
): Promise<{ code: string; message: string }> {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : 'ESPAWN';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const cwdOk = await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!cwdOk) return { code, message: `working directory "${cwd}" does not exist or is not a directory` };
    return { code, message: `command not found: "${command}" (not an executable on the child's PATH)` };
  }
  if (code === 'EACCES') {
    return {
      code,
      message: `permission denied starting "${command}" (not executable, or cwd "${cwd}" not accessible)`,
    };
  }
  return { code, message: `could not start "${command}": ${e?.message ?? String(err)}` };
}
