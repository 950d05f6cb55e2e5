// The container sandbox (SANDBOX=podman|docker) with a real engine and an image made offline from this machine's
// files (test/helpers/container-engine.ts). A hostile fake agent (a node script) run through the task runner and
// through a gateway: its writes to the caller's repository, DATA_DIR, another task's workspace, the gateway
// user's home and the image's own files all fail, its workspace and config-home writes land, it cannot read the
// keys file, and its setsid daemon is gone with the run; a cancel ends an agent that ignores SIGTERM, and no
// container or process is left. Start-up and doctor report the engine and the image, and refuse to start where
// the engine cannot run or the image is missing. Skipped, with the reason, where no engine can run containers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Containment } from '../../src/runner/containment.js';
import { ProcessRegistry } from '../../src/runner/registry.js';
import { Sandboxes, type SandboxPolicy } from '../../src/runner/sandbox.js';
import { createTaskRunner } from '../../src/runner/task-runner.js';
import type { ProcessRunner } from '../../src/runner/types.js';
import { containersLabelled, findTestEngine, type TestEngine } from '../helpers/container-engine.js';
import { FAKE_CLI_DIR, REPO_ROOT, rpc, sendTask, startTestGateway, waitFor } from '../helpers/gateway.js';

const HOSTILE = join(FAKE_CLI_DIR, 'hostile.mjs');
const IGNORE_TERM = join(FAKE_CLI_DIR, 'ignore-term.mjs');
const HANG = join(FAKE_CLI_DIR, 'hang.mjs');
const KEY = 'container-test-key-0123456789abcdef';

const found = findTestEngine();
const engine: TestEngine | undefined = 'reason' in found ? undefined : found;
const skip = engine ? false : `no container engine: ${'reason' in found ? found.reason : ''}`;
if (skip) process.stdout.write(`# sandbox-container: ${skip}\n`);
after(() => engine?.cleanup());

const IDENTITY = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...IDENTITY } }).trim();
}

/** Running processes (not zombies) whose command line holds `needle`. */
function running(needle: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (state !== 'Z' && cmdline.includes(needle)) pids.push(Number(name));
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

/** The prompt line hostile.mjs reads, and the JSON report it prints. */
function targetsLine(write: string[], read: string[], daemon: string): string {
  return `TARGETS ${JSON.stringify({ write, read, daemon })}`;
}
function reportOf(text: string): {
  own: boolean;
  wrote: string[];
  read: string[];
  errors: Record<string, string>;
} {
  const line = text.split('\n').find((l) => l.startsWith('{"own"'));
  assert.ok(line, `no report in: ${text.slice(0, 2000)}`);
  return JSON.parse(line) as never;
}

describe('container sandbox at the task runner', { skip }, () => {
  // Under /var/tmp, on the root filesystem, like the bubblewrap tests.
  let base: string;
  let dataDir: string;
  let repo: string;
  let workspace: string;
  let otherWorkspace: string;
  let home: string;
  let keysFile: string;
  let containment: Containment;
  let run: ProcessRunner;

  before(async () => {
    base = mkdtempSync('/var/tmp/a2a-container-runner-');
    dataDir = join(base, 'data');
    repo = join(base, 'repo');
    mkdirSync(repo, { recursive: true });
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    workspace = join(dataDir, 'worktrees', 'task-a');
    git(repo, 'worktree', 'add', '-q', '-b', 'a2a/code/aaaa1111', workspace);
    otherWorkspace = join(dataDir, 'worktrees', 'task-b');
    mkdirSync(otherWorkspace, { recursive: true });
    writeFileSync(join(otherWorkspace, 'secret.txt'), 'theirs\n');
    home = join(dataDir, 'homes', 'ctx-a');
    mkdirSync(home, { recursive: true });
    keysFile = join(base, 'keys.yaml');
    writeFileSync(keysFile, 'keys: []\n');
    containment = await Containment.detect('auto', process.env.PATH);
    const policy: SandboxPolicy = {
      dataDir,
      workspaceParents: [join(dataDir, 'worktrees')],
      secretFiles: [keysFile],
      network: 'off',
      container: { image: engine!.image, engineEnv: engine!.env },
    };
    const sandboxes = await Sandboxes.detect(engine!.engine, [], policy, process.env.PATH);
    assert.equal(sandboxes.report.mode, engine!.engine);
    run = createTaskRunner({
      registry: new ProcessRegistry(join(base, 'run')),
      limits: { apply: (o) => o },
      containment,
      sandbox: sandboxes.for(undefined),
    });
  });
  after(async () => {
    await containment?.close();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  test('a hostile agent writes only its workspace and home, reads no keys, and leaves nothing running', async () => {
    const homeTarget = join(homedir(), `.a2a-container-test-${randomInt(1e9)}`);
    const escapes = [
      join(repo, 'escaped.txt'),
      join(dataDir, 'escaped.txt'),
      join(otherWorkspace, 'escaped.txt'),
      homeTarget,
      '/etc/escaped.txt',
    ];
    const homeWrite = join(home, 'settings.json');
    const daemon = `300.${randomInt(10_000_000, 99_999_999)}`;
    const label = `hostile-${randomInt(1e9)}`;
    try {
      const result = await run(
        {
          argv: [
            HOSTILE,
            targetsLine([...escapes, homeWrite], [keysFile, join(otherWorkspace, 'secret.txt')], daemon),
          ],
          cwd: workspace,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, API_TOKEN: 'passed-by-file' },
          signal: AbortSignal.timeout(60_000),
        },
        label,
      );
      assert.equal(result.exitCode, 0, result.stderr);
      const report = reportOf(result.stdout);
      assert.deepEqual(report.wrote, [homeWrite], JSON.stringify(report));
      for (const path of escapes) assert.equal(existsSync(path), false, `${path} was written`);
      assert.deepEqual(report.read, [], JSON.stringify(report));
      assert.equal(report.errors['/etc/escaped.txt'], 'EROFS');
      // The workspace write landed on the host, as the gateway's user.
      const own = join(workspace, 'own.txt');
      assert.equal(readFileSync(own, 'utf8'), 'mine\n');
      assert.equal(statSync(own).uid, process.getuid?.());
      assert.equal(readFileSync(homeWrite, 'utf8'), 'escaped\n');
      assert.equal(git(workspace, 'status', '--porcelain'), '?? own.txt');
      // Nothing left: not the daemon, not the container.
      assert.deepEqual(running(`sleep ${daemon}`), [], 'the setsid daemon outlived its run');
      assert.deepEqual(containersLabelled(engine!, label), []);
    } finally {
      rmSync(homeTarget, { force: true });
    }
  });

  test("a commit inside the worktree lands on the task branch; the caller's branch and tree are out of reach", async () => {
    const mainBefore = git(repo, 'rev-parse', 'main');
    const script = [
      'echo change > change.txt',
      'git add change.txt && git commit -q -m "from the container" && echo COMMIT_OK',
      'git update-ref refs/heads/main HEAD 2>/dev/null && echo MAIN_MOVED',
      `echo tampered > ${repo}/README.md 2>/dev/null && echo TREE_WRITTEN`,
      `git -C ${repo} branch evil 2>/dev/null && echo BRANCH_MADE`,
      'echo done',
    ].join('\n');
    const result = await run(
      {
        argv: ['/bin/sh', '-c', script],
        cwd: workspace,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...IDENTITY },
        signal: AbortSignal.timeout(60_000),
      },
      'container-git',
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /COMMIT_OK/, result.stderr);
    assert.doesNotMatch(result.stdout, /MAIN_MOVED|TREE_WRITTEN|BRANCH_MADE/);
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'a2a/code/aaaa1111'), 'from the container');
    assert.equal(git(repo, 'rev-parse', 'main'), mainBefore);
    assert.equal(readFileSync(join(repo, 'README.md'), 'utf8'), '# demo\n');
    assert.equal(git(repo, 'branch', '--list', 'evil'), '');
  });

  test('a cancel ends an agent that ignores SIGTERM, its grandchild and its container, within the grace', async () => {
    const seconds = String(randomInt(60, 119));
    const label = `cancel-${randomInt(1e9)}`;
    const controller = new AbortController();
    const started = performance.now();
    let abortedAt = 0;
    const result = await run(
      {
        argv: [IGNORE_TERM, '--seconds', seconds],
        cwd: workspace,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(60_000)]),
        graceMs: 1000,
        onStdoutLine: (line) => {
          if (line === 'READY') {
            abortedAt = performance.now();
            controller.abort();
          }
        },
      },
      label,
    );
    assert.ok(abortedAt > 0, `never READY: ${result.stderr}`);
    assert.equal(result.aborted, true);
    // SIGTERM (forwarded to the agent, which ignores it), SIGKILL after the 1 s grace, then the container removed.
    const tookMs = performance.now() - abortedAt;
    assert.ok(tookMs < 15_000, `the cancel took ${Math.round(tookMs)} ms`);
    assert.deepEqual(running(`--seconds ${seconds}`), [], 'a process of the cancelled run is still running');
    assert.deepEqual(containersLabelled(engine!, label), [], 'the container is still there');
    process.stdout.write(
      `# container cancel: ${Math.round(tookMs)} ms from the abort, ${Math.round(performance.now() - started)} ms in all\n`,
    );
  });
});

describe('container sandbox through the gateway', { skip }, () => {
  let base: string;
  let repo: string;
  let keysFile: string;
  let gw: Awaited<ReturnType<typeof startTestGateway>> | undefined;
  const auth = { 'x-api-key': KEY };

  before(async () => {
    base = mkdtempSync('/var/tmp/a2a-container-gw-');
    const work = join(base, 'work');
    repo = join(work, 'repo');
    mkdirSync(repo, { recursive: true });
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    keysFile = join(base, 'keys.yaml');
    const digest = createHash('sha256').update(KEY).digest('hex');
    writeFileSync(keysFile, `keys:\n  - id: tester\n    hash: sha256:${digest}\n    scopes: ['*', admin]\n`);
    gw = await startTestGateway({
      env: {
        DATA_DIR: join(base, 'data'),
        WORKSPACE_ROOTS: work,
        API_KEYS_FILE: keysFile,
        SANDBOX: engine!.engine,
        SANDBOX_IMAGE: engine!.image,
        ...engine!.env,
      },
      configYaml: `
allowBackendOverride: true
backends:
  hostile: { type: command, command: ${HOSTILE}, args: ["{prompt}"] }
  hang: { type: command, command: ${HANG}, args: ["--seconds", "90"] }
skills:
  code: { backend: hostile }
`,
    });
  });
  after(async () => {
    await gw?.stop();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  test('the task diff is its own file only; the caller repo, DATA_DIR and keys are out of reach; health says so', async () => {
    const health = (await (await fetch(`${gw!.url}/health?detailed=true`, { headers: auth })).json()) as any;
    assert.equal(health.sandbox?.mode, engine!.engine, JSON.stringify(health.sandbox));
    assert.equal(health.sandbox?.container?.image, engine!.image);
    assert.match(health.sandbox?.container?.imageId ?? '', /[0-9a-f]{12}/);

    const dataDir = join(base, 'data');
    const escapes = [join(repo, 'escaped.txt'), join(dataDir, 'escaped.txt')];
    const res = await sendTask(gw!.url, {
      skill: 'code',
      input: { instructions: targetsLine(escapes, [keysFile], ''), workdir: repo },
      headers: auth,
    });
    const task = res.body.result;
    assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body).slice(0, 2000));
    const text = JSON.stringify(task);
    const match = /\{\\"own\\":true.*?\\"errors\\":\{.*?\}\}/.exec(text);
    assert.ok(match, text.slice(0, 2000));
    const report = JSON.parse(JSON.parse(`"${match[0]}"`)) as { wrote: string[]; read: string[] };
    assert.deepEqual(report.wrote, []);
    assert.deepEqual(report.read, []);
    for (const path of escapes) assert.equal(existsSync(path), false, path);
    const diff = (task.artifacts ?? []).find((a: any) => a.name === 'diff')?.parts[0]?.text ?? '';
    assert.deepEqual(
      [...diff.matchAll(/^\+\+\+ b\/(.+)$/gm)].map((m) => m[1]),
      ['own.txt'],
      diff,
    );
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  test('a cancel through the API ends the task and its container', async () => {
    const sent = await sendTask(gw!.url, {
      skill: 'code',
      input: { instructions: 'wait', workdir: repo },
      metadata: { backend: 'hang' },
      blocking: false,
      headers: auth,
    });
    const id: string = sent.body.result?.id;
    assert.ok(id, JSON.stringify(sent.body));
    await waitFor(
      () => (running('hang.mjs --seconds 90').length > 0 ? true : undefined),
      30_000,
      'the hang agent',
    );
    await rpc(gw!.url, { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { id } }, auth);
    await waitFor(
      async () => {
        const t = (await rpc(gw!.url, { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id } }, auth))
          .body.result;
        return t?.status?.state === 'canceled' ? true : undefined;
      },
      20_000,
      'the task to be canceled',
    );
    await waitFor(
      () => (running('hang.mjs --seconds 90').length === 0 ? true : undefined),
      15_000,
      'the agent to be gone',
    );
    // The record goes a moment after the processes (the engine removes it once the client has seen the exit).
    await waitFor(
      () => (containersLabelled(engine!, '').length === 0 ? true : undefined),
      20_000,
      'no task container left',
    );
  });
});

describe('container sandbox: start-up and doctor', () => {
  const cli = (env: Record<string, string>, args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
      env: { HOME: process.env.HOME ?? '', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });

  test('SANDBOX=docker where the engine cannot be found refuses to start, naming the setting and why', () => {
    const data = mkdtempSync(join(tmpdir(), 'a2a-container-noengine-'));
    try {
      // A PATH with node only: no docker client.
      const nodeDir = dirname(process.execPath);
      const env = {
        PATH: nodeDir === '/usr/bin' ? '/nonexistent' : nodeDir,
        DATA_DIR: data,
        SANDBOX: 'docker',
        SANDBOX_IMAGE: 'a2a-sandbox:latest',
      };
      const serve = cli({ ...env, PORT: '0', HOST: '127.0.0.1' }, ['serve']);
      assert.equal(serve.status, 1, serve.stderr);
      assert.match(
        serve.stderr,
        /SANDBOX=docker, but docker cannot run task containers here: the docker command was not found/,
      );
      const doctor = cli(env, ['doctor']);
      assert.equal(doctor.status, 1);
      assert.match(doctor.stdout, /sandbox: UNAVAILABLE: SANDBOX=docker, but docker cannot run/);
      const noImage = cli({ ...env, SANDBOX_IMAGE: '' }, ['serve']);
      assert.equal(noImage.status, 2);
      assert.match(noImage.stderr, /SANDBOX_IMAGE: SANDBOX=docker needs the image/);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test(
    'doctor names the engine, the image and what it holds; a missing image is named with the engine',
    { skip },
    () => {
      const data = mkdtempSync(join(tmpdir(), 'a2a-container-doctor-'));
      try {
        const env = {
          ...engine!.env,
          DATA_DIR: data,
          SANDBOX: engine!.engine,
          SANDBOX_IMAGE: engine!.image,
          SANDBOX_NETWORK: 'off',
        };
        // A command backend in the image (the fake CLIs are at their paths there) and one only on the host.
        const hostTool = join(data, 'host-tool.sh');
        writeFileSync(hostTool, '#!/bin/sh\necho 1.0\n');
        chmodSync(hostTool, 0o755);
        const yaml = join(data, 'gateway.yaml');
        writeFileSync(
          yaml,
          `backends:\n  hostile: { type: command, command: ${HOSTILE} }\n  hosttool: { type: command, command: ${hostTool} }\n`,
        );
        const ok = cli(env, ['doctor', '--config', yaml]);
        assert.match(
          ok.stdout,
          new RegExp(`^  hostile: ${engine!.engine}; needs ${HOSTILE} inside the image \\(there\\)$`, 'm'),
        );
        assert.match(
          ok.stdout,
          new RegExp(
            `^  hosttool: ${engine!.engine}; needs ${hostTool} inside the image \\(NOT IN THE IMAGE\\)$`,
            'm',
          ),
        );
        assert.match(
          ok.stdout,
          new RegExp(`^sandbox: ${engine!.engine}, network off \\(--network none\\)`, 'm'),
          ok.stdout,
        );
        assert.match(
          ok.stdout,
          new RegExp(`image ${engine!.image} (sha256:)?[0-9a-f]{12,}: node /\\S+, git /\\S+`),
        );
        const missing = cli({ ...env, SANDBOX_IMAGE: 'a2a-no-such-image:0' }, ['doctor']);
        assert.equal(missing.status, 1);
        assert.match(
          missing.stdout,
          new RegExp(
            `UNAVAILABLE: SANDBOX=${engine!.engine}, but ${engine!.engine} cannot run task containers here: the image a2a-no-such-image:0 \\(SANDBOX_IMAGE\\) is not among ${engine!.engine}'s local images`,
          ),
        );
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    },
  );
});
