// The planner's part of the self-improvement loop: a follow-up naming a finding gets its bug report built from the
// review's finding; push and pull_request keep the branch, need a workdir, and are refused up front without the
// remote.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { after, describe, test } from 'node:test';
import type { Message } from '@a2a-js/sdk';
import { loadConfig } from '../../src/config/load.js';
import { TaskInputError, TaskPlanner } from '../../src/service/planner.js';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';
import { withFindingIds } from '../../src/skills/findings.js';

const root = realpathSync(mkdtempSync(`${tmpdir()}/a2a-planner-`));
const config = loadConfig({
  env: { WORKSPACE_ROOTS: root },
  knownSkills: BUILTIN_SKILLS.map((s) => s.id),
  cwd: root,
});
const [finding] = withFindingIds([
  {
    file: 'src/math.ts',
    line: 7,
    severity: 'major' as const,
    text: 'sum() skips the last element',
    suggestion: 'loop to i < n, not i < n - 1',
  },
]);

function message(input: Record<string, unknown>): Message {
  return {
    messageId: 'm1',
    role: 1,
    parts: [{ content: { $case: 'data', value: input } }],
    metadata: { skill: 'fix_bug' },
  } as unknown as Message;
}

const remotes: Array<[string, string]> = [];
const planner = new TaskPlanner({
  config,
  skills: BUILTIN_SKILLS,
  findingsOf: (taskId) => Promise.resolve(taskId === 'review-1' ? [finding!] : undefined),
  checkRemote: (workdir, remote) => {
    remotes.push([workdir, remote]);
    return Promise.resolve(remote === 'origin' ? undefined : `the repository has no remote "${remote}"`);
  },
});

describe('planning the loop', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a finding becomes the bug report: where, what, the suggestion; its file is where to start', async () => {
    const plan = await planner.plan(
      message({ finding: `review-1#${finding!.id}`, workdir: root }),
      undefined,
    );
    assert.match(plan.prompt, /finding f[0-9a-f]{8}\) reported a major problem in src\/math\.ts:7/);
    assert.match(plan.prompt, /sum\(\) skips the last element/);
    assert.match(plan.prompt, /Suggested fix: loop to i < n/);
    assert.match(plan.prompt, /"src\/math\.ts"/);
  });

  test('an unknown task or finding is refused naming input.finding', async () => {
    await assert.rejects(
      planner.plan(message({ finding: `review-2#${finding!.id}` }), undefined),
      (err: unknown) => {
        assert.ok(err instanceof TaskInputError);
        assert.equal(err.field, 'input.finding');
        assert.match(err.message, /review-2.*no findings/);
        return true;
      },
    );
    await assert.rejects(
      planner.plan(message({ finding: 'review-1#f00000000' }), undefined),
      (err: unknown) => {
        assert.ok(err instanceof TaskInputError);
        assert.match(err.message, new RegExp(`no finding "f00000000"; its findings are ${finding!.id}`));
        return true;
      },
    );
  });

  test('pull_request implies push implies commit; the remote is checked before any task exists', async () => {
    const plan = await planner.plan(
      message({ bug_description: 'x', workdir: root, pull_request: true }),
      undefined,
    );
    assert.deepEqual(plan.workspace, {
      commit: true,
      apply: false,
      push: { remote: 'origin', pullRequest: true },
    });
    assert.deepEqual(remotes.at(-1), [root, 'origin']);
    await assert.rejects(
      planner.plan(
        message({ bug_description: 'x', workdir: root, push: true, remote: 'upstream' }),
        undefined,
      ),
      (err: unknown) =>
        err instanceof TaskInputError &&
        err.field === 'input.remote' &&
        /no remote "upstream"/.test(err.message),
    );
  });

  test('push without a workdir is refused: there is no repository to push from', async () => {
    await assert.rejects(
      planner.plan(message({ bug_description: 'x', push: true }), undefined),
      (err: unknown) =>
        err instanceof TaskInputError &&
        err.field === 'input.push' &&
        /needs input\.workdir/.test(err.message),
    );
  });
});
