// Pushing a task branch and opening its pull request: a real bare repository as the remote, a stand-in gh on PATH
// that records its argv and stdin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkspaceError } from '../../src/workspace/errors.js';
import { openPullRequest, pushBranch, redactUrl, requireRemote } from '../../src/workspace/push.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();
}

describe('pushing a task branch', () => {
  let dir: string;
  let bare: string;
  let repo: string;
  const ctx = (): { env: Record<string, string | undefined> } => ({
    env: { PATH: process.env.PATH, HOME: dir, A2A_GIT_TOKEN: 'sk-push-secret' },
  });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'a2a-push-'));
    bare = join(dir, 'origin.git');
    git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
    repo = join(dir, 'repo');
    git(dir, 'clone', '-q', bare, repo);
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'one');
    git(repo, 'push', '-q', 'origin', 'HEAD:main');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the branch lands on the remote at the task commit', async () => {
    git(repo, 'checkout', '-qb', 'a2a/fix_bug/t1');
    writeFileSync(join(repo, 'a.txt'), 'two\n');
    git(repo, 'commit', '-qam', 'two');
    const sha = git(repo, 'rev-parse', 'HEAD');
    const pushed = await pushBranch({ dir: repo, branch: 'a2a/fix_bug/t1', remote: 'origin', ctx: ctx() });
    assert.equal(pushed.commit, sha);
    assert.equal(git(bare, 'rev-parse', 'refs/heads/a2a/fix_bug/t1'), sha);
    git(repo, 'checkout', '-q', 'main');
  });

  test('a remote branch that moved elsewhere rejects the push; nothing is forced', async () => {
    git(repo, 'checkout', '-qb', 'a2a/fix_bug/t2', 'main');
    writeFileSync(join(repo, 'a.txt'), 'ours\n');
    git(repo, 'commit', '-qam', 'ours');
    // Someone else's commit on the remote branch of the same name.
    const other = join(dir, 'other');
    git(dir, 'clone', '-q', bare, other);
    git(other, 'checkout', '-qb', 'a2a/fix_bug/t2');
    writeFileSync(join(other, 'b.txt'), 'theirs\n');
    git(other, 'add', '.');
    git(other, 'commit', '-qm', 'theirs');
    git(other, 'push', '-q', 'origin', 'a2a/fix_bug/t2');
    const theirs = git(other, 'rev-parse', 'HEAD');
    await assert.rejects(
      pushBranch({ dir: repo, branch: 'a2a/fix_bug/t2', remote: 'origin', ctx: ctx() }),
      (err: unknown) =>
        err instanceof WorkspaceError && err.code === 'push_rejected' && /never forces/.test(err.message),
    );
    assert.equal(git(bare, 'rev-parse', 'refs/heads/a2a/fix_bug/t2'), theirs);
    git(repo, 'checkout', '-q', 'main');
  });

  test('a repository without the remote is refused up front, naming it', async () => {
    await assert.rejects(requireRemote(repo, 'upstream', ctx()), (err: unknown) => {
      assert.ok(err instanceof WorkspaceError);
      assert.equal(err.code, 'no_remote');
      assert.match(err.message, /no remote "upstream"/);
      return true;
    });
    assert.equal(await requireRemote(repo, 'origin', ctx()), bare);
  });

  test('credentials in a remote URL are masked', () => {
    assert.equal(redactUrl('https://bob:sk-x@github.com/o/r.git'), 'https://***@github.com/o/r.git');
    assert.equal(redactUrl('git@github.com:o/r.git'), 'git@github.com:o/r.git');
  });

  test('a pull request goes through gh on PATH: argv, the body on stdin, the URL back; no token in argv', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'gh-log.json');
    writeFileSync(
      join(bin, 'gh'),
      `#!${process.execPath}\nconst fs = require('node:fs');\nconst body = fs.readFileSync(0, 'utf8');\nfs.writeFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), body, token: process.env.GH_TOKEN ?? null, secret: process.env.SECRET ?? null }));\nconsole.log('https://github.example/o/r/pull/7');\n`,
    );
    chmodSync(join(bin, 'gh'), 0o755);
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: dir,
      A2A_GIT_TOKEN: 'sk-push-secret',
      SECRET: 'x',
    };
    const pr = await openPullRequest({
      dir: repo,
      head: 'a2a/fix_bug/t1',
      base: 'main',
      title: 'fix_bug: off by one',
      body: 'Tests: passed',
      env,
    });
    assert.equal(pr.url, 'https://github.example/o/r/pull/7');
    const seen = JSON.parse(readFileSync(log, 'utf8'));
    assert.deepEqual(seen.argv, [
      'pr',
      'create',
      '--head',
      'a2a/fix_bug/t1',
      '--base',
      'main',
      '--title',
      'fix_bug: off by one',
      '--body-file',
      '-',
    ]);
    assert.equal(seen.body, 'Tests: passed');
    assert.equal(seen.token, 'sk-push-secret', 'gh gets the token in its environment');
    assert.equal(seen.secret, null, 'and nothing outside its allowlist');
  });

  test('without gh on PATH the pull request is refused, saying what is missing', async () => {
    await assert.rejects(
      openPullRequest({ dir: repo, head: 'x', title: 't', body: 'b', env: { PATH: join(dir, 'empty') } }),
      (err: unknown) => err instanceof WorkspaceError && err.code === 'gh_not_found',
    );
  });
});
