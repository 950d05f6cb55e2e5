// The container sandbox's command line, built for real from real directories (no engine needed): the exact mounts
// (the workspace and the per-context home read-write at their own paths, a worktree's repository parts, never
// DATA_DIR or another workspace), the child's environment by file (0600) or by name, never a value on the command
// line, the network flags, the user, and what it refuses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ContainerSandbox,
  containerRunArgv,
  engineEnvFrom,
  splitChildEnv,
  type ContainerPolicy,
} from '../../src/runner/container.js';
import { Containment } from '../../src/runner/containment.js';
import { ProcessRegistry } from '../../src/runner/registry.js';
import { SandboxError } from '../../src/runner/sandbox-error.js';
import { createTaskRunner } from '../../src/runner/task-runner.js';
import type { RunOptions } from '../../src/runner/types.js';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'a2a-container-unit-')));
after(() => rmSync(base, { recursive: true, force: true }));

const dataDir = join(base, 'data');
const workspace = join(dataDir, 'worktrees', 'task1');
const other = join(dataDir, 'worktrees', 'task2');
const home = join(dataDir, 'homes', 'ctx1');
const keysFile = join(base, 'keys.yaml');
for (const dir of [workspace, other, home]) mkdirSync(dir, { recursive: true });
writeFileSync(keysFile, 'keys: []\n');

function policy(over: Partial<ContainerPolicy> = {}): ContainerPolicy {
  return {
    engine: 'podman',
    enginePath: '/usr/bin/podman',
    image: 'a2a-sandbox:test',
    engineEnv: { PATH: '/usr/bin:/bin', HOME: '/root', CONTAINERS_CONF: '/etc/c.conf' },
    dataDir,
    workspaceParents: ['worktrees', 'copies', 'scratch'].map((d) => join(dataDir, d)),
    secretFiles: [keysFile],
    network: 'on',
    user: { uid: 1234, gid: 5678, mapping: 'uid' },
    ...over,
  };
}

function runOptions(over: Partial<RunOptions> = {}): RunOptions {
  return {
    argv: ['/usr/local/bin/claude', '-p', 'fix it'],
    cwd: workspace,
    env: {
      PATH: '/usr/local/bin:/usr/bin',
      HOME: home,
      ANTHROPIC_API_KEY: 'sk-secret-value',
      A2A_GATEWAY_RUN: 'marker-1',
    },
    ...over,
  };
}

/** The values of every `flag value` pair in an argv. */
function values(argv: readonly string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? ''] : []));
}

describe('container sandbox: the engine command line', () => {
  test('mounts the workspace and the per-context home read-write at their paths, and nothing else', async () => {
    const sandbox = new ContainerSandbox(policy());
    const confined = await sandbox.wrap(runOptions(), 'task-1');
    try {
      const argv = confined.argv;
      assert.deepEqual(values(argv, '--mount'), [
        `type=bind,source=${workspace},target=${workspace}`,
        `type=bind,source=${home},target=${home}`,
      ]);
      for (const arg of argv) {
        assert.ok(!arg.includes(`source=${dataDir},`), `DATA_DIR mounted: ${arg}`);
        assert.ok(!arg.includes(other), `another workspace mounted: ${arg}`);
        assert.ok(!arg.includes(keysFile), `the keys file mounted: ${arg}`);
      }
      // The command after the image, as given; options before it.
      const image = argv.indexOf('a2a-sandbox:test');
      assert.deepEqual(argv.slice(image + 1), ['/usr/local/bin/claude', '-p', 'fix it']);
      assert.deepEqual(argv.slice(0, 7), [
        '/usr/bin/podman',
        'run',
        '--rm',
        '-i',
        '--init',
        '--name',
        argv[6],
      ]);
      assert.match(argv[6] ?? '', /^a2a-task-1-[0-9a-f]{8}$/);
      assert.deepEqual(values(argv, '--workdir'), [workspace]);
      assert.deepEqual(values(argv, '--user'), ['1234:5678']);
      assert.deepEqual(values(argv, '--entrypoint'), ['']);
      assert.deepEqual(values(argv, '--cap-drop'), ['ALL']);
      assert.deepEqual(values(argv, '--security-opt'), ['no-new-privileges']);
      assert.ok(argv.includes('--read-only'));
      assert.ok(
        argv.includes('--read-only-tmpfs=false'),
        'podman: only /tmp writable, not /var/tmp and /run',
      );
      assert.deepEqual(values(argv, '--tmpfs'), ['/tmp:rw,exec,nosuid,nodev,mode=1777']);
      assert.deepEqual(values(argv, '--label'), ['a2a-gateway.task=task-1']);
    } finally {
      await confined.dispose();
    }
  });

  test('the environment goes by a 0600 file; no value is on the command line; the client keeps its own', async () => {
    const sandbox = new ContainerSandbox(policy());
    const confined = await sandbox.wrap(runOptions(), 'task-1');
    const [envFile] = values(confined.argv, '--env-file');
    assert.ok(envFile);
    try {
      assert.equal(statSync(envFile).mode & 0o777, 0o600);
      const lines = readFileSync(envFile, 'utf8').trim().split('\n').sort();
      // PATH is the image's own; TMPDIR the container's private /tmp.
      assert.deepEqual(lines, [
        'A2A_GATEWAY_RUN=marker-1',
        'ANTHROPIC_API_KEY=sk-secret-value',
        `HOME=${home}`,
        'TMPDIR=/tmp',
      ]);
      assert.ok(!confined.argv.join('\n').includes('sk-secret-value'), 'a secret on the command line');
      assert.deepEqual(values(confined.argv, '-e'), []);
      // The engine client runs with its own environment (and the run's marker), not the child's secrets.
      assert.deepEqual(confined.env, {
        PATH: '/usr/bin:/bin',
        HOME: '/root',
        CONTAINERS_CONF: '/etc/c.conf',
        A2A_GATEWAY_RUN: 'marker-1',
      });
    } finally {
      await confined.dispose();
    }
    assert.equal(existsSync(envFile), false, 'the env file outlived the run');
  });

  test('a value with a line break goes by name (-e NAME) from the client environment, never by value', () => {
    const split = splitChildEnv({ NOTE: 'first-line\nsecond-line', PLAIN: 'x' }, { PATH: '/bin' });
    assert.equal(split.file, 'PLAIN=x\nTMPDIR=/tmp\n');
    assert.deepEqual(split.inherit, { NOTE: 'first-line\nsecond-line' });
    const argv = containerRunArgv(policy(), {
      name: 'a2a-t',
      task: 't',
      cwd: workspace,
      mounts: [],
      inherit: Object.keys(split.inherit),
      command: ['true'],
    });
    assert.deepEqual(values(argv, '-e'), ['NOTE']);
    assert.ok(!argv.join(' ').includes('first-line'));
    // One the client needs for itself cannot be passed that way: refused, named.
    assert.throws(
      () => splitChildEnv({ HOME: 'a\nb' }, { HOME: '/root' }),
      (e: unknown) => e instanceof SandboxError && /HOME/.test(e.message),
    );
  });

  test('network: on is the host network, off is none; limits become the container own', () => {
    const spec = { name: 'a2a-t', task: 't', cwd: workspace, mounts: [], command: ['true'] };
    assert.deepEqual(values(containerRunArgv(policy({ network: 'on' }), spec), '--network'), ['host']);
    assert.deepEqual(values(containerRunArgv(policy({ network: 'off' }), spec), '--network'), ['none']);
    const limited = containerRunArgv(policy({ limits: { memoryMb: 512, processes: 64 } }), spec);
    assert.deepEqual(values(limited, '--memory'), ['512m']);
    assert.deepEqual(values(limited, '--pids-limit'), ['64']);
  });

  test('rootless podman keeps the user id (keep-id); rootless docker runs as the container root', () => {
    const spec = { name: 'a2a-t', task: 't', cwd: workspace, mounts: [], command: ['true'] };
    const podman = containerRunArgv(policy({ user: { uid: 1000, gid: 1000, mapping: 'keep-id' } }), spec);
    assert.ok(podman.includes('--userns=keep-id'));
    assert.deepEqual(values(podman, '--user'), ['1000:1000']);
    const docker = containerRunArgv(
      policy({
        engine: 'docker',
        enginePath: '/usr/bin/docker',
        user: { uid: 1000, gid: 1000, mapping: 'root' },
      }),
      spec,
    );
    assert.deepEqual(values(docker, '--user'), ['0:0']);
    assert.equal(docker[0], '/usr/bin/docker');
  });

  test("a git worktree: its admin dir, objects and branch refs read-write, the rest of the repository's .git read-only", async () => {
    const repo = join(base, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]): string =>
      execFileSync('git', ['-C', repo, ...args], {
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
        },
      });
    writeFileSync(join(repo, 'README.md'), '# x\n');
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'initial');
    git('gc', '-q');
    const tree = join(dataDir, 'worktrees', 'wt1');
    git('worktree', 'add', '-q', '-b', 'a2a/code/x1', tree);
    const mounts = await new ContainerSandbox(policy()).mounts(runOptions({ cwd: join(tree) }));
    const dotGit = join(repo, '.git');
    assert.deepEqual(
      mounts.map((m) => `${m.readonly ? 'ro' : 'rw'} ${m.source}`).sort(),
      [
        `ro ${dotGit}`,
        `ro ${dotGit}/objects/info`,
        `ro ${dotGit}/objects/pack`,
        `rw ${dotGit}/logs/refs/heads/a2a/code`,
        `rw ${dotGit}/objects`,
        `rw ${dotGit}/refs/heads/a2a/code`,
        `rw ${dotGit}/worktrees/wt1`,
        `rw ${home}`,
        `rw ${tree}`,
      ].sort(),
    );
    // The caller's working tree itself is not there.
    assert.ok(!mounts.some((m) => m.source === repo));
  });

  test('a secret file inside a mounted directory is covered by an empty one; SANDBOX_WRITABLE is mounted', async () => {
    const secret = join(workspace, 'keys.yaml');
    writeFileSync(secret, 'x');
    const cache = join(base, 'cache');
    mkdirSync(cache);
    try {
      const mounts = await new ContainerSandbox(policy({ secretFiles: [secret], writable: [cache] })).mounts(
        runOptions(),
      );
      assert.ok(mounts.some((m) => m.source === '/dev/null' && m.target === secret && m.readonly));
      assert.ok(mounts.some((m) => m.source === cache && !m.readonly));
    } finally {
      rmSync(secret);
    }
  });

  test('refuses to mount DATA_DIR or the root directory, and a home outside DATA_DIR is not mounted', async () => {
    const sandbox = new ContainerSandbox(policy());
    await assert.rejects(sandbox.mounts(runOptions({ cwd: dataDir })), SandboxError);
    await assert.rejects(sandbox.mounts(runOptions({ cwd: base })), /holds DATA_DIR/);
    await assert.rejects(sandbox.mounts(runOptions({ cwd: '/' })), SandboxError);
    const userHome = join(base, 'user-home');
    mkdirSync(userHome, { recursive: true });
    const mounts = await sandbox.mounts(runOptions({ env: { HOME: userHome } }));
    assert.deepEqual(
      mounts.map((m) => m.source),
      [workspace],
    );
  });

  test('a path the --mount syntax would misread, and an image that looks like an option, are refused', () => {
    const spec = { name: 'a2a-t', task: 't', cwd: workspace, command: ['true'] };
    assert.throws(
      () =>
        containerRunArgv(policy(), {
          ...spec,
          mounts: [{ source: '/a,b', target: '/a,b', readonly: false }],
        }),
      SandboxError,
    );
    assert.throws(
      () => containerRunArgv(policy({ image: '--privileged' }), { ...spec, mounts: [] }),
      SandboxError,
    );
  });

  test('the engine client gets only the variables it needs from the gateway environment', () => {
    assert.deepEqual(
      engineEnvFrom({
        PATH: '/bin',
        HOME: '/root',
        DOCKER_HOST: 'unix:///run/docker.sock',
        XDG_RUNTIME_DIR: '/run/user/1000',
        ANTHROPIC_API_KEY: 'secret',
        REDIS_URL: 'redis://x',
      }),
      {
        PATH: '/bin',
        HOME: '/root',
        DOCKER_HOST: 'unix:///run/docker.sock',
        XDG_RUNTIME_DIR: '/run/user/1000',
      },
    );
  });

  test('a run the sandbox refuses fails like a command that cannot start, and nothing is spawned', async () => {
    const run = createTaskRunner({
      registry: new ProcessRegistry(join(base, 'run')),
      limits: { apply: (o) => o },
      containment: await Containment.detect('tracked', process.env.PATH),
      sandbox: new ContainerSandbox(policy()),
    });
    const result = await run(runOptions({ cwd: dataDir }), 'refused');
    assert.equal(result.exitCode, null);
    assert.equal(result.pid, undefined);
    assert.equal(result.spawnError?.code, 'ESANDBOX');
    assert.match(result.spawnError?.message ?? '', /^sandbox: will not mount .* it holds DATA_DIR/);
  });
});
