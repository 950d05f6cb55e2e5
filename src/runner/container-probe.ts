import {
  containerName,
  containerRunArgv,
  mayOutlive,
  removeContainer,
  type ContainerEngine,
  type ContainerPolicy,
} from './container.js';
import { runProcess } from './spawn.js';
import type { RunResult } from './types.js';
import { resolveCommand } from './which.js';

/** What the start-up probe found: the engine, and the image it runs tasks in. */
export interface ContainerReport {
  engine: ContainerEngine;
  path: string;
  /** The engine's (server's) version. */
  version: string;
  rootless: boolean;
  image: string;
  /** The image's id as the engine has it. */
  imageId: string;
  /** Where the image has node and git (absent: not on the image's PATH). */
  node?: string;
  git?: string;
}

/** The settings a probe finds; the gateway adds where the workspaces and secrets are. */
export type EngineSettings = Pick<
  ContainerPolicy,
  'engine' | 'enginePath' | 'image' | 'engineEnv' | 'network' | 'user'
>;

/**
 * Checks, for real, that the engine can run task containers here: its client is on PATH, `info` answers, the
 * image is among its local images (never pulled), and a trial container with the options every run uses starts.
 */
export async function probeContainerEngine(opts: {
  engine: ContainerEngine;
  image: string;
  engineEnv: Readonly<Record<string, string>>;
  network: 'on' | 'off';
}): Promise<{ report: ContainerReport; settings: EngineSettings } | { reason: string }> {
  const { engine, image, engineEnv } = opts;
  const path = await resolveCommand(engine, engineEnv.PATH ?? '/usr/bin:/bin');
  if (!path) return { reason: `the ${engine} command was not found on PATH` };
  const run = (args: string[], timeoutMs: number): Promise<RunResult> =>
    runProcess({
      argv: [path, ...args],
      cwd: '/',
      env: { ...engineEnv },
      signal: AbortSignal.timeout(timeoutMs),
      graceMs: 1000,
      maxBufferedBytes: 64 * 1024,
    });
  const why = (r: RunResult): string =>
    r.aborted
      ? 'no answer in time'
      : r.stderr.trim().split('\n').pop() || r.spawnError?.message || `exit ${r.exitCode}`;

  const infoFormat =
    engine === 'podman'
      ? '{{.Version.Version}} {{.Host.Security.Rootless}}'
      : '{{.ServerVersion}} {{json .SecurityOptions}}';
  const info = await run(['info', '--format', infoFormat], 30_000);
  if (info.exitCode !== 0) return { reason: `${engine} info failed (${why(info)})` };
  const [version = '', ...rest] = info.stdout.trim().split(' ');
  const rootless = engine === 'podman' ? rest[0] === 'true' : rest.join(' ').includes('name=rootless');

  const inspect = await run(['image', 'inspect', '--format', '{{.Id}}', image], 30_000);
  if (inspect.exitCode !== 0) {
    return {
      reason: `the image ${image} (SANDBOX_IMAGE) is not among ${engine}'s local images, and the gateway never pulls one: build it (docs/sandbox.md) or \`${engine} pull ${image}\` first (${why(inspect)})`,
    };
  }
  const imageId = inspect.stdout.trim();

  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const settings: EngineSettings = {
    engine,
    enginePath: path,
    image,
    engineEnv,
    network: opts.network,
    user: {
      uid,
      gid,
      mapping: !rootless ? 'uid' : engine === 'podman' ? 'keep-id' : 'root',
    },
  };
  const trialPolicy: ContainerPolicy = {
    ...settings,
    network: 'off',
    dataDir: '/nonexistent',
    workspaceParents: [],
    secretFiles: [],
  };
  const name = containerName('probe');
  const trial = await run(
    containerRunArgv(trialPolicy, {
      name,
      task: 'probe',
      cwd: '/',
      mounts: [],
      command: ['/bin/sh', '-c', 'for p in node git; do echo "$p=$(command -v $p)"; done'],
    }).slice(1),
    60_000,
  );
  if (mayOutlive(trial)) await removeContainer(trialPolicy, name);
  if (trial.exitCode !== 0) {
    return { reason: `a trial container of ${image} did not run (${why(trial)})` };
  }
  const found = (name: string): string | undefined =>
    new RegExp(`^${name}=(/\\S+)$`, 'm').exec(trial.stdout)?.[1];
  const node = found('node');
  const git = found('git');
  return {
    report: {
      engine,
      path,
      version,
      rootless,
      image,
      imageId,
      ...(node ? { node } : {}),
      ...(git ? { git } : {}),
    },
    settings,
  };
}

/**
 * Which of `paths` are executable files inside the image (for `doctor`: a backend's command must be there at the
 * path the gateway resolves). One trial container, no network, no mounts; undefined when it did not run.
 */
export async function imageHas(
  policy: ContainerPolicy,
  paths: readonly string[],
): Promise<Map<string, boolean> | undefined> {
  const name = containerName('doctor');
  const trial: ContainerPolicy = { ...policy, network: 'off' };
  const result = await runProcess({
    argv: containerRunArgv(trial, {
      name,
      task: 'doctor',
      cwd: '/',
      mounts: [],
      command: [
        '/bin/sh',
        '-c',
        'for p; do if [ -f "$p" ] && [ -x "$p" ]; then echo "yes $p"; fi; done',
        'sh',
        ...paths,
      ],
    }),
    cwd: '/',
    env: { ...policy.engineEnv },
    signal: AbortSignal.timeout(60_000),
    graceMs: 1000,
    maxBufferedBytes: 64 * 1024,
  });
  if (mayOutlive(result)) await removeContainer(trial, name);
  if (result.exitCode !== 0) return undefined;
  const present = new Set(
    result.stdout.split('\n').flatMap((l) => (l.startsWith('yes ') ? [l.slice(4)] : [])),
  );
  return new Map(paths.map((p) => [p, present.has(p)]));
}
