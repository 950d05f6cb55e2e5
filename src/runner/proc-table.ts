import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The variable every process of a run carries (children inherit it, also across setsid and double forks), so the
 * run's processes can be found in the process table whatever they did with sessions and parents.
 */
export const RUN_MARKER_ENV = 'A2A_GATEWAY_RUN';

/** How long a sweep keeps killing what it finds before giving up on a process it cannot end. */
const SWEEP_MS = 2000;

async function pids(): Promise<number[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** False for a zombie or a process that is gone: neither can run or hold a file. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * The running processes whose environment holds `RUN_MARKER_ENV=marker`. Read from /proc, so a process that
 * called setsid, was re-parented to init or lives in a PID namespace of its own is found all the same; one that
 * emptied its own environment is not (the cgroup and namespace tiers cover that one).
 */
export async function findMarked(marker: string): Promise<number[]> {
  const needle = Buffer.from(`\0${RUN_MARKER_ENV}=${marker}\0`);
  const found: number[] = [];
  await Promise.all(
    (await pids()).map(async (pid) => {
      if (pid === process.pid) return;
      const environ = await readFile(`/proc/${pid}/environ`).catch(() => undefined);
      if (!environ || environ.length === 0) return;
      // A leading NUL so that the first variable matches like the others.
      const padded = Buffer.concat([Buffer.from([0]), environ, Buffer.from([0])]);
      if (padded.includes(needle) && (await isRunning(pid))) found.push(pid);
    }),
  );
  return found;
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
