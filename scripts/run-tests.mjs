#!/usr/bin/env node
// Runs the test tiers with node's own test runner (through tsx). `node scripts/run-tests.mjs [TIER ...]`;
// with no argument, every tier. A tier with no test files fails loudly rather than passing on nothing.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
// Every tier, in the order they run; with no argument, each one that has a folder (the e2e tier last: it installs
// the real CLIs first).
const ALL_TIERS = ['unit', 'integration', 'conformance', 'reliability', 'deploy', 'browser', 'e2e'];
const chosen = tiers.length > 0 ? tiers : ALL_TIERS.filter((t) => existsSync(join('test', t)));
// The end-to-end tier drives the real coding-agent CLIs: install them (pinned, idempotent) before it runs.
if (chosen.includes('e2e')) {
  const install = spawnSync(process.execPath, ['scripts/install-e2e-clis.mjs'], { stdio: 'inherit' });
  if (install.status !== 0) {
    console.error('installing the end-to-end CLIs failed; the e2e tier cannot run');
    process.exit(install.status ?? 1);
  }
}
const files = [];
for (const tier of chosen) {
  const dir = join('test', tier);
  const found = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.test.ts')) : [];
  if (found.length === 0 && tiers.length > 0) {
    console.error(`no test files in ${dir}`);
    process.exit(1);
  }
  files.push(...found.sort().map((f) => join(dir, f)));
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const args = [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  // Node 20 applies --test-timeout to a whole file, and an e2e file runs a real CLI through many cases.
  `--test-timeout=${chosen.includes('e2e') ? 600_000 : 180_000}`,
  '--test-reporter=spec',
  ...extra,
  ...files,
];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
