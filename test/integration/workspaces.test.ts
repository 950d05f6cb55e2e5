// Workspaces through the gateway, against real git: every task on a repository works in its own worktree, returns
// exactly its own diff, and leaves nothing behind; commit, apply (and its refusal on a dirty tree), follow-up turns,
// copies of plain directories, read-only reviews, checks on generated files, the template fallback, and the
// workdir confinement cases.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  FAKE_CLI_DIR,
  rpc,
  sendTask,
  startTestGateway,
  tempDir,
  type TestGateway,
} from '../helpers/gateway.js';
import { git } from '../helpers/git.js';
import { withFindingIds } from '../../src/skills/findings.js';

const EDIT = join(FAKE_CLI_DIR, 'edit-files.mjs');

const REVIEW_ANSWER = [
  'Request changes: the loop never ends.',
  '```json',
  '[{"file": "src/a.txt", "line": 1, "severity": "major", "text": "this never terminates"},',
  ' {"file": "src/a.txt", "line": null, "severity": "weird", "text": "rename it"}]',
  '```',
].join('\n');

function fixed(name: string, spec: unknown): string {
  return `  ${name}:
    type: command
    command: ${EDIT}
    env: { FAKE_EDIT: ${JSON.stringify(JSON.stringify(spec))} }`;
}

const CONFIG = `
backends:
  editor:
    type: command
    command: ${EDIT}
    args: ["{input.instructions}"]
${fixed('reviewer', { write: { 'sneaky.txt': 'a reviewer must not write' }, say: REVIEW_ANSWER })}
${fixed('broken_yaml', { write: { 'k8s/app.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n' } })}
${fixed('no_from', { write: { Dockerfile: 'RUN echo hi\nCMD ["node"]\n' } })}
skills:
  code: { backend: editor }
  review_pr: { backend: reviewer }
  generate_k8s_manifests: { backend: broken_yaml }
  generate_dockerfile: { backend: no_from }
`;

/** A repository with two committed files, inside the gateway's workspace root. */
function makeRepo(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'README.md'), '# demo\n');
  writeFileSync(join(dir, 'src/a.txt'), 'one\ntwo\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/**
 * Every file under `dir` hashed with its mode, by path. With `git: 'all'`, everything in .git but the object store
 * and reflogs too (refs, HEAD, index, config, worktree entries); with `git: 'user'`, only what a person sees of
 * .git: HEAD, the index, the config and the branches.
 */
function fingerprint(dir: string, gitParts: 'all' | 'user' = 'all'): Record<string, string> {
  const out: Record<string, string> = {};
  const userGit = /^\.git(\/(HEAD|index|config|refs|refs\/heads(\/.*)?))?$/;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (rel === '.git/objects' || rel === '.git/logs') continue;
      if (gitParts === 'user' && rel.startsWith('.git') && !userGit.test(rel)) continue;
      const info = statSync(p);
      if (info.isDirectory()) walk(p);
      else out[rel] = `${info.mode}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

interface Sent {
  state: string;
  task: any;
  reason: string;
}

async function run(
  gw: TestGateway,
  skill: string,
  input: Record<string, unknown>,
  message = {},
): Promise<Sent> {
  const res = await sendTask(gw.url, { skill, input, message });
  assert.equal(res.body.error, undefined, JSON.stringify(res.body.error));
  const task = res.body.result;
  const reason = (task.status.message?.parts ?? []).map((p: any) => p.text ?? '').join('');
  return { state: task.status.state, task, reason };
}

function artifact(task: any, name: string): any {
  return (task.artifacts ?? []).find((a: any) => a.name === name);
}

function details(task: any): any {
  return artifact(task, 'result')?.parts.find((p: any) => p.kind === 'data')?.data;
}

function diffOf(task: any): string {
  return artifact(task, 'diff')?.parts[0]?.text ?? '';
}

function taskBranches(repo: string): string[] {
  return git(repo, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/a2a/')
    .split('\n')
    .filter(Boolean);
}

function worktrees(repo: string): number {
  return git(repo, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((l) => l.startsWith('worktree ')).length;
}

describe('workspaces', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { MAX_CONCURRENT_TASKS: '4' } });
  });
  after(async () => {
    await gw.stop();
  });

  const assertNothingLeft = async (repo: string): Promise<void> => {
    assert.deepEqual(await gw.gateway.workspaces.leftovers(), [], 'no worktree, copy or snapshot directory');
    assert.equal(worktrees(repo), 1, 'git lists only the main working tree');
  };

  test('two concurrent tasks on one repository each return exactly their own diff; the repository is untouched', async () => {
    const repo = makeRepo(gw.workDir, 'concurrent');
    const before = fingerprint(repo, 'user');
    const [a, b] = await Promise.all([
      run(gw, 'code', {
        workdir: repo,
        instructions: JSON.stringify({
          write: { 'src/a.txt': 'one\nTWO\n', 'new-a.txt': 'a\n' },
          sleepMs: 600,
        }),
      }),
      run(gw, 'code', {
        workdir: repo,
        instructions: JSON.stringify({ write: { 'new-b.txt': 'b\n' }, delete: ['README.md'], sleepMs: 600 }),
      }),
    ]);
    assert.equal(a.state, 'completed', a.reason);
    assert.equal(b.state, 'completed', b.reason);
    const da = diffOf(a.task);
    const db = diffOf(b.task);
    assert.match(da, /\+\+\+ b\/new-a\.txt/);
    assert.match(da, /-two\n\+TWO/);
    assert.doesNotMatch(da, /new-b|README/, 'a sees nothing of b');
    assert.match(db, /\+\+\+ b\/new-b\.txt/);
    assert.match(db, /--- a\/README\.md\n\+\+\+ \/dev\/null/, 'a deleted file is in the diff');
    assert.doesNotMatch(db, /new-a|src\/a\.txt/, 'b sees nothing of a');
    assert.deepEqual(
      details(a.task)
        .changedFiles.map((f: any) => [f.path, f.status, f.added, f.removed])
        .sort(),
      [
        ['new-a.txt', 'added', 1, 0],
        ['src/a.txt', 'modified', 1, 1],
      ],
    );
    // A 1.0 client sees the diff part's media type and file name (0.3 parts carry neither).
    const v1 = await rpc(
      gw.url,
      { jsonrpc: '2.0', id: 9, method: 'GetTask', params: { id: a.task.id } },
      { 'A2A-Version': '1.0' },
    );
    const diffPart = v1.body.result.artifacts.find((x: any) => x.name === 'diff').parts[0];
    assert.equal(diffPart.mediaType, 'text/x-diff', JSON.stringify(diffPart).slice(0, 200));
    assert.equal(diffPart.filename, 'changes.diff');
    assert.equal(diffPart.text, da);
    assert.deepEqual(
      fingerprint(repo, 'user'),
      before,
      "the caller's files, index and branches are unchanged",
    );
    assert.deepEqual(taskBranches(repo), [], 'without commit, no task branch is kept');
    await assertNothingLeft(repo);

    // Each diff artifact applies to the caller's tree as it is.
    for (const diff of [da, db]) execFileSync('git', ['apply', '--check'], { cwd: repo, input: diff });
  });

  test('the diff artifact applies cleanly with git apply', async () => {
    const repo = makeRepo(gw.workDir, 'applies');
    const r = await run(gw, 'code', {
      workdir: repo,
      instructions: JSON.stringify({ write: { 'src/a.txt': 'one\n2\nthree\n', 'docs/x.md': '# x\n' } }),
    });
    assert.equal(r.state, 'completed', r.reason);
    execFileSync('git', ['apply', '--check'], { cwd: repo, input: diffOf(r.task) });
    execFileSync('git', ['apply'], { cwd: repo, input: diffOf(r.task) });
    assert.equal(readFileSync(join(repo, 'src/a.txt'), 'utf8'), 'one\n2\nthree\n');
    assert.equal(readFileSync(join(repo, 'docs/x.md'), 'utf8'), '# x\n');
  });

  test('commit keeps the change on the task branch with a message naming the task', async () => {
    const repo = makeRepo(gw.workDir, 'commit');
    const r = await run(gw, 'code', {
      workdir: repo,
      commit: true,
      instructions: JSON.stringify({ write: { 'feature.txt': 'f\n' } }),
    });
    assert.equal(r.state, 'completed', r.reason);
    const ws = details(r.task).workspace;
    assert.equal(ws.kind, 'worktree');
    assert.match(ws.branch, /^a2a\/code\/[0-9a-f-]{8}$/);
    assert.deepEqual(taskBranches(repo), [ws.branch]);
    assert.equal(git(repo, 'rev-parse', ws.branch).trim(), ws.commit);
    assert.match(git(repo, 'log', '-1', '--format=%B', ws.branch), new RegExp(r.task.id));
    assert.equal(git(repo, 'show', `${ws.branch}:feature.txt`), 'f\n');
    assert.equal(git(repo, 'status', '--porcelain'), '', "the caller's tree is untouched");
    await assertNothingLeft(repo);
  });

  test('kept branches and conversation refs are deleted once BRANCH_RETENTION_HOURS have passed', async () => {
    const repo = makeRepo(gw.workDir, 'retention');
    const r = await run(gw, 'code', {
      workdir: repo,
      commit: true,
      instructions: JSON.stringify({ write: { 'kept.txt': 'k\n' } }),
    });
    assert.equal(r.state, 'completed', r.reason);
    const hidden = (): string => git(repo, 'for-each-ref', '--format=%(refname)', 'refs/a2a/');
    assert.equal(taskBranches(repo).length, 1);
    assert.match(hidden(), /^refs\/a2a\/conversations\//);
    assert.equal(
      await gw.gateway.workspaces.prune(Date.now() + 71 * 3_600_000),
      0,
      'not yet (72 h by default)',
    );
    assert.equal(taskBranches(repo).length, 1);
    assert.ok((await gw.gateway.workspaces.prune(Date.now() + 73 * 3_600_000)) >= 2);
    assert.deepEqual(taskBranches(repo), []);
    assert.equal(hidden(), '');
  });

  test('apply puts the change into a clean working tree', async () => {
    const repo = makeRepo(gw.workDir, 'apply-clean');
    const r = await run(gw, 'code', {
      workdir: repo,
      apply: true,
      instructions: JSON.stringify({ write: { 'src/a.txt': 'applied\n' } }),
    });
    assert.equal(r.state, 'completed', r.reason);
    assert.equal(details(r.task).workspace.applied, true);
    assert.equal(readFileSync(join(repo, 'src/a.txt'), 'utf8'), 'applied\n');
    assert.deepEqual(taskBranches(repo), []);
    await assertNothingLeft(repo);
  });

  test('apply onto a dirty tree is refused, loses nothing, and keeps the change on the task branch', async () => {
    const repo = makeRepo(gw.workDir, 'apply-dirty');
    writeFileSync(join(repo, 'src/a.txt'), 'my own unfinished work\n');
    writeFileSync(join(repo, 'mine.txt'), 'untracked but mine\n');
    const before = fingerprint(repo, 'user');
    const r = await run(gw, 'code', {
      workdir: repo,
      apply: true,
      instructions: JSON.stringify({ write: { 'src/a.txt': 'agent version\n' } }),
    });
    assert.equal(r.state, 'failed');
    assert.match(r.reason, /apply refused: .*uncommitted changes or untracked files/);
    const afterwards = fingerprint(repo, 'user');
    assert.ok(afterwards['.git/refs/heads/a2a'] === undefined);
    for (const [path, hash] of Object.entries(before))
      assert.equal(afterwards[path], hash, `${path} is as it was`);
    const [branch] = taskBranches(repo);
    assert.ok(branch, 'the task branch is kept');
    assert.match(r.reason, new RegExp(branch ?? 'no branch'));
    assert.equal(git(repo, 'show', `${branch}:src/a.txt`), 'agent version\n', 'the change is on it');
    await assertNothingLeft(repo);
  });

  test('a failed task and a canceled task leave no worktree and no branch', async () => {
    const repo = makeRepo(gw.workDir, 'fail-cancel');
    const failed = await run(gw, 'code', {
      workdir: repo,
      instructions: JSON.stringify({ write: { 'half.txt': 'x' }, exitCode: 1 }),
    });
    assert.equal(failed.state, 'failed');
    await assertNothingLeft(repo);

    const sent = await sendTask(gw.url, {
      skill: 'code',
      blocking: false,
      input: { workdir: repo, instructions: JSON.stringify({ write: { 'slow.txt': 'x' }, sleepMs: 30_000 }) },
    });
    const id = sent.body.result.id as string;
    // Wait until the agent is running in its worktree, then cancel.
    for (let i = 0; i < 100 && worktrees(repo) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(worktrees(repo), 2, 'the task runs in a worktree of its own');
    const canceled = await rpc(gw.url, { jsonrpc: '2.0', id: 2, method: 'tasks/cancel', params: { id } });
    assert.equal(canceled.body.result?.status.state, 'canceled', JSON.stringify(canceled.body));
    for (let i = 0; i < 100 && worktrees(repo) > 1; i++) await new Promise((r) => setTimeout(r, 50));
    await assertNothingLeft(repo);
    assert.deepEqual(taskBranches(repo), []);
    assert.equal(git(repo, 'status', '--porcelain'), '');
  });

  test("a follow-up turn starts from the previous turn's change, and its diff is its own", async () => {
    const repo = makeRepo(gw.workDir, 'follow-up');
    const contextId = `ctx-${Math.random()}`;
    const first = await run(
      gw,
      'code',
      { workdir: repo, instructions: JSON.stringify({ write: { 'step1.txt': '1\n' } }) },
      { contextId },
    );
    assert.equal(first.state, 'completed', first.reason);
    const second = await run(
      gw,
      'code',
      // no workdir: the conversation stays on its repository
      { instructions: JSON.stringify({ require: ['step1.txt'], write: { 'step2.txt': '2\n' } }) },
      { contextId },
    );
    assert.equal(second.state, 'completed', second.reason);
    assert.match(diffOf(second.task), /\+\+\+ b\/step2\.txt/);
    assert.doesNotMatch(diffOf(second.task), /step1/);
    assert.equal(
      JSON.parse(artifact(first.task, 'result').parts[0].text).cwd,
      JSON.parse(artifact(second.task, 'result').parts[0].text).cwd,
      'both turns ran in the same directory (a resumed CLI session is tied to it)',
    );
    await assertNothingLeft(repo);
  });

  test('a directory that is not a repository is worked on in a copy; apply writes the change back', async () => {
    const dir = join(gw.workDir, 'plain');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'a\n');
    const r = await run(gw, 'code', {
      workdir: dir,
      instructions: JSON.stringify({ write: { 'notes.txt': 'a\nb\n', 'new.txt': 'n\n' } }),
    });
    assert.equal(r.state, 'completed', r.reason);
    assert.equal(details(r.task).workspace.kind, 'copy');
    assert.match(diffOf(r.task), /\+b/);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'a\n', 'the original is untouched');

    const applied = await run(gw, 'code', {
      workdir: dir,
      apply: true,
      instructions: JSON.stringify({ write: { 'notes.txt': 'a\nc\n' } }),
    });
    assert.equal(applied.state, 'completed', applied.reason);
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'a\nc\n');
    assert.deepEqual(await gw.gateway.workspaces.leftovers(), []);
  });

  test('commit on a directory that is not a repository fails with the reason', async () => {
    const dir = join(gw.workDir, 'plain-commit');
    mkdirSync(dir);
    const r = await run(gw, 'code', { workdir: dir, commit: true, instructions: '{}' });
    assert.equal(r.state, 'failed');
    assert.match(r.reason, /commit needs a git repository/);
  });

  test('review_pr returns structured comments and leaves the repository byte-for-byte unchanged', async () => {
    const repo = makeRepo(gw.workDir, 'review');
    git(repo, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(repo, 'src/a.txt'), 'loop forever\n');
    git(repo, 'commit', '-q', '-am', 'feature');
    writeFileSync(join(repo, 'wip.txt'), 'uncommitted\n');
    const before = fingerprint(repo);
    const r = await run(gw, 'review_pr', { workdir: repo, base: 'main', head: 'feature' });
    assert.equal(r.state, 'completed', r.reason);
    const review = artifact(r.task, 'result').parts.find((p: any) => p.kind === 'data' && p.data.comments);
    assert.deepEqual(
      review.data.comments,
      withFindingIds([
        { file: 'src/a.txt', line: 1, severity: 'major' as const, text: 'this never terminates' },
        { file: 'src/a.txt', line: null, severity: 'minor' as const, text: 'rename it' },
      ]),
    );
    assert.equal(artifact(r.task, 'diff'), undefined, 'a review returns no diff');
    assert.equal(details(r.task).workspace.discardedChanges, 1, 'what the reviewer wrote was thrown away');
    assert.deepEqual(fingerprint(repo), before);
    assert.deepEqual(taskBranches(repo), []);
    await assertNothingLeft(repo);
  });

  test('generated files that do not parse fail the task with the parse error', async () => {
    const repo = makeRepo(gw.workDir, 'generated');
    const yaml = await run(gw, 'generate_k8s_manifests', { workdir: repo, project_description: 'an API' });
    assert.equal(yaml.state, 'failed');
    assert.match(yaml.reason, /k8s\/app\.yaml does not parse as YAML/);
    const docker = await run(gw, 'generate_dockerfile', { workdir: repo, project_description: 'an API' });
    assert.equal(docker.state, 'failed');
    assert.match(
      docker.reason,
      /Dockerfile is not a valid Dockerfile: line 1: the first instruction is RUN, expected FROM/,
    );
    await assertNothingLeft(repo);
  });

  test('base_ref, commit and apply without a workdir are refused naming the field', async () => {
    const res = await sendTask(gw.url, { skill: 'code', input: { instructions: 'x', apply: true } });
    assert.match(res.body.error?.message ?? '', /input\.apply: needs input\.workdir/);
  });
});

describe('the template fallback for deployment files', () => {
  let gw: TestGateway;
  before(async () => {
    // claude is the skills' backend, and it is not installed here.
    gw = await startTestGateway({ env: { CLAUDE_COMMAND: '/nonexistent/claude' } });
  });
  after(async () => {
    await gw.stop();
  });

  const nodeProject = (name: string): string => {
    const dir = makeRepo(gw.workDir, name);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: '@acme/orders-api', main: 'server.js', scripts: { start: 'node server.js' } }),
    );
    writeFileSync(join(dir, 'package-lock.json'), '{}');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'node project');
    return dir;
  };

  test('generate_dockerfile on a Node project writes a Dockerfile that starts with FROM', async () => {
    const repo = nodeProject('node-docker');
    const r = await run(gw, 'generate_dockerfile', {
      workdir: repo,
      project_description: 'Express API on port 4000',
    });
    assert.equal(r.state, 'completed', r.reason);
    const d = details(r.task);
    assert.equal(d.backend, 'template');
    assert.equal(d.fallbackFrom, 'claude', 'the result says which backend produced it');
    const dockerfile = artifact(r.task, 'Dockerfile').parts[0].text as string;
    assert.match(
      dockerfile.split('\n').find((l) => /^[A-Z]/.test(l))!,
      /^FROM node:/,
    );
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /EXPOSE 4000/);
    assert.match(diffOf(r.task), /\+\+\+ b\/Dockerfile/);
  });

  test('generate_k8s_manifests on a Node project writes manifests that parse', async () => {
    const repo = nodeProject('node-k8s');
    const r = await run(gw, 'generate_k8s_manifests', { workdir: repo, project_description: 'an API' });
    assert.equal(r.state, 'completed', r.reason);
    const files = (r.task.artifacts as any[]).filter((a) => a.name.startsWith('k8s/'));
    assert.deepEqual(files.map((f) => f.name).sort(), [
      'k8s/deployment.yaml',
      'k8s/kustomization.yaml',
      'k8s/service.yaml',
    ]);
    const kinds: string[] = [];
    for (const f of files.filter((f) => f.name !== 'k8s/kustomization.yaml')) {
      for (const doc of parseAllDocuments(f.parts[0].text as string) as any[]) {
        assert.deepEqual(doc.errors, []);
        const obj = doc.toJS();
        assert.equal(typeof obj.apiVersion, 'string');
        assert.equal(obj.metadata.name, 'orders-api');
        kinds.push(obj.kind);
      }
    }
    assert.deepEqual(kinds.sort(), ['Deployment', 'Service']);
  });

  test('a skill the templates cannot do still fails naming the missing CLI', async () => {
    const repo = nodeProject('node-refactor');
    const r = await run(gw, 'refactor_code', { workdir: repo, instructions: 'split it' });
    assert.equal(r.state, 'failed');
    assert.match(r.reason, /command "\/nonexistent\/claude" was not found/);
  });
});

describe('workdir confinement', () => {
  let gw: TestGateway;
  let outside: { dir: string; cleanup: () => void };
  before(async () => {
    outside = tempDir('a2a-outside-');
    gw = await startTestGateway({ configYaml: CONFIG });
    mkdirSync(join(gw.workDir, 'inside'));
    symlinkSync(outside.dir, join(gw.workDir, 'escape-link'));
    symlinkSync(join(gw.workDir, 'escape-link'), join(gw.workDir, 'link-to-link'));
    mkdirSync(`${gw.workDir}-sibling`, { recursive: true });
    writeFileSync(join(gw.workDir, 'a-file'), 'x');
  });
  after(async () => {
    await gw.stop();
    outside.cleanup();
  });

  const cases: Array<[string, (root: string, out: string) => string, RegExp]> = [
    ['a relative path that climbs out with ..', () => '../..', /outside the allowed workspace roots/],
    ['.. after a real directory', () => 'inside/../../', /outside the allowed workspace roots/],
    ['an absolute path elsewhere', (_r, out) => out, /outside the allowed workspace roots/],
    ['/etc', () => '/etc', /outside the allowed workspace roots/],
    ['a symlink inside the root that points out', () => 'escape-link', /outside the allowed workspace roots/],
    ['a symlink to that symlink', () => 'link-to-link', /outside the allowed workspace roots/],
    [
      'a sibling whose name starts like the root',
      (r) => `${r}-sibling`,
      /outside the allowed workspace roots/,
    ],
    ['a path that does not exist', () => 'nope/never', /does not exist on this machine/],
    ['a file, not a directory', () => 'a-file', /is not a directory/],
    ['a NUL byte', () => 'inside\u0000/x', /NUL byte/],
  ];
  for (const [name, path, expected] of cases) {
    test(`refused before any task exists: ${name}`, async () => {
      const res = await sendTask(gw.url, {
        skill: 'code',
        input: {
          workdir: path(gw.workDir, outside.dir),
          instructions: JSON.stringify({ write: { x: 'x' } }),
        },
      });
      const error = res.body.error;
      assert.ok(error, `expected an error, got ${JSON.stringify(res.body.result?.status)}`);
      assert.match(error.message, /input\.workdir/);
      assert.match(error.message, expected);
      assert.deepEqual(readdirSync(outside.dir), [], 'nothing was written outside');
    });
  }

  test('a relative path inside the root is accepted', async () => {
    const r = await run(gw, 'code', { workdir: 'inside', instructions: '{}' });
    assert.equal(r.state, 'completed', r.reason);
  });
});

describe('NON_GIT_WORKSPACE=in_place', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ configYaml: CONFIG, env: { NON_GIT_WORKSPACE: 'in_place' } });
  });
  after(async () => {
    await gw.stop();
  });

  test('a plain directory is worked on in place, and the diff is taken against a snapshot', async () => {
    const dir = join(gw.workDir, 'in-place');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'a\n');
    const r = await run(gw, 'code', {
      workdir: dir,
      instructions: JSON.stringify({ write: { 'notes.txt': 'a\nb\n' }, delete: [] }),
    });
    assert.equal(r.state, 'completed', r.reason);
    assert.equal(details(r.task).workspace.kind, 'in_place');
    assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'a\nb\n', 'the change is in the directory');
    assert.match(diffOf(r.task), /--- a\/notes\.txt\n\+\+\+ b\/notes\.txt\n@@ -1 \+1,2 @@\n a\n\+b/);
    assert.deepEqual(await gw.gateway.workspaces.leftovers(), [], 'the snapshot is gone');
  });
});
