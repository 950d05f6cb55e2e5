import { constants as osConstants } from 'node:os';
import { CgroupTree, type RunCgroup } from './cgroup.js';
import { runProcess } from './spawn.js';
import { resolveCommand } from './which.js';

/**
 * How every process a task starts is made to end with it, strongest first:
 * - `cgroup`: a cgroup v2 per run, entered before the command execs and killed whole with `cgroup.kill`;
 * - `pidns`: a PID namespace per run (util-linux `unshare --pid --fork --kill-child`): when the run ends the
 *   namespace's init dies and the kernel kills everything in it;
 * - `tracked`: the run's processes are found in /proc by the marker variable they inherit, and killed.
 * The marker sweep also runs after the other two, as a backstop.
 */
export type ContainmentTier = 'cgroup' | 'pidns' | 'tracked';
export type ContainmentSetting = 'auto' | ContainmentTier;

/** Asked for a tier this machine cannot give (`PROCESS_CONTAINMENT=cgroup` without cgroup v2, say). */
export class ContainmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainmentError';
  }
}

/** What is in force, for start-up logs, `doctor` and `/health?detailed=true`. */
export interface ContainmentReport {
  tier: ContainmentTier;
  /** Why each stronger tier is not used (empty when the strongest is). */
  unavailable: Array<{ tier: ContainmentTier; reason: string }>;
}

/** The pieces of one run's containment. */
export interface ContainedRun {
  argv: readonly string[];
  /**
   * Ends whatever the run's cgroup still holds (idempotent). True when the run had a cgroup and it is empty now:
   * nothing that stayed in it is left.
   */
  cleanup(): Promise<boolean>;
}

/** A shell that puts itself into the run's cgroup, then becomes the command (same pid, same process group). */
const ENTER_CGROUP = 'echo $$ > "$0" && exec "$@"';
/**
 * The PID namespace's init: a shell that waits for the command, so the command is not PID 1 (which the kernel
 * shields from signals it has no handler for, its own included: a CLI that kills itself would live on).
 */
const NAMESPACE_INIT = '"$@"; exit $?';

export class Containment {
  private constructor(
    readonly report: ContainmentReport,
    private readonly cgroups: CgroupTree | undefined,
    private readonly unshare: string | undefined,
  ) {}

  get tier(): ContainmentTier {
    return this.report.tier;
  }

  /**
   * Finds the strongest tier that works here (`auto`), or checks the one asked for. Each is tried for real: a
   * cgroup is created, `unshare` runs `true` in a new PID namespace.
   */
  static async detect(setting: ContainmentSetting, pathEnv: string | undefined): Promise<Containment> {
    const unavailable: ContainmentReport['unavailable'] = [];
    if (setting === 'auto' || setting === 'cgroup') {
      const tree = await CgroupTree.open();
      if (tree instanceof CgroupTree)
        return new Containment({ tier: 'cgroup', unavailable }, tree, undefined);
      if (setting === 'cgroup') throw new ContainmentError(`PROCESS_CONTAINMENT=cgroup: ${tree.reason}`);
      unavailable.push({ tier: 'cgroup', reason: tree.reason });
    }
    if (setting === 'auto' || setting === 'pidns') {
      const probe = await probeUnshare(pathEnv);
      if (typeof probe !== 'object') {
        return new Containment({ tier: 'pidns', unavailable }, undefined, probe);
      }
      if (setting === 'pidns') throw new ContainmentError(`PROCESS_CONTAINMENT=pidns: ${probe.reason}`);
      unavailable.push({ tier: 'pidns', reason: probe.reason });
    }
    return new Containment({ tier: 'tracked', unavailable }, undefined, undefined);
  }

  /**
   * Wraps a run's argv. `ownPidNamespace`: the command already gets one (the bubblewrap sandbox), so no
   * `unshare` is added; a cgroup still is.
   */
  async begin(argv: readonly string[], ownPidNamespace: boolean): Promise<ContainedRun> {
    let wrapped = argv;
    if (this.unshare && !ownPidNamespace) {
      wrapped = [
        this.unshare,
        '--pid',
        '--fork',
        '--kill-child',
        '--',
        '/bin/sh',
        '-c',
        NAMESPACE_INIT,
        'sh',
        ...argv,
      ];
    }
    const cgroup: RunCgroup | undefined = this.cgroups ? await this.cgroups.create() : undefined;
    if (cgroup) wrapped = ['/bin/sh', '-c', ENTER_CGROUP, cgroup.procs, ...wrapped];
    let cleaned: Promise<boolean> | undefined;
    return {
      argv: wrapped,
      cleanup: () => (cleaned ??= cgroup ? cgroup.kill() : Promise.resolve(false)),
    };
  }

  /** True when the command runs under an init of ours that reports a death by signal as exit code 128+n. */
  get reportsSignalsAsCodes(): boolean {
    return this.unshare !== undefined;
  }

  /** Removes the gateway's own cgroup directory (at shutdown, once every run has ended). */
  async close(): Promise<void> {
    await this.cgroups?.close();
  }
}

async function probeUnshare(pathEnv: string | undefined): Promise<string | { reason: string }> {
  const unshare = await resolveCommand('unshare', pathEnv ?? '/usr/bin:/bin');
  if (!unshare) return { reason: 'the unshare command (util-linux) was not found' };
  const result = await runProcess({
    argv: [unshare, '--pid', '--fork', '--kill-child', '--', '/bin/sh', '-c', 'exit 0'],
    cwd: '/',
    env: { PATH: pathEnv ?? '/usr/bin:/bin' },
    signal: AbortSignal.timeout(10_000),
    graceMs: 500,
    maxBufferedBytes: 4096,
  });
  if (result.exitCode === 0) return unshare;
  const why =
    result.stderr.trim().split('\n').pop() ?? result.spawnError?.message ?? `exit ${result.exitCode}`;
  return { reason: `unshare --pid cannot run here (${why})` };
}

/** `exitCode` 128+n from a wrapper that reports a signal death that way, as the signal's name. */
export function signalFromExitCode(code: number | null): NodeJS.Signals | undefined {
  if (code === null || code <= 128 || code > 128 + 64) return undefined;
  const n = code - 128;
  const entry = Object.entries(osConstants.signals).find(([, value]) => value === n);
  return entry?.[0] as NodeJS.Signals | undefined;
}
