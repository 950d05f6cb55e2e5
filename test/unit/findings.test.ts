// Finding ids: stable for the same comment whatever its position, unique within a review, and the references a
// follow-up names to have a finding fixed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseReviewComments } from '../../src/skills/review-skill.js';
import {
  FINDING_ID,
  findingId,
  findingsOfArtifacts,
  fixRequestOf,
  parseFindingRef,
  withFindingIds,
} from '../../src/skills/findings.js';

const a = { file: 'src/a.ts', line: 3, severity: 'major' as const, text: 'off by one in the loop bound' };
const b = { file: 'src/b.ts', line: null, severity: 'minor' as const, text: 'rename it' };

describe('finding ids', () => {
  test('the same comment gets the same id in any order and any run; different comments differ', () => {
    const first = withFindingIds([a, b]);
    const second = withFindingIds([b, a]);
    assert.equal(first[0]?.id, second[1]?.id);
    assert.equal(first[1]?.id, second[0]?.id);
    assert.notEqual(first[0]?.id, first[1]?.id);
    for (const f of first) assert.match(f.id, FINDING_ID);
    // Severity is an opinion about the finding, not part of what it is.
    assert.equal(findingId({ ...a }), findingId({ ...a, text: ' off by one in the loop bound ' }));
  });

  test('a comment repeated word for word gets a numbered id, so ids stay unique', () => {
    const ids = withFindingIds([a, a, a]).map((f) => f.id);
    assert.deepEqual(ids, [ids[0], `${ids[0]}-2`, `${ids[0]}-3`]);
  });

  test('a review answer gives each comment its finding id, and keeps the suggestion next to the text', () => {
    const answer =
      '```json\n[{"file": "a.ts", "line": 1, "severity": "major", "text": "bad", "suggestion": " do good "}]\n```';
    const [finding] = parseReviewComments(answer).comments;
    assert.deepEqual(finding, {
      file: 'a.ts',
      line: 1,
      severity: 'major',
      text: 'bad',
      suggestion: 'do good',
      id: findingId({ file: 'a.ts', line: 1, text: 'bad' }),
    });
  });
});

describe('finding references', () => {
  test('<taskId>#<findingId> is read; anything else is not', () => {
    const id = findingId(a);
    assert.deepEqual(parseFindingRef(`task-1#${id}`), { taskId: 'task-1', findingId: id });
    assert.deepEqual(parseFindingRef(`task-1#${id}-2`), { taskId: 'task-1', findingId: `${id}-2` });
    assert.equal(parseFindingRef(id), undefined);
    assert.equal(parseFindingRef(`task-1#nope`), undefined);
    assert.equal(parseFindingRef(`a b#${id}`), undefined);
  });

  test("the findings are read from a task's artifacts in the 1.0 and the 0.3 part shapes", () => {
    const findings = withFindingIds([a]);
    const v10 = [
      {
        parts: [
          { content: { $case: 'text', value: 'x' } },
          { content: { $case: 'data', value: { comments: findings } } },
        ],
      },
    ];
    const v03 = [{ parts: [{ kind: 'data', data: { comments: findings } }] }];
    assert.deepEqual(findingsOfArtifacts(v10), findings);
    assert.deepEqual(findingsOfArtifacts(v03), findings);
    assert.equal(findingsOfArtifacts([{ parts: [] }]), undefined);
  });

  test('the fix request names where, how serious, what and the suggestion', () => {
    const [f] = withFindingIds([{ ...a, suggestion: 'use < instead of <=' }]);
    const text = fixRequestOf(f!, { taskId: 't1', findingId: f!.id }, 'keep the API');
    assert.match(text, /task t1, finding f[0-9a-f]{8}\) reported a major problem in src\/a\.ts:3/);
    assert.match(text, /off by one in the loop bound/);
    assert.match(text, /Suggested fix: use < instead of <=/);
    assert.match(text, /Notes from the caller: keep the API/);
  });
});
