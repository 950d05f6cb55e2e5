// The bubblewrap sandbox through the gateway, with the real bwrap and a hostile fake agent (a `command` backend):
// its writes to the caller's repository, the gateway user's home, DATA_DIR and another task's worktree all fail,
// the task's diff holds only its own workspace's change, reading the keys file fails, and a `setsid` daemon it
// starts is gone when the task ends. With SANDBOX=off the same agent gets out (the control case), which shows the
// test can fail. A cancel gives a sandboxed agent its SIGTERM and KILL_GRACE, and SIGKILLs one that ignores it.
// Skipped where bubblewrap cannot run.
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
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KILL_CONFIRM_MS } from '../../src/runner/process-group.js';
import { Sandboxes } from '../../src/runner/sandbox.js';
import {
  FAKE_CLI_DIR,
  REPO_ROOT,
  rpc,
  sendTask,
  spawnGateway,
  startTestGateway,
  waitFor,
  type TestGateway,
} from '../helpers/gateway.js';

const HOSTILE = join(FAKE_CLI_DIR, 'hostile.mjs');
const HANG = join(FAKE_CLI_DIR, 'hang.mjs');
const TRAP = join(FAKE_CLI_DIR, 'trap-term.mjs');
const KEY = 'sandbox-test-key-0123456789abcdef';

const probe = await Sandboxes.detect(
  'auto',
  [],
  { dataDir: '/nonexistent-a2a', workspaceParents: [], secretFiles: [], network: 'on' },
  process.env.PATH,
);
const skip = probe.report.mode === 'bwrap' ? false : `bubblewrap cannot run here: ${probe.report.reason}`;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@t',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@t',
    },
  });
}

/** Running processes whose command line holds `needle`. */
function running(needle: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) {
        found.push(Number(name));
      }
    } catch {
      // gone while we looked
    }
  }
  return found;
}

interface Setup {
  gw: TestGateway;
  base: string;
  repo: string;
  keysFile: string;
  homeTarget: string;
  dataDir: string;
}

/**
 * A gateway whose data directory, workspace root, caller repository and keys file all live under /var/tmp (on the
 * root filesystem, so a failed write there is the read-only root at work, not the sandbox's private /tmp).
 */
async function setUp(
  sandbox: 'bwrap' | 'off',
  extra: { env?: Record<string, string>; backends?: string } = {},
): Promise<Setup> {
  const base = mkdtempSync('/var/tmp/a2a-sandbox-test-');
  const work = join(base, 'work');
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'README.md'), '# demo\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  const keysFile = join(base, 'keys.yaml');
  const digest = createHash('sha256').update(KEY).digest('hex');
  writeFileSync(keysFile, `keys:\n  - id: tester\n    hash: sha256:${digest}\n    scopes: ['*', admin]\n`);
  const gw = await startTestGateway({
    env: {
      DATA_DIR: join(base, 'data'),
      WORKSPACE_ROOTS: work,
      API_KEYS_FILE: keysFile,
      SANDBOX: sandbox,
      ...extra.env,
    },
    configYaml: `
allowBackendOverride: true
backends:
  hostile: { type: command, command: ${HOSTILE}, args: ["{prompt}"] }
  hang: { type: command, command: ${HANG}, args: ["--seconds", "60"] }
${extra.backends ?? ''}
skills:
  code: { backend: hostile }
`,
  });
  const homeTarget = join(homedir(), `.a2a-sandbox-test-${randomInt(1e9)}`);
  return { gw, base, repo, keysFile, homeTarget, dataDir: join(base, 'data') };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  if (!s) return;
  await s.gw.stop();
  rmSync(s.base, { recursive: true, force: true });
  rmSync(s.homeTarget, { force: true });
}

const auth = { 'x-api-key': KEY };

/** Starts a hanging task on the repository and returns its worktree (under DATA_DIR/worktrees) and id. */
async function otherTask(s: Setup): Promise<{ id: string; worktree: string }> {
  const list = (): string[] =>
    existsSync(join(s.dataDir, 'worktrees')) ? readdirSync(join(s.dataDir, 'worktrees')) : [];
  const before = new Set(list());
  const sent = await sendTask(s.gw.url, {
    skill: 'code',
    input: { instructions: 'wait', workdir: s.repo },
    metadata: { backend: 'hang' },
    blocking: false,
    headers: auth,
  });
  const id: string = sent.body.result?.id;
  assert.ok(id, JSON.stringify(sent.body));
  const worktree = await waitFor(
    () => list().find((n) => !before.has(n)),
    15_000,
    "the other task's worktree",
  );
  return { id, worktree: join(s.dataDir, 'worktrees', worktree) };
}

async function hostileTask(
  s: Setup,
  other: string,
  daemon: string,
  escapeCgroup = false,
): Promise<{ task: any; report: any; targets: Record<string, string> }> {
  const targets = {
    repo: join(s.repo, 'escaped.txt'),
    home: s.homeTarget,
    dataDir: join(s.dataDir, 'escaped.txt'),
    other: join(other, 'escaped.txt'),
  };
  const line = `TARGETS ${JSON.stringify({ write: Object.values(targets), read: [s.keysFile], daemon, escapeCgroup })}`;
  const res = await sendTask(s.gw.url, {
    skill: 'code',
    input: { instructions: line, workdir: s.repo },
    headers: auth,
  });
  const task = res.body.result;
  assert.equal(task?.status?.state, 'completed', JSON.stringify(res.body).slice(0, 2000));
  const text = JSON.stringify(task);
  const match = /\{\\"own\\":true.*?\\"errors\\":\{.*?\}\}/.exec(text);
  assert.ok(match, `no report in ${text.slice(0, 2000)}`);
  const report = JSON.parse(JSON.parse(`"${match[0]}"`)) as Record<string, unknown>;
  return { task, report, targets };
}

function diffOf(task: any): string {
  return (task.artifacts ?? []).find((a: any) => a.name === 'diff')?.parts[0]?.text ?? '';
}

describe('sandbox: bwrap, a hostile agent', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    s = await setUp('bwrap');
  });
  after(() => tearDown(s));

  test('writes only its workspace, reads no keys, and its setsid daemon dies with the task', async () => {
    const setup = s!;
    const health = await fetch(`${setup.gw.url}/health?detailed=true`, { headers: auth });
    const body = (await health.json()) as any;
    assert.equal(body.sandbox?.mode, 'bwrap', JSON.stringify(body.sandbox));

    const other = await otherTask(setup);
    const daemon = `300.${randomInt(10_000_000, 99_999_999)}`;
    const { task, report, targets } = await hostileTask(setup, other.worktree, daemon, true);

    assert.deepEqual(report.wrote, [], `escaped: ${JSON.stringify(report)}`);
    // Run as root, it gets no capability inside: no mount it may make writable.
    assert.deepEqual(report.remounted, [], `remounted: ${JSON.stringify(report)}`);
    // The cgroup filesystem is read-only inside: the daemon stays in the run's cgroup, whose kill ends it.
    assert.match(
      report.cgroupEscape,
      /^E[A-Z]+$/,
      `the move failed with an error: ${JSON.stringify(report)}`,
    );
    for (const path of Object.values(targets)) assert.equal(existsSync(path), false, path);
    assert.deepEqual(report.read, [], `read the keys file: ${JSON.stringify(report)}`);
    assert.equal(report.daemonRunning, true, `the daemon never ran: ${JSON.stringify(report)}`);
    // /proc's cmdline separates the arguments with NULs.
    assert.deepEqual(running(`sleep\0${daemon}`), [], 'the setsid daemon outlived its task');
    // The diff is the task's own file, nothing else.
    const diff = diffOf(task);
    assert.match(diff, /own\.txt/);
    assert.deepEqual(
      [...diff.matchAll(/^\+\+\+ b\/(.+)$/gm)].map((m) => m[1]),
      ['own.txt'],
      diff,
    );
    // The caller's repository is as it was: no new file, main where it was.
    assert.equal(git(setup.repo, 'status', '--porcelain'), '');

    await rpc(
      setup.gw.url,
      { jsonrpc: '2.0', id: 5, method: 'tasks/cancel', params: { id: other.id } },
      auth,
    );
    await waitFor(
      async () => ((await getTaskAuthed(setup, other.id))?.status?.state === 'canceled' ? true : undefined),
      15_000,
      'the other task to end',
    );
  });
});

async function getTaskAuthed(s: Setup, id: string): Promise<any> {
  return (await rpc(s.gw.url, { jsonrpc: '2.0', id: 3, method: 'tasks/get', params: { id } }, auth)).body
    .result;
}

describe('sandbox: off, the same agent (control)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    s = await setUp('off');
  });
  after(() => tearDown(s));

  test('gets out: it writes the caller repo, home and DATA_DIR, reads the keys file, and leaves its cgroup', async () => {
    const setup = s!;
    const other = await otherTask(setup);
    const daemon = `300.${randomInt(10_000_000, 99_999_999)}`;
    const { report, targets } = await hostileTask(setup, other.worktree, daemon, true);
    assert.ok(report.wrote.includes(targets.repo), JSON.stringify(report));
    assert.ok(report.wrote.includes(targets.home), JSON.stringify(report));
    assert.ok(report.wrote.includes(targets.dataDir), JSON.stringify(report));
    assert.deepEqual(report.read, [setup.keysFile]);
    // Unconfined, a root agent moves its daemon out of the run's cgroup: the cgroup's kill misses it, and the
    // sweep for the run's marker variable is what ends it.
    assert.equal(report.cgroupEscape, 'moved', JSON.stringify(report));
    assert.deepEqual(running(`sleep\0${daemon}`), [], 'the escaped daemon outlived its task');
    await rpc(
      setup.gw.url,
      { jsonrpc: '2.0', id: 5, method: 'tasks/cancel', params: { id: other.id } },
      auth,
    );
  });
});

describe('sandbox: bwrap, a cancel and the kill grace', { skip }, () => {
  const GRACE_MS = 3000;
  /** The runner's bound after the grace (SIGKILL confirmation, drain), plus slack for a loaded 2-core machine. */
  const BOUND_MS = KILL_CONFIRM_MS + 3000;
  let s: Setup | undefined;
  let marks: string;
  before(async () => {
    // Bound into every run read-write (SANDBOX_WRITABLE): the agent's marks outlive its sandbox and its workspace.
    marks = mkdtempSync('/var/tmp/a2a-sandbox-marks-');
    const trap = (flags: string) =>
      `{ type: command, command: ${TRAP}, args: ["--marks", "${marks}", ${flags}"{prompt}"] }`;
    s = await setUp('bwrap', {
      env: { KILL_GRACE: String(GRACE_MS / 1000), SANDBOX_WRITABLE: marks },
      backends: `  trap: ${trap('')}\n  trap-ignore: ${trap('"--ignore", ')}`,
    });
  });
  after(async () => {
    await tearDown(s);
    rmSync(marks, { recursive: true, force: true });
  });

  /**
   * Starts a task on `backend`, waits until the agent and its grandchild run, cancels it, and waits (bounded) until
   * no process of the task is left: the bwrap processes, the agent and its `sleep <tag>` all carry the tag.
   */
  async function cancelled(backend: string): Promise<{ marks: string[]; ms: number; state: string }> {
    const setup = s!;
    const tag = `300.${randomInt(10_000_000, 99_999_999)}`;
    const log = join(marks, `${tag}.log`);
    const lines = (): string[] =>
      existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
    const sent = await sendTask(setup.gw.url, {
      skill: 'code',
      input: { instructions: `TAG ${tag}`, workdir: setup.repo },
      metadata: { backend },
      blocking: false,
      headers: auth,
    });
    const id: string = sent.body.result?.id;
    assert.ok(id, JSON.stringify(sent.body));
    await waitFor(
      // The command line's arguments are NUL-separated.
      () => (lines().includes('READY') && running(`sleep\0${tag}`).length > 0 ? true : undefined),
      15_000,
      'the agent and its grandchild',
    );
    const startedAt = performance.now();
    const canceled = await rpc(
      setup.gw.url,
      { jsonrpc: '2.0', id: 7, method: 'tasks/cancel', params: { id } },
      auth,
    );
    await waitFor(
      () => (running(tag).length === 0 ? true : undefined),
      GRACE_MS + BOUND_MS,
      "the task's processes to end",
    );
    return {
      marks: lines(),
      ms: performance.now() - startedAt,
      state: canceled.body.result?.status?.state ?? JSON.stringify(canceled.body),
    };
  }

  test('an agent that traps SIGTERM gets it and finishes its cleanup; nothing of it is left', async () => {
    const { marks: seen, ms, state } = await cancelled('trap');
    assert.equal(state, 'canceled');
    assert.deepEqual(seen, ['READY', 'TERM', 'CLEANED'], 'the agent ran its SIGTERM handler to the end');
    assert.ok(ms < GRACE_MS, `it ended by itself within the grace, not by SIGKILL (${Math.round(ms)} ms)`);
  });

  test('an agent that ignores SIGTERM gets it, and is SIGKILLed with its tree after the grace', async () => {
    const { marks: seen, ms, state } = await cancelled('trap-ignore');
    assert.equal(state, 'canceled');
    assert.deepEqual(seen, ['READY', 'TERM'], 'the agent got SIGTERM');
    assert.ok(ms >= GRACE_MS, `it had the whole grace (${Math.round(ms)} ms)`);
    assert.ok(ms < GRACE_MS + BOUND_MS, `then it was killed (${Math.round(ms)} ms)`);
  });
});

describe('sandbox: start-up and doctor', () => {
  const cli = (env: Record<string, string>, args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
      env: { HOME: process.env.HOME ?? '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const nodeDir = dirname(process.execPath);

  test('without bubblewrap: SANDBOX=bwrap refuses to start, auto falls back and says so', async () => {
    const data = mkdtempSync(join(tmpdir(), 'a2a-sandbox-nobwrap-'));
    try {
      // A PATH without bwrap (node's own directory only; bwrap is in /usr/bin).
      const env = {
        PATH: nodeDir === '/usr/bin' ? '/nonexistent' : nodeDir,
        DATA_DIR: data,
        SANDBOX: 'bwrap',
      };
      const serve = cli({ ...env, PORT: '0', HOST: '127.0.0.1' }, ['serve']);
      assert.equal(serve.status, 1, serve.stderr);
      assert.match(serve.stderr, /SANDBOX=bwrap, but bubblewrap cannot run here: .*bwrap.*not found/);
      const doctor = cli(env, ['doctor']);
      assert.equal(doctor.status, 1);
      assert.match(doctor.stdout, /sandbox: UNAVAILABLE: SANDBOX=bwrap, but bubblewrap cannot run here/);
      // auto falls back and says so, in doctor, at start-up and in the detailed health.
      const auto = cli({ ...env, SANDBOX: 'auto' }, ['doctor']);
      assert.match(auto.stdout, /sandbox: OFF: bubblewrap cannot run here/);
      const gw = await spawnGateway({ ...env, SANDBOX: 'auto' });
      try {
        assert.match(gw.output(), /sandbox: OFF, bubblewrap cannot run here \(the bwrap command/);
        const health = (await (await fetch(`${gw.url}/health?detailed=true`)).json()) as any;
        assert.equal(health.sandbox?.mode, 'off');
        assert.equal(health.sandbox?.setting, 'auto');
        assert.match(health.sandbox?.reason ?? '', /bwrap command \(bubblewrap\) was not found/);
      } finally {
        gw.kill('SIGTERM');
        await gw.exited;
      }
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('doctor lists, per backend, the programs a sandboxed run needs and what it binds', { skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'a2a-sandbox-doctor-'));
    try {
      // A CLI installed under /tmp, which the sandbox hides: its directory is bound back read-only.
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'claude'), '#!/bin/sh\necho "9.9.9 (Claude Code)"\n');
      chmodSync(join(bin, 'claude'), 0o755);
      const r = cli({ PATH: `${bin}:${process.env.PATH ?? ''}`, DATA_DIR: join(dir, 'data') }, ['doctor']);
      assert.match(r.stdout, /^sandbox: bwrap \(bubblewrap [\d.]+\), network on/m, r.stdout);
      const line = r.stdout.split('\n').find((l) => l.startsWith('  claude: '));
      assert.ok(line, r.stdout);
      assert.match(line, new RegExp(`command ${join(bin, 'claude')} \\(binds ${dir} read-only\\)`));
      assert.match(line, /interpreter \/bin\/sh/);
      assert.match(line, /git \/usr\/bin\/git/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
