import { randomUUID } from 'node:crypto';
import type { AppliedLimits } from './limits.js';
import { RUN_MARKER_ENV, sweepMarked } from './proc-table.js';
import type { ProcessRegistry } from './registry.js';
import { signalFromExitCode, type Containment } from './containment.js';
import type { ProcessRunner, RunOptions, RunResult } from './types.js';

/** A sandbox that confines one run: it rewrites the command line and environment, and cleans up after. */
export interface Sandbox {
  /** What the sandbox is, for reports ("bwrap"). */
  readonly kind: string;
  /** True when the wrapped command runs in a PID namespace of its own that dies with it. */
  readonly ownPidNamespace: boolean;
  /** True when a death by signal inside comes out as exit code 128+n. */
  readonly reportsSignalsAsCodes: boolean;
  wrap(
    opts: RunOptions,
  ): Promise<{ argv: readonly string[]; env: Record<string, string>; dispose(): Promise<void> }>;
}

export interface TaskRunnerDeps {
  registry: ProcessRegistry;
  limits: AppliedLimits;
  containment: Containment;
  /** Absent: the run is contained but not confined (SANDBOX=off, or auto where bubblewrap cannot run). */
  sandbox?: Sandbox | undefined;
}

/**
 * The runner every backend's child goes through: optionally confined by a sandbox, with the OS limits applied,
 * contained (cgroup, PID namespace or tracked tree) so that nothing it starts outlives it, recorded in the process
 * registry while it runs. Each run's processes carry a marker variable; when the run ends, a sweep of /proc kills
 * any of them still running, whatever they did with sessions.
 */
export function createTaskRunner(deps: TaskRunnerDeps): ProcessRunner {
  return async (opts: RunOptions, label: string): Promise<RunResult> => {
    const marker = randomUUID();
    let argv = opts.argv;
    let env: Record<string, string> = { ...opts.env, [RUN_MARKER_ENV]: marker };
    const confined = deps.sandbox ? await deps.sandbox.wrap({ ...opts, env }) : undefined;
    if (confined) ({ argv, env } = confined);
    argv = deps.limits.apply({ ...opts, argv }).argv;
    const contained = await deps.containment.begin(argv, deps.sandbox?.ownPidNamespace ?? false);
    let reaped: Promise<void> | undefined;
    const reap = (): Promise<void> =>
      (reaped ??= (async () => {
        await contained.cleanup();
        await sweepMarked(marker);
      })());
    try {
      const result = await deps.registry.run({ ...opts, argv: contained.argv, env, reap }, label, marker);
      const wrapperCodes = deps.sandbox
        ? deps.sandbox.reportsSignalsAsCodes
        : deps.containment.reportsSignalsAsCodes;
      const signal = wrapperCodes ? signalFromExitCode(result.exitCode) : undefined;
      return signal ? { ...result, exitCode: null, signal } : result;
    } finally {
      // A run that never started (spawn error) still has a cgroup and a sandbox to clean up.
      await reap();
      await confined?.dispose();
    }
  };
}
