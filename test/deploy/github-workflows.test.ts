// The project's own GitHub pipeline: the workflows pass @action-validator/cli (the pinned dev dependency, run for
// real), CI runs what .ci/run runs, the release builds the package and the image, and the dependency-update config
// names directories that exist.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';

const VALIDATOR = join(REPO_ROOT, 'node_modules/@action-validator/cli/cli.mjs');
const WORKFLOWS = ['.github/workflows/ci.yml', '.github/workflows/release.yml'];
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

function validate(file: string): { ok: boolean; output: string } {
  const r = spawnSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8', timeout: 60_000 });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

interface Step {
  run?: string;
  uses?: string;
}

describe('GitHub workflows', () => {
  const tmp = tempDir('a2a-gh-');
  after(() => tmp.cleanup());

  for (const file of WORKFLOWS) {
    test(`${file} passes action-validator`, () => {
      const r = validate(join(REPO_ROOT, file));
      assert.ok(r.ok, r.output);
    });
  }

  test('the validator is not a rubber stamp: a job without runs-on and an unknown key fail it', () => {
    const broken = join(tmp.dir, 'broken.yml');
    writeFileSync(broken, 'name: x\non: push\njobs:\n  a:\n    stepz:\n      - run: echo\n');
    assert.equal(validate(broken).ok, false);
  });

  test('CI runs what .ci/run runs: npm ci, lint, the whole suite, with the same system tools', () => {
    const ci = parse(read('.github/workflows/ci.yml')) as { jobs: Record<string, { steps: Step[] }> };
    const runs = Object.values(ci.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ''));
    const script = read('.ci/run');
    for (const command of ['npm ci', 'npm run lint', 'npm test']) {
      assert.ok(script.includes(command), `.ci/run runs ${command}`);
      assert.ok(
        runs.some((r) => r.trim() === command),
        `ci.yml runs ${command}`,
      );
    }
    const aptPackages = [...script.matchAll(/need\+=\(([a-z0-9-]+)\)/g)].map((m) => m[1]);
    assert.ok(aptPackages.length >= 5, 'the packages .ci/run installs were found');
    const install = runs.find((r) => r.includes('apt-get install')) ?? '';
    for (const pkg of aptPackages)
      assert.match(install, new RegExp(`\\b${pkg}\\b`), `ci.yml installs ${pkg}`);
    assert.match(read('.github/workflows/ci.yml'), /redis/, 'Redis is there for the suites that use it');
  });

  test('the release builds and publishes the package and the Docker image from the tag', () => {
    const release = parse(read('.github/workflows/release.yml')) as {
      on: { push: { tags: string[] } };
      jobs: Record<string, { steps: Step[] }>;
    };
    assert.ok(release.on.push.tags.length > 0);
    const steps = Object.values(release.jobs).flatMap((job) => job.steps);
    assert.ok(steps.some((s) => s.run === 'npm pack'));
    assert.ok(steps.some((s) => s.run?.startsWith('npm publish')));
    assert.ok(steps.some((s) => s.uses?.startsWith('docker/build-push-action@')));
  });

  test('dependabot covers npm (root and the e2e CLIs), Docker and the actions, in directories that exist', () => {
    const config = parse(read('.github/dependabot.yml')) as {
      version: number;
      updates: Array<{ 'package-ecosystem': string; directory: string; schedule: { interval: string } }>;
    };
    assert.equal(config.version, 2);
    const ecosystems = config.updates.map((u) => `${u['package-ecosystem']}:${u.directory}`);
    for (const expected of ['npm:/', 'npm:/test/e2e', 'docker:/', 'github-actions:/']) {
      assert.ok(ecosystems.includes(expected), `${expected} in ${ecosystems.join(', ')}`);
    }
    for (const u of config.updates) {
      assert.ok(existsSync(join(REPO_ROOT, u.directory)), u.directory);
      assert.match(u.schedule.interval, /^(daily|weekly|monthly)$/);
    }
    assert.ok(existsSync(join(REPO_ROOT, 'test/e2e/package.json')));
    assert.ok(existsSync(join(REPO_ROOT, 'Dockerfile')));
  });
});
