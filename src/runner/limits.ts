import { resolveCommand } from './which.js';
import type { RunOptions } from './types.js';

export interface TaskLimits {
  /** Address-space limit per process, in MiB (RLIMIT_AS). */
  memoryMb?: number;
  /** Process limit (RLIMIT_NPROC; counted per user id by the kernel, and not enforced for root). */
  processes?: number;
}

export interface AppliedLimits {
  apply(opts: RunOptions): RunOptions;
}

/**
 * OS limits for every task's processes, applied by starting the command through util-linux `prlimit`, which
 * sets the limits and then execs the command in the same process (so the pid, the process group and the kill
 * path are unchanged). Fails at start-up when limits are asked for and prlimit is missing.
 */
export async function resolveLimits(limits: TaskLimits, pathEnv: string | undefined): Promise<AppliedLimits> {
  const flags: string[] = [];
  if (limits.memoryMb) flags.push(`--as=${limits.memoryMb * 1024 * 1024}`);
  if (limits.processes) flags.push(`--nproc=${limits.processes}`);
  if (flags.length === 0) return { apply: (opts) => opts };
  const prlimit = await resolveCommand('prlimit', pathEnv ?? '/usr/bin:/bin');
  if (!prlimit) {
    throw new Error(
      'TASK_MAX_MEMORY_MB / TASK_MAX_PROCESSES need the prlimit command (util-linux), which was not found',
    );
  }
  return { apply: (opts) => ({ ...opts, argv: [prlimit, ...flags, '--', ...opts.argv] }) };
}
