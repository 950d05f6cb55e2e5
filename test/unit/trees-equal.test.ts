// The file walk that lets a task that changed nothing skip the git diff: it must never call two different trees
// equal (a task's change would be lost from its result).
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { treesEqual } from '../../src/workspace/index.js';

describe('treesEqual', () => {
  const root = mkdtempSync(join(tmpdir(), 'a2a-trees-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  /** A tree and an identical copy of it. */
  const pair = (): [string, string] => {
    n += 1;
    const a = join(root, `a${n}`);
    mkdirSync(join(a, 'src/deep'), { recursive: true });
    writeFileSync(join(a, 'src/deep/x.txt'), 'hello\n');
    writeFileSync(join(a, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(a, 'run.sh'), 0o755);
    symlinkSync('src/deep/x.txt', join(a, 'link'));
    const b = join(root, `b${n}`);
    cpSync(a, b, { recursive: true, verbatimSymlinks: true });
    return [a, b];
  };

  test('a copy is equal; .git and excluded paths do not count', async () => {
    const [a, b] = pair();
    assert.equal(await treesEqual(a, b), true);
    mkdirSync(join(b, '.git'));
    writeFileSync(join(b, '.git', 'HEAD'), 'ref');
    writeFileSync(join(b, 'dropped'), 'x');
    assert.equal(await treesEqual(a, b, { exclude: ['dropped'] }), true);
  });

  const changes: Array<[string, (b: string) => void]> = [
    ['same size, other content', (b) => writeFileSync(join(b, 'src/deep/x.txt'), 'HELLO\n')],
    ['a new file', (b) => writeFileSync(join(b, 'src/new.txt'), '')],
    ['a new empty directory', (b) => mkdirSync(join(b, 'empty'))],
    ['a deleted file', (b) => rmSync(join(b, 'run.sh'))],
    ['the executable bit', (b) => chmodSync(join(b, 'run.sh'), 0o644)],
    [
      'a symlink pointing elsewhere',
      (b) => {
        rmSync(join(b, 'link'));
        symlinkSync('run.sh', join(b, 'link'));
      },
    ],
    [
      'a file that became a directory',
      (b) => {
        rmSync(join(b, 'run.sh'));
        mkdirSync(join(b, 'run.sh'));
      },
    ],
  ];
  for (const [what, change] of changes) {
    test(`differs: ${what}`, async () => {
      const [a, b] = pair();
      change(b);
      assert.equal(await treesEqual(a, b), false);
      assert.equal(await treesEqual(b, a), false, 'either way round');
    });
  }

  test('a tree over the entry budget counts as different (git decides)', async () => {
    const [a, b] = pair();
    assert.equal(await treesEqual(a, b, { maxEntries: 2 }), false);
  });
});
