import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { setImmediate as yieldToLoop, setTimeout as delay } from 'node:timers/promises';

/**
 * The variable every process of a run carries (children inherit it, also across setsid and double forks), so the
 * run's processes can be found in the process table whatever they did with sessions and parents.
 */
export const RUN_MARKER_ENV = 'A2A_GATEWAY_RUN';

/** How long a sweep keeps killing what it finds before giving up on a process it cannot end. */
const SWEEP_MS = 2000;
/**
 * Processes read between two turns of the event loop. A /proc file costs ~3-10 µs to read synchronously (an
 * `environ` is read out of the other process's memory), so a slice holds the loop for about a millisecond.
 */
const SLICE = 128;

/**
 * Calls `visit` with the bytes of `/proc/<pid>/<file>` of every process whose file could be read (a process that
 * exited meanwhile, or that we may not read, is passed over). False when /proc cannot be listed.
 *
 * The reads are synchronous, in slices of {@link SLICE} processes with a turn of the event loop between slices: this
 * runs at the end of every task, and one promise-based read (open, fstat, read, close, each through the thread
 * pool) cost ~30 µs of the gateway's CPU per process where a synchronous one costs a few. `visit` must not keep
 * `bytes`: the buffer is reused for the next process.
 */
export async function eachProcess(
  file: 'environ' | 'stat',
  visit: (pid: number, bytes: Buffer) => void,
): Promise<boolean> {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return false;
  }
  const reader = new ProcFileReader();
  let read = 0;
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid ("self", "meminfo", ...)
    if (read > 0 && read % SLICE === 0) await yieldToLoop();
    read += 1;
    const bytes = reader.read(`/proc/${name}/${file}`);
    if (bytes) visit(Number(name), bytes);
  }
  return true;
}

/**
 * Reads small /proc files into one growing buffer. The content is framed by a NUL on each side, so that an
 * `environ` entry matches `\0NAME=value\0` wherever it is, first and last included.
 */
class ProcFileReader {
  private buffer = Buffer.allocUnsafe(64 * 1024);

  read(path: string): Buffer | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return undefined;
    }
    try {
      this.buffer[0] = 0;
      let length = 1;
      for (;;) {
        // Keep a byte for the closing NUL.
        if (length + 1 >= this.buffer.length) this.grow();
        const n = readSync(fd, this.buffer, length, this.buffer.length - length - 1, null);
        if (n === 0) break;
        length += n;
      }
      this.buffer[length] = 0;
      return this.buffer.subarray(0, length + 1);
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  private grow(): void {
    const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
    this.buffer.copy(bigger);
    this.buffer = bigger;
  }
}

/** The state letter and process group of a `/proc/<pid>/stat` (framed as {@link eachProcess} gives it). */
export function parseStat(bytes: Buffer): { state: string; pgrp: number } | undefined {
  // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ")".
  const text = bytes.toString('latin1', 1, bytes.length - 1);
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ', 4);
  const state = fields[0];
  const pgrp = Number(fields[2]);
  return state === undefined || !Number.isInteger(pgrp) ? undefined : { state, pgrp };
}

/** False for a zombie or a process that is gone: neither can run or hold a file. */
function isRunning(pid: number, reader: ProcFileReader): boolean {
  const bytes = reader.read(`/proc/${pid}/stat`);
  const stat = bytes && parseStat(bytes);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * The running processes whose environment holds `RUN_MARKER_ENV=marker`. Read from /proc, so a process that
 * called setsid, was re-parented to init or lives in a PID namespace of its own is found all the same; one that
 * emptied its own environment is not (the cgroup and namespace tiers cover that one).
 */
export async function findMarked(marker: string): Promise<number[]> {
  const needle = Buffer.from(`\0${RUN_MARKER_ENV}=${marker}\0`);
  const marked: number[] = [];
  await eachProcess('environ', (pid, environ) => {
    if (pid !== process.pid && environ.includes(needle)) marked.push(pid);
  });
  const reader = new ProcFileReader();
  return marked.filter((pid) => isRunning(pid, reader));
}

/**
 * SIGKILLs every running process that carries `marker` until none is left (a process may fork while it is being
 * killed), for at most about {@link SWEEP_MS}. Resolves with how many it killed and how many were still running
 * at the end (0 unless a process is stuck in the kernel or may not be signalled).
 */
export async function sweepMarked(marker: string): Promise<{ killed: number; left: number }> {
  const deadline = performance.now() + SWEEP_MS;
  const killed = new Set<number>();
  let pause = 5;
  for (;;) {
    const alive = await findMarked(marker);
    if (alive.length === 0) return { killed: killed.size, left: 0 };
    if (performance.now() >= deadline) return { killed: killed.size, left: alive.length };
    for (const pid of alive) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // gone already, or not ours to signal
      }
    }
    await delay(pause);
    pause = Math.min(pause * 2, 100);
  }
}
