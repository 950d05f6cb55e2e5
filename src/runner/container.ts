import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { SandboxError } from './sandbox-error.js';
import { isInside, realOr, workspaceOf, worktreeGit } from './sandbox-paths.js';
import { runProcess } from './spawn.js';
import type { ConfinedRun, Sandbox } from './task-runner.js';
import type { RunOptions, RunResult } from './types.js';

export const CONTAINER_ENGINES = ['docker', 'podman'] as const;
export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

/** An image reference as the engines take it, and nothing an engine could read as an option (`--privileged`). */
export const IMAGE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/;

/**
 * Variables of the gateway's own environment the engine's client needs to find its daemon, its storage and its
 * configuration. They reach the client only: the container gets the child's allowlisted environment, by file.
 */
export const ENGINE_ENV_ALLOWLIST: readonly string[] = Object.freeze([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_*',
  'TZ',
  'TMPDIR',
  'XDG_RUNTIME_DIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'DBUS_SESSION_BUS_ADDRESS',
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
  'DOCKER_API_VERSION',
  'CONTAINER_HOST',
  'CONTAINER_CONNECTION',
  'CONTAINER_SSHKEY',
  'CONTAINERS_CONF',
  'CONTAINERS_STORAGE_CONF',
  'CONTAINERS_REGISTRIES_CONF',
  'REGISTRY_AUTH_FILE',
]);

/** The engine client's environment, picked from the gateway's (config/ passes it in). */
export function engineEnvFrom(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const allowed = ENGINE_ENV_ALLOWLIST.some((p) =>
      p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p,
    );
    if (allowed) out[name] = value;
  }
  return out;
}

/** How the gateway's user is mapped into the container, so files written in the workspace are its own. */
export type UserMapping =
  /** `--user uid:gid`: a rootful engine, where ids inside are the host's. */
  | 'uid'
  /** `--userns=keep-id --user uid:gid`: rootless podman, whose own user namespace would map uid to a sub-id. */
  | 'keep-id'
  /** `--user 0:0`: rootless docker, where the container's root is the gateway's user on the host. */
  | 'root';

/** What the container sandbox needs to know, found at start-up. */
export interface ContainerPolicy {
  engine: ContainerEngine;
  /** The engine's client program, resolved on PATH. */
  enginePath: string;
  image: string;
  /** The engine client's own environment (see {@link ENGINE_ENV_ALLOWLIST}). */
  engineEnv: Readonly<Record<string, string>>;
  dataDir: string;
  workspaceParents: readonly string[];
  secretFiles: readonly string[];
  /** More directories mounted read-write (SANDBOX_WRITABLE). */
  writable?: readonly string[];
  /** `on`: the host's network (`--network host`); `off`: none at all (`--network none`). */
  network: 'on' | 'off';
  user: { uid: number; gid: number; mapping: UserMapping };
  /** TASK_MAX_MEMORY_MB and TASK_MAX_PROCESSES, as the container's own limits. */
  limits?: { memoryMb?: number; processes?: number };
}

export interface ContainerMount {
  source: string;
  target: string;
  readonly: boolean;
}

/** One run's container: what `containerRunArgv` turns into the engine's command line. */
export interface ContainerRunSpec {
  name: string;
  /** Label value for `a2a-gateway.task`, so an operator can list the gateway's containers. */
  task: string;
  cwd: string;
  mounts: readonly ContainerMount[];
  /** The 0600 file holding the child's environment (`--env-file`); absent: none. */
  envFile?: string;
  /** Variables the container takes by name from the client's environment (`-e NAME`, never a value). */
  inherit?: readonly string[];
  command: readonly string[];
}

/** The label every task container carries. */
export const TASK_LABEL = 'a2a-gateway.task';
/** Where the container's private temp directory is (a tmpfs), and the child's TMPDIR. */
const CONTAINER_TMP = '/tmp';

/**
 * The engine's command line for one run, an argv array (never a shell string). Security first: the image's root
 * file system read-only, no capabilities, no privilege gain, an init that reaps and forwards signals, the
 * gateway's uid and gid, and only the given mounts.
 */
export function containerRunArgv(policy: ContainerPolicy, spec: ContainerRunSpec): string[] {
  const { uid, gid, mapping } = policy.user;
  const args = [policy.enginePath, 'run', '--rm', '-i', '--init', '--name', spec.name];
  args.push('--label', `${TASK_LABEL}=${spec.task}`);
  if (mapping === 'keep-id') args.push('--userns=keep-id');
  args.push('--user', mapping === 'root' ? '0:0' : `${uid}:${gid}`);
  args.push('--read-only', '--tmpfs', `${CONTAINER_TMP}:rw,exec,nosuid,nodev,mode=1777`);
  // podman's --read-only also puts a writable tmpfs on /var/tmp, /run and /tmp; only /tmp, as with docker, so that a
  // write to /var/tmp/<the caller's path> fails rather than seeming to work.
  if (policy.engine === 'podman') args.push('--read-only-tmpfs=false');
  args.push('--cap-drop', 'ALL', '--security-opt', 'no-new-privileges');
  args.push('--network', policy.network === 'on' ? 'host' : 'none');
  if (policy.limits?.memoryMb) args.push('--memory', `${policy.limits.memoryMb}m`);
  if (policy.limits?.processes) args.push('--pids-limit', String(policy.limits.processes));
  if (spec.envFile) args.push('--env-file', spec.envFile);
  for (const name of spec.inherit ?? []) args.push('-e', name);
  for (const m of spec.mounts) args.push('--mount', mountSpec(m));
  // Never anything an engine could read as an option where the image goes (the config checks this too).
  if (!IMAGE_PATTERN.test(policy.image)) throw new SandboxError(`not an image reference: ${policy.image}`);
  // The image's own entrypoint (node's docker-entrypoint.sh, say) would run first and could rewrite the command.
  args.push('--workdir', spec.cwd, '--entrypoint', '', policy.image, ...spec.command);
  return args;
}

function mountSpec(m: ContainerMount): string {
  for (const path of [m.source, m.target]) {
    // `--mount` is a comma-separated (CSV) list: these would change its meaning.
    if (/[,"\n\r]/.test(path)) {
      throw new SandboxError(`cannot mount ${JSON.stringify(path)}: a comma, quote or newline in a path`);
    }
  }
  return `type=bind,source=${m.source},target=${m.target}${m.readonly ? ',readonly=true' : ''}`;
}

/** The runner's label (the task id) as a container name and label value can hold it. */
export function taskOf(label: string): string {
  return label.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 48) || 'run';
}

/** A container name for a run: `a2a-<task>-<random>` (a task may run several processes, even at once). */
export function containerName(label: string): string {
  return `a2a-${taskOf(label)}-${randomBytes(4).toString('hex')}`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The child's environment split into the env file's lines (`NAME=value`, which cannot hold a newline) and the
 * names whose values can only travel by inheritance from the client's environment (`-e NAME`). PATH is the
 * image's own: the programs are the image's. TMPDIR is the container's private /tmp.
 */
export function splitChildEnv(
  env: Readonly<Record<string, string>>,
  engineEnv: Readonly<Record<string, string>>,
): { file: string; inherit: Record<string, string> } {
  const lines: string[] = [];
  const inherit: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...env, TMPDIR: CONTAINER_TMP })) {
    if (name === 'PATH') continue;
    if (!ENV_NAME.test(name)) {
      throw new SandboxError(
        `cannot pass the variable ${JSON.stringify(name)} into a container: not a portable name`,
      );
    }
    if (!/[\n\r]/.test(value)) {
      lines.push(`${name}=${value}`);
    } else if (name in engineEnv) {
      throw new SandboxError(
        `cannot pass ${name} into the container: its value has a line break and the engine's client needs its own ${name}`,
      );
    } else {
      inherit[name] = value;
    }
  }
  return { file: lines.length ? `${lines.join('\n')}\n` : '', inherit };
}

/** How long, and how many tries, removing a container may take before the run gives up on it. */
const REMOVE_TIMEOUT_MS = 15_000;
const REMOVE_ATTEMPTS = 6;

/**
 * The container sandbox: each run in a fresh container of `SANDBOX_IMAGE` that sees the task's workspace and
 * config home (read-write, at the same paths), the parts of a worktree's repository a commit needs, and nothing
 * else of the host: not DATA_DIR, not the keys file, not other workspaces. The programs (the CLI, node, git, sh)
 * are the image's. A cancel reaches the CLI through the engine client's signal proxy; when the run is over, a
 * container still there (its client killed) is removed by name.
 */
export class ContainerSandbox implements Sandbox {
  readonly ownPidNamespace = true;
  readonly reportsSignalsAsCodes = true;
  readonly appliesLimits = true;

  constructor(readonly policy: ContainerPolicy) {}

  get kind(): ContainerEngine {
    return this.policy.engine;
  }

  async wrap(opts: RunOptions, label: string): Promise<ConfinedRun> {
    const { policy } = this;
    const mounts = await this.mounts(opts);
    const { file, inherit } = splitChildEnv(opts.env, policy.engineEnv);
    const name = containerName(label);
    // A private directory (0700) for the env file (0600), gone when the run is.
    const dir = await mkdtemp(join(tmpdir(), 'a2a-container-'));
    const envFile = join(dir, 'env');
    let argv: string[];
    try {
      argv = containerRunArgv(policy, {
        name,
        task: taskOf(label),
        cwd: realOr(opts.cwd),
        mounts,
        envFile,
        inherit: Object.keys(inherit),
        command: opts.argv,
      });
      await writeFile(envFile, file, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      argv,
      // The client's own environment, the values it passes on by name, and the run's marker (which the
      // container also gets, from the file), so that a sweep finds every process of the run.
      env: { ...policy.engineEnv, ...inherit, ...markerOf(opts.env) },
      dispose: async (result?: RunResult) => {
        try {
          if (mayOutlive(result)) await removeContainer(policy, name);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  }

  /** The bind mounts of one run (see the class comment). Throws when the workspace would expose DATA_DIR. */
  async mounts(opts: RunOptions): Promise<ContainerMount[]> {
    const { policy } = this;
    const dataDir = realOr(policy.dataDir);
    const cwd = realOr(opts.cwd);
    const workspace = realOr(opts.confine?.workspace ?? workspaceOf(cwd, policy.workspaceParents));
    if (workspace === '/' || isInside(dataDir, workspace)) {
      throw new SandboxError(
        `will not mount ${workspace} into the container: it holds DATA_DIR (${dataDir}) or is the root directory`,
        'run tasks in a workspace under WORKSPACE_ROOTS or DATA_DIR',
      );
    }
    if (!isInside(cwd, workspace)) {
      throw new SandboxError(
        `the run's directory ${cwd} is outside its workspace ${workspace}`,
        'run tasks in their workspace',
      );
    }
    const mounts: ContainerMount[] = [];
    const bind = (dir: string, readonly: boolean): void => {
      mounts.push({ source: dir, target: dir, readonly });
    };
    bind(workspace, false);
    const homeSetting = opts.confine?.home ?? opts.env.HOME;
    const home = homeSetting ? realOr(homeSetting) : undefined;
    // The per-context home only: a home outside DATA_DIR is the gateway user's (`home: inherit`), never mounted.
    if (home && isInside(home, dataDir) && !isInside(home, workspace) && existsSync(home)) bind(home, false);
    const git = await worktreeGit(workspace);
    if (git && !isInside(git.commonDir, dataDir)) {
      bind(git.commonDir, true);
      for (const dir of git.writable) bind(dir, false);
      for (const dir of git.readOnly) bind(dir, true);
    }
    for (const dir of (policy.writable ?? []).map(realOr)) {
      if (existsSync(dir) && !isInside(dataDir, dir)) bind(dir, false);
    }
    // A secret file that happens to sit inside a mounted directory is covered by an empty one.
    for (const file of policy.secretFiles.map(realOr)) {
      const exposed = mounts.some((m) => isInside(file, m.source));
      if (exposed && existsSync(file) && lstatSync(file).isFile()) {
        mounts.push({ source: '/dev/null', target: file, readonly: true });
      }
    }
    // Parents before what is mounted inside them (the engines sort too; this keeps the command line readable).
    return mounts.sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  }
}

function markerOf(env: Readonly<Record<string, string>>): Record<string, string> {
  const marker = env.A2A_GATEWAY_RUN;
  return marker ? { A2A_GATEWAY_RUN: marker } : {};
}

/**
 * Whether the container may still be there when its client is gone: the client was killed (a cancel past the
 * grace, a crash), it failed as an engine error (125: the container may exist but never ran), or the run threw.
 * A client that exited with the container's status saw the container end and removed it (`--rm`).
 */
export function mayOutlive(result: RunResult | undefined): boolean {
  if (!result) return true;
  if (result.spawnError) return false;
  return result.aborted || result.exitCode === null || result.exitCode === 125;
}

/**
 * Removes a container by name, bounded; an engine that no longer knows it is fine. Retried: just after its
 * processes were killed (by the runner's sweep) podman may still hold it as "stopping" and refuse for a moment.
 */
export async function removeContainer(
  policy: Pick<ContainerPolicy, 'engine' | 'enginePath' | 'engineEnv'>,
  name: string,
): Promise<boolean> {
  // podman's `rm -f` stops with SIGTERM and waits 10 s first; `-t 0` kills at once, as docker's does.
  const argv =
    policy.engine === 'podman'
      ? [policy.enginePath, 'rm', '-f', '-t', '0', name]
      : [policy.enginePath, 'rm', '-f', name];
  const deadline = performance.now() + REMOVE_TIMEOUT_MS;
  for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    const r = await runProcess({
      argv,
      cwd: '/',
      env: { ...policy.engineEnv },
      signal: AbortSignal.timeout(Math.ceil(left)),
      graceMs: 1000,
      maxBufferedBytes: 4096,
    });
    if (r.exitCode === 0 || /no such container/i.test(r.stderr)) return true;
    await delay(Math.min(200 * 2 ** attempt, 2000));
  }
  return false;
}
