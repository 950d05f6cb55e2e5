// What the sandbox binds for a program: its install directory (the outermost node_modules of a package, the prefix
// above a bin directory) and the interpreter its #! line names; a directory that is not a linked worktree has no
// repository parts to bind.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { installDirOf, interpreterOf, isInside, worktreeGit } from '../../src/runner/sandbox-paths.js';

const dir = mkdtempSync(join(tmpdir(), 'a2a-sandbox-paths-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, text: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  chmodSync(path, 0o755);
  return path;
}

describe('sandbox paths', () => {
  test('a package in node_modules needs the outermost node_modules (its hoisted dependencies)', () => {
    const cli = file(join(dir, 'app/node_modules/@scope/cli/node_modules/x/bin/run.js'), '');
    assert.equal(installDirOf(cli), join(dir, 'app/node_modules'));
  });

  test('a program in a bin directory needs its prefix; any other, its directory', () => {
    assert.equal(installDirOf(file(join(dir, 'opt/tool/bin/tool'), '')), join(dir, 'opt/tool'));
    assert.equal(installDirOf(file(join(dir, 'scripts/run'), '')), join(dir, 'scripts'));
  });

  test('the interpreter of a script: env names it, or the #! path is it; a binary has none', () => {
    assert.equal(interpreterOf(file(join(dir, 's1'), '#!/usr/bin/env -S node --flag\n')), 'node');
    assert.equal(interpreterOf(file(join(dir, 's2'), '#!/bin/bash -e\necho\n')), '/bin/bash');
    assert.equal(interpreterOf(file(join(dir, 's3'), '\u007fELF...')), undefined);
    assert.equal(interpreterOf(join(dir, 'missing')), undefined);
  });

  test('a plain directory (or one with its own .git directory) is not a linked worktree', async () => {
    mkdirSync(join(dir, 'plain/.git'), { recursive: true });
    assert.equal(await worktreeGit(join(dir, 'plain')), undefined);
    assert.equal(await worktreeGit(join(dir, 'nowhere')), undefined);
  });

  test('isInside is by path components, not by string prefix', () => {
    assert.equal(isInside('/data/worktrees/a', '/data'), true);
    assert.equal(isInside('/data', '/data'), true);
    assert.equal(isInside('/database', '/data'), false);
    assert.equal(isInside('/', '/data'), false);
  });
});
