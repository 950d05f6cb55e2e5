// A real container engine for the container sandbox's tests, or the exact reason there is none. Podman first,
// then docker. The test image is made offline from this machine's own files: node with its libraries, sh, env,
// sleep, setsid, git, and the fake CLIs at their own paths (so a backend's command is where the gateway resolves it),
// imported as an image (`<engine> import`). Nothing is pulled.
//
// Rootful podman on some machines needs settings its defaults lack (crun cannot run with a hybrid cgroup
// hierarchy; the default ulimits are above this process's hard limits): when a trial container fails with the
// defaults, a containers.conf with runc and this process's own limits is tried, passed as CONTAINERS_CONF.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FAKE_CLI_DIR } from './gateway.js';

export interface TestEngine {
  engine: 'podman' | 'docker';
  path: string;
  image: string;
  /** Variables the gateway's environment needs for this engine here (CONTAINERS_CONF), and PATH. */
  env: Record<string, string>;
  /** Removes the image and the temp files. */
  cleanup(): void;
}

const TIMEOUT_MS = 120_000;

function run(
  argv: string[],
  env: Record<string, string>,
  input?: Buffer,
): { ok: boolean; out: string; err: string } {
  const [command, ...args] = argv;
  const r = spawnSync(command ?? '', args, {
    env,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    ...(input ? { input } : {}),
  });
  const err = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  return {
    ok: r.status === 0,
    out: (r.stdout ?? '').trim(),
    err: err || r.error?.message || `exit ${r.status}`,
  };
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir, name);
    if (dir.startsWith('/') && existsSync(p)) return p;
  }
  return undefined;
}

/** Copies `path` into `root` at the same place, with the symlinks on the way (/bin/sh -> dash). */
function copyInto(root: string, path: string): void {
  let current = path;
  for (let hops = 0; hops < 10; hops++) {
    const target = join(root, current);
    if (existsSync(target) || isLink(target)) return;
    mkdirSync(dirname(target), { recursive: true });
    const st = lstatSync(current);
    if (st.isSymbolicLink()) {
      const link = readlinkSync(current);
      symlinkSync(link, target);
      current = link.startsWith('/') ? link : join(dirname(current), link);
      continue;
    }
    copyFileSync(current, target);
    chmodSync(target, st.mode & 0o7777);
    return;
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A root file system with the programs, their shared libraries and the fake CLIs, as a tar stream. */
function rootfsTar(base: string): Buffer | string {
  const root = join(base, 'rootfs');
  mkdirSync(root);
  // The merged-/usr links (/bin -> usr/bin ...) as on this machine, so library paths resolve the same way.
  for (const top of ['bin', 'sbin', 'lib', 'lib64']) {
    if (!isLink(`/${top}`)) continue;
    const link = readlinkSync(`/${top}`);
    mkdirSync(join(root, link.startsWith('/') ? link : join('/', link)), { recursive: true });
    symlinkSync(link, join(root, top));
  }
  const programs = [process.execPath, '/bin/sh', which('env'), which('sleep'), which('setsid'), which('cat')];
  // git too where there is one, for a commit inside a worktree (its builtins are in the one binary).
  const git = which('git');
  for (const program of git ? [...programs, git] : programs) {
    if (!program) return 'a program for the test image is missing (env, sleep, setsid or cat)';
    copyInto(root, program);
    const ldd = spawnSync('ldd', [realpathSync(program)], { encoding: 'utf8', timeout: 10_000 });
    for (const lib of (ldd.stdout ?? '').match(/\/\S+/g) ?? []) {
      if (existsSync(lib)) {
        copyInto(root, lib);
        copyInto(root, realpathSync(lib));
      }
    }
  }
  for (const name of readdirSync(FAKE_CLI_DIR)) copyInto(root, join(FAKE_CLI_DIR, name));
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  const tar = spawnSync('tar', ['-C', root, '-c', '.'], {
    timeout: TIMEOUT_MS,
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (tar.status !== 0) return `tar failed: ${String(tar.stderr)}`;
  return tar.stdout;
}

/** The hard limit of this process for a `/proc/self/limits` row. */
function hardLimit(row: string): string | undefined {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(row));
  return line?.slice(row.length).trim().split(/\s+/)[1];
}

/** Finds an engine that runs containers here, with the test image imported; or says why none does. */
export function findTestEngine(): TestEngine | { reason: string } {
  const reasons: string[] = [];
  for (const engine of ['podman', 'docker'] as const) {
    const path = which(engine);
    if (!path) {
      reasons.push(`${engine}: not installed`);
      continue;
    }
    const base = mkdtempSync(join(tmpdir(), 'a2a-engine-test-'));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/',
    };
    const image = engine === 'podman' ? 'localhost/a2a-sandbox-test:latest' : 'a2a-sandbox-test:latest';
    const fail = (why: string): void => {
      reasons.push(`${engine}: ${why}`);
      rmSync(base, { recursive: true, force: true });
    };
    const info = run([path, 'info', '--format', '{{json .}}'], env);
    if (!info.ok) {
      fail(`${engine} info failed: ${info.err}`);
      continue;
    }
    const tar = rootfsTar(base);
    if (typeof tar === 'string') {
      fail(tar);
      continue;
    }
    // A leftover of an interrupted run would be left untagged (and kept) by the import below.
    run([path, 'rmi', '-f', image], env);
    const imported = run([path, 'import', '-', image], env, tar);
    if (!imported.ok) {
      fail(`${engine} import failed: ${imported.err}`);
      continue;
    }
    const trial = (): { ok: boolean; err: string } =>
      run([path, 'run', '--rm', '--init', '--network', 'none', image, '/bin/sh', '-c', 'exit 0'], env);
    let tried = trial();
    if (!tried.ok && engine === 'podman') {
      const first = tried.err;
      const nofile = hardLimit('Max open files') ?? '1024';
      const conf = join(base, 'containers.conf');
      writeFileSync(
        conf,
        [
          '[containers]',
          `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=4096:4096"]`,
          '[engine]',
          ...(which('runc') ? ['runtime = "runc"'] : []),
          'cgroup_manager = "cgroupfs"',
          '',
        ].join('\n'),
      );
      env.CONTAINERS_CONF = conf;
      tried = trial();
      if (!tried.ok)
        tried = { ok: false, err: `${first}; with runc and this process's limits: ${tried.err}` };
    }
    if (!tried.ok) {
      run([path, 'rmi', '-f', image], env);
      fail(`a trial container did not run: ${tried.err}`);
      continue;
    }
    rmSync(join(base, 'rootfs'), { recursive: true, force: true });
    return {
      engine,
      path,
      image,
      env,
      cleanup: () => {
        run([path, 'rmi', '-f', image], env);
        rmSync(base, { recursive: true, force: true });
      },
    };
  }
  return { reason: reasons.join('; ') };
}

/** The containers of `engine` carrying the task label `task` (any task: ''), running or not. */
export function containersLabelled(e: TestEngine, task: string): string[] {
  const filter = task ? `label=a2a-gateway.task=${task}` : 'label=a2a-gateway.task';
  const r = run([e.path, 'ps', '-a', '-q', '--filter', filter], e.env);
  return r.out ? r.out.split('\n') : [];
}
