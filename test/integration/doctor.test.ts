import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';

function doctor(env: Record<string, string>, args: string[] = []) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'doctor', ...args],
    {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

describe('a2a-gateway doctor', () => {
  test('lists every backend: found or not, path, version, credentials, and the skills that use it', () => {
    const tmp = tempDir();
    try {
      const bin = join(tmp.dir, 'bin');
      mkdirSync(bin);
      const claude = join(bin, 'claude');
      writeFileSync(claude, '#!/bin/sh\necho "9.9.9 (Claude Code)"\n');
      chmodSync(claude, 0o755);
      const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: tmp.dir, ANTHROPIC_API_KEY: 'sk-test-key-123456' };
      const r = doctor(env, ['--json']);
      assert.equal(r.status, 1, 'non-zero: fix_bug needs droid, which is missing');
      const reports = JSON.parse(r.stdout) as Array<Record<string, any>>;
      const byName = Object.fromEntries(reports.map((x) => [x.name, x]));
      assert.deepEqual(Object.keys(byName).sort(), [
        '(acp claude)',
        '(acp codex)',
        '(acp copilot)',
        '(acp droid)',
        '(acp gemini)',
        '(acp opencode)',
        '(acp qwen)',
        'claude',
        'codex',
        'copilot',
        'droid',
        'gemini',
        'git',
        'opencode',
        'qwen',
        'template',
      ]);
      assert.equal(byName.template.found, true, 'the template backend is built in');
      // Each coding CLI over ACP, configured or not: Claude Code's ACP adapter is another command than claude.
      assert.equal(byName['(acp claude)'].found, false);
      assert.equal(byName['(acp claude)'].command, 'claude-agent-acp|claude-code-acp');
      assert.equal(byName['(acp gemini)'].type, 'acp:gemini');
      assert.equal(byName.git.found, true, 'git, which every task needs, is checked too');
      assert.match(byName.git.version, /^git version \d/);
      assert.equal(byName.claude.found, true);
      assert.equal(byName.claude.path, claude);
      assert.equal(byName.claude.version, '9.9.9 (Claude Code)');
      assert.equal(byName.claude.credentials, 'set');
      assert.equal(byName.claude.credentialSource, 'ANTHROPIC_API_KEY');
      assert.ok(byName.claude.skills.includes('refactor_code'));
      assert.equal(byName.droid.found, false);
      assert.deepEqual(byName.droid.skills, ['fix_bug']);
      assert.equal(byName.droid.credentials, 'missing');
      assert.ok(!r.stdout.includes('sk-test-key-123456'), 'the key itself is never printed');

      const table = doctor(env);
      assert.match(table.stdout, /^backend\s+type\s+command\s+version\s+credentials\s+skills$/m);
      assert.match(table.stdout, /^droid\s+droid\s+NOT FOUND \(droid\)/m);
    } finally {
      tmp.cleanup();
    }
  });
});
