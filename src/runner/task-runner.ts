import { randomUUID } from 'node:crypto';
import type { AppliedLimits } from './limits.js';
import { RUN_MARKER_ENV, sweepMarked } from './proc-table.js';
import type { ProcessRegistry } from './registry.js';
import { signalFromExitCode, type Containment } from './containment.js';
import { SandboxError } from './sandbox-error.js';
import { emptyResult } from './spawn.js';
import type { ProcessRunner, RunOptions, RunResult } from './types.js';

/** A sandbox that confines one run: it rewrites the command line and environment, and cleans up after. */
export interface Sandbox {
  /** What the sandbox is, for reports ("bwrap"). */
  readonly kind: string;
  /** True when the wrapped command runs in a PID namespace of its own that dies with it. */
  readonly ownPidNamespace: boolean;
  /** True when a death by signal inside comes out as exit code 128+n. */
  readonly reportsSignalsAsCodes: boolean;
  /** True when the sandbox applies the task limits itself (a container's own limits), instead of prlimit. */
  readonly appliesLimits?: boolean;
  /**
   * True when the wrapped command stays in the process group of the sandbox's own process, and that process must
   * not get a cancel's SIGTERM: its death would end the command without its grace (see `RunOptions`).
   */
  readonly spareLeaderFromTerm?: boolean;
  /** True when the sandbox's own process ending ends everything the command started (see `RunOptions`). */
  readonly leaderEndsGroup?: boolean;
  /**
   * True when nothing the command starts can leave the run's cgroup: the cgroup filesystem is read-only inside
   * and the command cannot remount it. An emptied run cgroup then means every process of the run is gone.
   */
  readonly keepsCgroup?: boolean;
  /**
   * Rewrites one run; `label` is what the runner was given (the task id). `dispose` runs once the run is over,
   * with its result (undefined when it threw), and ends whatever the sandbox still holds.
   */
  wrap(opts: RunOptions, label: string): Promise<ConfinedRun>;
}

/** One run as a sandbox rewrote it. */
export interface ConfinedRun {
  argv: readonly string[];
  env: Record<string, string>;
  dispose(result?: RunResult): Promise<void>;
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
 * any of them still running, whatever they did with sessions (unless the run's cgroup, which none of them could
 * leave, is empty).
 */
export function createTaskRunner(deps: TaskRunnerDeps): ProcessRunner {
  return async (opts: RunOptions, label: string): Promise<RunResult> => {
    const marker = randomUUID();
    let argv = opts.argv;
    let env: Record<string, string> = { ...opts.env, [RUN_MARKER_ENV]: marker };
    let confined: ConfinedRun | undefined;
    try {
      confined = deps.sandbox ? await deps.sandbox.wrap({ ...opts, env }, label) : undefined;
    } catch (err) {
      // A run the sandbox will not start (a workspace it may not mount, say) fails like a command that cannot.
      if (!(err instanceof SandboxError)) throw err;
      return notStarted(`sandbox: ${err.message}`);
    }
    if (confined) ({ argv, env } = confined);
    if (!deps.sandbox?.appliesLimits) argv = deps.limits.apply({ ...opts, argv }).argv;
    const contained = await deps.containment.begin(argv, deps.sandbox?.ownPidNamespace ?? false);
    let reaped: Promise<void> | undefined;
    const reap = (): Promise<void> =>
      (reaped ??= (async () => {
        const emptied = await contained.cleanup();
        // The sweep of /proc for the marker (~2-3 ms of CPU a run) finds what left the run's cgroup or never was in
        // one; a sandbox that keeps the run in its cgroup leaves nothing to find once that cgroup is empty.
        if (!(emptied && deps.sandbox?.keepsCgroup)) await sweepMarked(marker);
      })());
    let result: RunResult | undefined;
    try {
      const wrapper = {
        ...(deps.sandbox?.spareLeaderFromTerm ? { spareLeaderFromTerm: true } : {}),
        ...(deps.sandbox?.leaderEndsGroup ? { leaderEndsGroup: true } : {}),
      };
      result = await deps.registry.run(
        { ...opts, argv: contained.argv, env, reap, ...wrapper },
        label,
        marker,
      );
      const wrapperCodes = deps.sandbox
        ? deps.sandbox.reportsSignalsAsCodes
        : deps.containment.reportsSignalsAsCodes;
      const signal = wrapperCodes ? signalFromExitCode(result.exitCode) : undefined;
      return signal ? { ...result, exitCode: null, signal } : result;
    } finally {
      // A run that never started (spawn error) still has a cgroup and a sandbox to clean up.
      await reap();
      await confined?.dispose(result);
    }
  };
}

function notStarted(message: string): RunResult {
  return { ...emptyResult(), spawnError: { code: 'ESANDBOX', message } };
}
