// The bubblewrap sandbox at the task runner, with the real bwrap: a commit from inside a task's git worktree works
// and lands on the task branch, while the caller's branch, index and working tree stay out of reach; with
// SANDBOX_NETWORK=off a server on the host's loopback cannot be reached, with the default it can. Skipped where
// bubblewrap cannot run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Containment } from '../../src/runner/containment.js';
import { ProcessRegistry } from '../../src/runner/registry.js';
import { Sandboxes, type SandboxPolicy } from '../../src/runner/sandbox.js';
import { createTaskRunner } from '../../src/runner/task-runner.js';
import type { ProcessRunner } from '../../src/runner/types.js';

const probe = await Sandboxes.detect(
  'auto',
  [],
  { dataDir: '/nonexistent-a2a', workspaceParents: [], secretFiles: [], network: 'on' },
  process.env.PATH,
);
const skip = probe.report.mode === 'bwrap' ? false : `bubblewrap cannot run here: ${probe.report.reason}`;

const IDENTITY = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...IDENTITY } }).trim();
}

describe('sandbox at the runner', { skip }, () => {
  // Under /var/tmp, on the root filesystem: a refused write there is the read-only root, not the private /tmp.
  let base: string;
  let dataDir: string;
  let repo: string;
  let worktree: string;
  let home: string;
  let containment: Containment;
  const runners: ProcessRunner[] = [];

  async function runnerWith(network: 'on' | 'off'): Promise<ProcessRunner> {
    const policy: SandboxPolicy = {
      dataDir,
      workspaceParents: [join(dataDir, 'worktrees')],
      secretFiles: [],
      network,
    };
    const sandboxes = await Sandboxes.detect('bwrap', [], policy, process.env.PATH);
    const registry = new ProcessRegistry(join(base, `run-${network}`));
    const run = createTaskRunner({
      registry,
      limits: { apply: (o) => o },
      containment,
      sandbox: sandboxes.for(undefined),
    });
    runners.push(run);
    return run;
  }

  before(async () => {
    base = mkdtempSync('/var/tmp/a2a-sandbox-runner-');
    dataDir = join(base, 'data');
    repo = join(base, 'repo');
    mkdirSync(repo, { recursive: true });
    writeFileSync(join(repo, 'README.md'), '# demo\n');
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'initial');
    worktree = join(dataDir, 'worktrees', 'ctx');
    git(repo, 'worktree', 'add', '-q', '-b', 'a2a/code/abcd1234', worktree);
    home = join(dataDir, 'homes', 'ctx');
    mkdirSync(home, { recursive: true });
    containment = await Containment.detect('auto', process.env.PATH);
  });
  after(async () => {
    await containment?.close();
    rmSync(base, { recursive: true, force: true });
  });

  test("a commit inside the worktree lands on the task branch; the caller's branch and tree are read-only", async () => {
    const run = await runnerWith('on');
    const mainBefore = git(repo, 'rev-parse', 'main');
    const script = [
      'echo change > change.txt',
      'git add change.txt && git commit -q -m "from the sandbox" && echo COMMIT_OK',
      'git update-ref refs/heads/main HEAD 2>/dev/null && echo MAIN_MOVED',
      `echo tampered > ${repo}/README.md 2>/dev/null && echo TREE_WRITTEN`,
      `git -C ${repo} branch evil 2>/dev/null && echo BRANCH_MADE`,
      'echo done',
    ].join('\n');
    const result = await run(
      {
        argv: ['/bin/sh', '-c', script],
        cwd: worktree,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ...IDENTITY },
        signal: AbortSignal.timeout(30_000),
      },
      'sandbox-git',
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /COMMIT_OK/, result.stderr);
    assert.doesNotMatch(result.stdout, /MAIN_MOVED|TREE_WRITTEN|BRANCH_MADE/);
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'a2a/code/abcd1234'), 'from the sandbox');
    assert.equal(git(repo, 'rev-parse', 'main'), mainBefore);
    assert.equal(readFileSync(join(repo, 'README.md'), 'utf8'), '# demo\n');
    assert.equal(git(repo, 'branch', '--list', 'evil'), '');
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  test('SANDBOX_NETWORK=off: a server on the host loopback is out of reach; the default reaches it', async () => {
    const server: Server = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const connect = `require('net').connect(${port}, '127.0.0.1').on('data', () => { console.log('CONNECTED'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
    try {
      const outcome = async (network: 'on' | 'off'): Promise<string> => {
        const run = await runnerWith(network);
        const r = await run(
          {
            argv: [process.execPath, '-e', connect],
            cwd: worktree,
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
            signal: AbortSignal.timeout(30_000),
          },
          `sandbox-net-${network}`,
        );
        return r.stdout.trim();
      };
      assert.equal(await outcome('on'), 'CONNECTED');
      assert.equal(await outcome('off'), 'ECONNREFUSED');
    } finally {
      server.close();
    }
  });
});
