import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTAINER_ENGINES, ContainerSandbox, type ContainerEngine } from './container.js';
import { probeContainerEngine, type ContainerReport } from './container-probe.js';
import { parseAllowedHosts, startEgressProxy, type EgressRefusal } from './egress-proxy.js';
import { SandboxError } from './sandbox-error.js';
import { runProcess } from './spawn.js';
import { installDirOf, isInside, realOr, toolPaths, workspaceOf, worktreeGit } from './sandbox-paths.js';
import type { ConfinedRun, Sandbox } from './task-runner.js';
import type { RunOptions } from './types.js';
import { resolveCommand } from './which.js';

/**
 * `auto`: bubblewrap where it can run, else none; `bwrap`: bubblewrap or refuse to start; `off`: none;
 * `docker` / `podman`: each run in a container of `SANDBOX_IMAGE`, or refuse to start.
 */
export type SandboxSetting = 'auto' | 'bwrap' | 'off' | ContainerEngine;

/** What the sandbox must keep from the agent, and where the workspaces live. */
export interface SandboxPolicy {
  /** The gateway's data directory: hidden (an empty tmpfs), except the run's own workspace and home. */
  dataDir: string;
  /** Directories a task workspace sits directly under (`DATA_DIR/worktrees` ...): the workspace is the child of
   *  the one `cwd` is in, so a run started in a subdirectory still gets its whole tree. */
  workspaceParents: readonly string[];
  /** Files the agent must not read (the keys file, the push signing key, the config file): replaced by an empty
   *  file. */
  secretFiles: readonly string[];
  /** More directories to hide (tmpfs) and to bind read-write, for widening or narrowing by configuration. */
  hide?: readonly string[];
  writable?: readonly string[];
  /** `off`: a network namespace of its own with only loopback (the model API on another host is unreachable).
   *  `allowlist`: the same, plus a way out through the gateway's proxy to `allowedHosts` only. */
  network: SandboxNetwork;
  /** For `allowlist`: `host`, `host:port`, `*.domain` (see egress-proxy.ts). */
  allowedHosts?: readonly string[];
  /** Told of each request the proxy refused (the host and port only). */
  onRefused?: (refusal: EgressRefusal) => void;
  /** For `docker` / `podman`: the image (SANDBOX_IMAGE), the engine client's environment, the task limits. */
  container?: {
    image?: string;
    engineEnv: Readonly<Record<string, string>>;
    limits?: { memoryMb?: number; processes?: number };
  };
}

export type SandboxNetwork = 'on' | 'off' | 'allowlist';

/** The port the egress forwarder listens on inside the sandbox's own network namespace (nothing else is there). */
export const EGRESS_PORT = 3128;
/** Where the proxy's unix socket appears inside the sandbox (under the private /run). */
const EGRESS_DIR = '/run/a2a-egress';

/** The forwarder script and the node options it runs with: the built .js, or the .ts source through tsx. */
function forwarderCommand(): { argv: string[]; dirs: string[] } {
  const js = fileURLToPath(new URL('./egress-forwarder.js', import.meta.url));
  if (existsSync(js)) return { argv: [process.execPath, js], dirs: [dirname(js)] };
  const ts = fileURLToPath(new URL('./egress-forwarder.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  return {
    argv: [process.execPath, '--import', tsx, ts],
    dirs: [dirname(ts), installDirOf(fileURLToPath(tsx))],
  };
}

export { SandboxError };

/** What is in force, for the start-up log, `doctor` and `/health?detailed=true`. */
export interface SandboxReport {
  setting: SandboxSetting;
  /** How runs of backends without a setting of their own are confined: `bwrap`, a container engine, or `off`. */
  mode: 'bwrap' | 'off' | ContainerEngine;
  bwrap?: { path: string; version?: string };
  /** When a setting names a container engine: the engine and the image, as probed at start-up. */
  container?: ContainerReport;
  network?: SandboxNetwork;
  /** For network `allowlist`: the hosts runs may reach through the proxy. */
  allowedHosts?: readonly string[];
  /** Why bubblewrap is not used (set when `auto` fell back, or the probe was skipped because it is `off`). */
  reason?: string;
}

/** Directories every sandbox hides behind an empty tmpfs: private temp files, no sockets of other services. */
const PRIVATE_DIRS = ['/tmp', '/run'];

/**
 * The bubblewrap sandbox: the whole filesystem read-only, a private `/tmp` and `/run`, a fresh `/proc` and a
 * minimal `/dev`, the data directory hidden, the run's workspace and private home read-write, the parts of a
 * worktree's repository a commit writes read-write, the secret files replaced by empty ones, in a PID namespace
 * that dies with the run (`--unshare-pid --die-with-parent`).
 *
 * A cancel's SIGTERM goes to the command inside, not to bubblewrap: bubblewrap has no handler for it, and its death
 * would SIGKILL the namespace before the command's grace. The command stays in bubblewrap's process group (no
 * `--new-session`, see {@link BwrapSandbox.baseArgs}), and the runner spares the group's leader, the outer
 * bubblewrap; the inner one is the namespace's init, which the kernel shields from a signal it has no handler for.
 */
export class BwrapSandbox implements Sandbox {
  readonly kind = 'bwrap';
  readonly ownPidNamespace = true;
  readonly reportsSignalsAsCodes = true;
  readonly spareLeaderFromTerm = true;
  // The outer bubblewrap is the group's only process outside the namespace; once it has exited, the namespace's
  // init is dead or dying (--die-with-parent), and the kernel SIGKILLs everything else in the namespace with it.
  readonly leaderEndsGroup = true;
  // The root is bound read-only (--ro-bind / /, submounts too), so the cgroup filesystem is, and a sandboxed process
  // has no capability to remount it (--cap-drop ALL): nothing inside can move itself out of the run's cgroup.
  readonly keepsCgroup = true;

  private readonly allowed: ReturnType<typeof parseAllowedHosts>;

  constructor(
    readonly bwrap: string,
    private readonly policy: SandboxPolicy,
  ) {
    this.allowed = parseAllowedHosts(policy.allowedHosts ?? []);
  }

  async wrap(opts: RunOptions): Promise<ConfinedRun> {
    const args = await this.args(opts);
    if (this.policy.network !== 'allowlist') {
      return {
        argv: [this.bwrap, ...args, '--', ...opts.argv],
        env: { ...opts.env, TMPDIR: '/tmp' },
        dispose: () => Promise.resolve(),
      };
    }
    // The run's own proxy on a unix socket in a private directory, bound into the sandbox read-only (connecting
    // to a socket needs no write access to its file system); the forwarder inside bridges its loopback to it.
    const dir = await mkdtemp(join(tmpdir(), 'a2a-egress-'));
    let proxy;
    try {
      proxy = await startEgressProxy({
        socketPath: join(dir, 'proxy.sock'),
        allowed: this.allowed,
        ...(this.policy.onRefused ? { onRefused: this.policy.onRefused } : {}),
      });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const forwarder = forwarderCommand();
    const hidden = this.hidden();
    const binds: string[] = [];
    for (const d of [installDirOf(process.execPath), ...forwarder.dirs]) {
      if (hidden.some((h) => isInside(d, h))) binds.push('--ro-bind', d, d);
    }
    // Before --chdir and the rest: bubblewrap applies them in order; the binds go last so nothing covers them.
    const chdir = args.lastIndexOf('--chdir');
    args.splice(chdir, 0, ...binds, '--ro-bind', dir, EGRESS_DIR);
    const proxyUrl = `http://127.0.0.1:${EGRESS_PORT}`;
    return {
      argv: [
        this.bwrap,
        ...args,
        '--',
        ...forwarder.argv,
        String(EGRESS_PORT),
        `${EGRESS_DIR}/proxy.sock`,
        '--',
        ...opts.argv,
      ],
      env: {
        ...opts.env,
        TMPDIR: '/tmp',
        HTTPS_PROXY: proxyUrl,
        HTTP_PROXY: proxyUrl,
        https_proxy: proxyUrl,
        http_proxy: proxyUrl,
        NO_PROXY: 'localhost,127.0.0.1',
        no_proxy: 'localhost,127.0.0.1',
      },
      dispose: async () => {
        await proxy.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  /** The bubblewrap options for one run (everything before `--`). */
  async args(opts: RunOptions): Promise<string[]> {
    const { policy } = this;
    const dataDir = realOr(policy.dataDir);
    const cwd = realOr(opts.cwd);
    const workspace = realOr(opts.confine?.workspace ?? workspaceOf(cwd, policy.workspaceParents));
    const homeSetting = opts.confine?.home ?? opts.env.HOME;
    const home = homeSetting ? realOr(homeSetting) : undefined;
    const hidden = this.hidden();
    const isHidden = (p: string): boolean => hidden.some((h) => isInside(p, h));
    const args = this.baseArgs();
    /** What the binds below bring back into view (inside the hidden directories or not). */
    const exposed: string[] = [];
    const bind = (how: '--bind' | '--ro-bind', dir: string): void => {
      args.push(how, dir, dir);
      exposed.push(dir);
    };

    // The programs the run starts, where they live in a hidden directory (a CLI installed under /tmp, say).
    const command = opts.argv[0] ?? '';
    for (const tool of await toolPaths(command, opts.env.PATH)) {
      if (isHidden(tool.dir) && !isInside(tool.dir, dataDir)) bind('--ro-bind', tool.dir);
    }

    const git = await worktreeGit(workspace);
    const gitOutside = git && !isInside(git.commonDir, dataDir) ? git : undefined;
    if (gitOutside && isHidden(gitOutside.commonDir)) bind('--ro-bind', gitOutside.commonDir);
    // After the read-only binds above, which could hold them (a CLI installed beside the data directory).
    args.push(...this.hideArgs());
    if (gitOutside) {
      for (const dir of gitOutside.writable) bind('--bind', dir);
      for (const dir of gitOutside.readOnly) bind('--ro-bind', dir);
    }
    for (const dir of (policy.writable ?? []).map(realOr)) {
      if (existsSync(dir)) bind('--bind', dir);
    }
    // Never the whole filesystem, whatever the run's directory.
    if (workspace !== '/') bind('--bind', workspace);
    // The private config home is the CLI's own (sessions, settings); a home outside the data directory is the
    // gateway user's (`home: inherit`) and stays read-only.
    if (home && home !== workspace && isInside(home, dataDir) && existsSync(home)) {
      bind('--bind', home);
    } else if (home && isHidden(home) && existsSync(home)) {
      bind('--ro-bind', home);
    }
    // After the binds, so that none can bring them back; a file that is hidden and not brought back is left alone.
    for (const file of policy.secretFiles) {
      const real = realOr(file);
      if (isHidden(real) && !exposed.some((dir) => isInside(real, dir))) continue;
      if (existsSync(real) && lstatSync(real).isFile()) args.push('--ro-bind', '/dev/null', real);
    }
    // The hidden directories other than the private temp ones stay empty and read-only: a write there fails
    // rather than vanishing with the run. Not recursive: the workspace and home bound inside stay writable.
    for (const dir of hidden) {
      if (!PRIVATE_DIRS.includes(dir) && existsSync(dir)) args.push('--remount-ro', dir);
    }
    args.push('--chdir', cwd);
    return args;
  }

  private hidden(): string[] {
    return [...PRIVATE_DIRS, realOr(this.policy.dataDir), ...(this.policy.hide ?? []).map(realOr)];
  }

  /** Namespaces, the read-only root, fresh /proc and /dev, private /tmp and /run: what every run gets. */
  baseArgs(): string[] {
    // No --new-session: the command must stay in the process group the runner signals, to get a cancel's SIGTERM
    // and its grace. That option keeps a sandboxed process from pushing input (TIOCSTI) into the controlling
    // terminal of the session that started bubblewrap (CVE-2017-5226), and runs have none: the runner starts each
    // in a session of its own (spawn's `detached`, setsid), with pipes or nothing for stdio. TIOCSTI works on the
    // caller's controlling terminal only, and the one process of that session that could acquire one is its
    // leader, bubblewrap itself; the sandbox's /dev has no terminal of the host (bubblewrap's --dev: a devpts of its
    // own).
    // No capabilities inside: bubblewrap run by root keeps almost all of them for the command, which could then
    // remount the read-only root read-write (and write the caller's repository, the home, DATA_DIR), unmount the
    // private /proc or move itself out of the run's cgroup. Without capabilities, root inside is held by the
    // mounts as any user is (a no-op for a non-root gateway, whose command has none anyway).
    const args = ['--die-with-parent', '--unshare-pid', '--cap-drop', 'ALL'];
    if (this.policy.network !== 'on') args.push('--unshare-net');
    args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
    for (const dir of PRIVATE_DIRS) args.push('--tmpfs', dir);
    // /etc/resolv.conf is often a link into /run (systemd-resolved): name resolution must keep working.
    const resolv = resolvConfTarget();
    if (resolv && PRIVATE_DIRS.some((h) => isInside(resolv, h))) args.push('--ro-bind', resolv, resolv);
    return args;
  }

  /** The data directory and the configured hidden directories, each behind an empty tmpfs. */
  hideArgs(): string[] {
    return this.hidden()
      .filter((dir) => !PRIVATE_DIRS.includes(dir) && existsSync(dir))
      .flatMap((dir) => ['--tmpfs', dir]);
  }
}

function resolvConfTarget(): string | undefined {
  try {
    if (!lstatSync('/etc/resolv.conf').isSymbolicLink()) return undefined;
    return realpathSync('/etc/resolv.conf');
  } catch {
    return undefined;
  }
}

/**
 * The sandboxes of one gateway: bubblewrap probed once at start-up (when any backend may use it), the container
 * engine when a setting names one, and the sandbox for each backend's own setting (the global `SANDBOX` unless
 * the backend names one).
 */
export class Sandboxes {
  private constructor(
    readonly report: SandboxReport,
    private readonly bwrap: BwrapSandbox | undefined,
    private readonly container: ContainerSandbox | undefined,
  ) {}

  /**
   * Probes bubblewrap for real (a confined `true` with the options every run uses) when a setting is `auto` or
   * `bwrap`, and the container engine (see {@link probeContainerEngine}) when one is `docker` or `podman`.
   * Throws {@link SandboxError} when a setting is `bwrap` or an engine and it cannot run.
   */
  static async detect(
    setting: SandboxSetting,
    perBackend: readonly SandboxSetting[],
    policy: SandboxPolicy,
    pathEnv: string | undefined,
  ): Promise<Sandboxes> {
    const settings = [setting, ...perBackend];
    const container = await detectContainer(setting, settings, policy);
    const containerPart = container ? { container: container.report } : {};
    const engine = isContainerSetting(setting) ? setting : undefined;
    if (!settings.some((s) => s === 'auto' || s === 'bwrap')) {
      const mode = engine ?? 'off';
      return new Sandboxes(
        {
          setting,
          mode,
          ...containerPart,
          ...(mode === 'off' ? { reason: 'SANDBOX=off' } : { network: policy.network }),
        },
        undefined,
        container?.sandbox,
      );
    }
    const probe = await probeBwrap(policy, pathEnv);
    if ('reason' in probe) {
      if (settings.includes('bwrap')) {
        throw new SandboxError(`SANDBOX=bwrap, but bubblewrap cannot run here: ${probe.reason}`);
      }
      return new Sandboxes(
        {
          setting,
          mode: engine ?? 'off',
          ...containerPart,
          ...(engine ? { network: policy.network } : {}),
          reason: probe.reason,
        },
        undefined,
        container?.sandbox,
      );
    }
    const sandbox = new BwrapSandbox(probe.path, policy);
    return new Sandboxes(
      {
        setting,
        mode: setting === 'off' ? 'off' : (engine ?? 'bwrap'),
        bwrap: { path: probe.path, ...(probe.version ? { version: probe.version } : {}) },
        ...containerPart,
        network: policy.network,
        ...(policy.network === 'allowlist' ? { allowedHosts: policy.allowedHosts ?? [] } : {}),
        ...(setting === 'off' ? { reason: 'SANDBOX=off' } : {}),
      },
      sandbox,
      container?.sandbox,
    );
  }

  /** The sandbox for a backend: its own setting, else the global one; undefined when it runs unconfined. */
  for(backendSetting: SandboxSetting | undefined): Sandbox | undefined {
    const setting = backendSetting ?? this.report.setting;
    if (setting === 'off') return undefined;
    return isContainerSetting(setting) ? this.container : this.bwrap;
  }

  /** The start-up line: what is confined, or why nothing is. */
  describe(): string {
    const r = this.report;
    const c = r.container;
    const containerText = c
      ? `${c.engine} ${c.version}${c.rootless ? ' (rootless)' : ''}, image ${c.image} (${shortId(c.imageId)})`
      : '';
    if (isContainerSetting(r.mode)) {
      return `sandbox: ${containerText}; each task in a container that sees only its workspace and config home; network ${networkText(r)}`;
    }
    const others = c ? `; backends with sandbox: ${c.engine} run in containers (${containerText})` : '';
    if (r.mode === 'bwrap') {
      return `sandbox: bwrap (${r.bwrap?.version ?? r.bwrap?.path}); agents write only their workspace and config home; network ${networkText(r)}${others}`;
    }
    if (r.setting === 'auto') {
      return `sandbox: OFF, bubblewrap cannot run here (${r.reason}); agents can write anywhere the gateway's user can. Install bubblewrap and allow user namespaces, or set SANDBOX=off to silence this${others}`;
    }
    return `sandbox: off (SANDBOX=off); agents can write anywhere the gateway's user can${others}`;
  }
}

export function isContainerSetting(s: string | undefined): s is ContainerEngine {
  return (CONTAINER_ENGINES as readonly string[]).includes(s ?? '');
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** Probes the one container engine the settings name, if any; throws when it cannot run task containers. */
async function detectContainer(
  setting: SandboxSetting,
  settings: readonly SandboxSetting[],
  policy: SandboxPolicy,
): Promise<{ report: ContainerReport; sandbox: ContainerSandbox } | undefined> {
  const engines = [...new Set(settings.filter(isContainerSetting))];
  const engine = engines[0];
  if (!engine) return undefined;
  const where = setting === engine ? `SANDBOX=${engine}` : `a backend's sandbox: ${engine}`;
  const remedy =
    setting === engine
      ? `install and start ${engine} and build the image, or set SANDBOX to bwrap, auto or off`
      : `install and start ${engine} and build the image, or give that backend another sandbox`;
  if (engines.length > 1) {
    throw new SandboxError(
      `SANDBOX: one gateway runs containers with one engine, not ${engines.join(' and ')}`,
      remedy,
    );
  }
  const image = policy.container?.image;
  if (!image)
    throw new SandboxError(
      `${where} needs SANDBOX_IMAGE (the image each task's container starts from)`,
      remedy,
    );
  if (policy.network === 'allowlist') {
    throw new SandboxError(
      `${where}: SANDBOX_NETWORK=allowlist is not supported with containers; use on or off, or SANDBOX=bwrap`,
      remedy,
    );
  }
  const probe = await probeContainerEngine({
    engine,
    image,
    engineEnv: policy.container?.engineEnv ?? {},
    network: policy.network,
  });
  if ('reason' in probe)
    throw new SandboxError(
      `${where}, but ${engine} cannot run task containers here: ${probe.reason}`,
      remedy,
    );
  const sandbox = new ContainerSandbox({
    ...probe.settings,
    dataDir: policy.dataDir,
    workspaceParents: policy.workspaceParents,
    secretFiles: policy.secretFiles,
    ...(policy.writable ? { writable: policy.writable } : {}),
    ...(policy.container?.limits ? { limits: policy.container.limits } : {}),
  });
  return { report: probe.report, sandbox };
}

/** `on`, `off`, or `allowlist (a.example.com, b.example.com:443)` for the start-up line and `doctor`. */
export function networkText(r: SandboxReport): string {
  if (isContainerSetting(r.mode)) return r.network === 'off' ? 'off (--network none)' : 'on (--network host)';
  if (r.network !== 'allowlist') return r.network ?? 'on';
  const hosts = r.allowedHosts ?? [];
  return `allowlist (${hosts.length ? hosts.join(', ') : 'no hosts: loopback only'})`;
}

async function probeBwrap(
  policy: SandboxPolicy,
  pathEnv: string | undefined,
): Promise<{ path: string; version?: string } | { reason: string }> {
  const path = await resolveCommand('bwrap', pathEnv ?? '/usr/bin:/bin');
  if (!path) return { reason: 'the bwrap command (bubblewrap) was not found on PATH' };
  const sandbox = new BwrapSandbox(path, policy);
  const args = [...sandbox.baseArgs(), ...sandbox.hideArgs()];
  const result = await runProcess({
    argv: [path, ...args, '--chdir', '/', '--', '/bin/sh', '-c', 'exit 0'],
    cwd: '/',
    env: { PATH: pathEnv ?? '/usr/bin:/bin' },
    signal: AbortSignal.timeout(10_000),
    graceMs: 500,
    maxBufferedBytes: 4096,
  });
  if (result.exitCode !== 0) {
    const why =
      result.stderr.trim().split('\n').pop() || result.spawnError?.message || `exit ${result.exitCode}`;
    return { reason: `bwrap failed (${why})` };
  }
  const version = await runProcess({
    argv: [path, '--version'],
    cwd: '/',
    env: { PATH: pathEnv ?? '/usr/bin:/bin' },
    signal: AbortSignal.timeout(5000),
    graceMs: 500,
    maxBufferedBytes: 4096,
  });
  const v = version.stdout.trim();
  return v ? { path, version: v } : { path };
}

/** The policy from the gateway's settings: where the workspaces live under the data directory, what to hide. */
export function sandboxPolicy(
  config: {
    dataDir: string;
    sandbox: {
      network: SandboxNetwork;
      allowedHosts?: readonly string[];
      writable: readonly string[];
      hide: readonly string[];
      secretFiles: readonly string[];
      image?: string | undefined;
      engineEnv?: Readonly<Record<string, string>>;
    };
    taskLimits?: { memoryMb?: number; processes?: number };
  },
  log?: { warn(obj: object, msg: string): void },
): SandboxPolicy {
  const { dataDir, sandbox } = config;
  return {
    dataDir,
    // The layout of service/workspaces.ts and service/conversations.ts: one directory per task or conversation.
    workspaceParents: ['worktrees', 'copies', 'scratch'].map((d) => join(dataDir, d)),
    secretFiles: sandbox.secretFiles,
    hide: sandbox.hide,
    writable: sandbox.writable,
    network: sandbox.network,
    ...(sandbox.network === 'allowlist' ? { allowedHosts: sandbox.allowedHosts ?? [] } : {}),
    container: {
      ...(sandbox.image ? { image: sandbox.image } : {}),
      engineEnv: sandbox.engineEnv ?? {},
      ...(config.taskLimits ? { limits: config.taskLimits } : {}),
    },
    ...(log
      ? {
          onRefused: (r: EgressRefusal) =>
            log.warn(
              { host: r.host, port: r.port },
              'sandbox: refused a connection to a host not in SANDBOX_ALLOWED_HOSTS',
            ),
        }
      : {}),
  };
}
