/**
 * What the bubblewrap sandbox costs per task, bwrap against off in one run, interleaved (one of each in turn, so
 * the machine's load falls on both alike):
 * - spawn: the task runner starting `/bin/true` in a git worktree, with and without the sandbox (the sandbox's own
 *   cost: finding the programs and the repository's parts, building the options, setting up the namespaces);
 * - task: a blocking `code` send through a gateway to a fake CLI (node, edit-files.mjs) that writes one file in a
 *   worktree of a small repository, on a backend with `sandbox: off` and one with `sandbox: bwrap`.
 * Loopback only, bounded in count.
 *
 *   node --import tsx bench/sandbox-startup.ts [--runs 40] [--tasks 20]
 *
 * Prints, per case, the median and p90 in milliseconds and the difference of the medians.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Containment } from '../src/runner/containment.js';
import { ProcessRegistry } from '../src/runner/registry.js';
import { Sandboxes } from '../src/runner/sandbox.js';
import { createTaskRunner } from '../src/runner/task-runner.js';
import { FAKE_CLI_DIR, startTestGateway } from '../test/helpers/gateway.js';
import { benchGit, makeRepo, timePlainAndBoxed } from './lib/sandbox-tasks.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '40' }, tasks: { type: 'string', default: '20' } },
});
const runs = Math.min(Math.max(Number(values.runs) || 40, 1), 500);
const tasks = Math.min(Math.max(Number(values.tasks) || 20, 1), 200);

function stats(ms: number[]): { p50: number; p90: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: Math.round(at(0.5) * 10) / 10, p90: Math.round(at(0.9) * 10) / 10 };
}

/** The repository the runs and tasks work in: 50 small files. */
const REPO_FILES = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`src/f${i}.txt`, `file ${i}\n`]));

// 1. The runner alone.
const base = mkdtempSync(join(tmpdir(), 'a2a-bench-sandbox-'));
const dataDir = join(base, 'data');
const repo = join(base, 'repo');
makeRepo(repo, REPO_FILES);
const worktree = join(dataDir, 'worktrees', 'bench');
benchGit(repo, 'worktree', 'add', '-q', '-b', 'a2a/bench/x', worktree);
const home = join(dataDir, 'homes', 'bench');
mkdirSync(home, { recursive: true });
const sandboxes = await Sandboxes.detect(
  'bwrap',
  [],
  {
    dataDir,
    workspaceParents: [join(dataDir, 'worktrees')],
    secretFiles: [],
    network: 'on',
  },
  process.env.PATH,
);
const containment = await Containment.detect('auto', process.env.PATH);
const registry = new ProcessRegistry(join(dataDir, 'run'));
const runners = {
  off: createTaskRunner({ registry, limits: { apply: (o) => o }, containment }),
  bwrap: createTaskRunner({
    registry,
    limits: { apply: (o) => o },
    containment,
    sandbox: sandboxes.for('bwrap'),
  }),
};
const spawnMs: Record<'off' | 'bwrap', number[]> = { off: [], bwrap: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of i % 2 === 0 ? (['off', 'bwrap'] as const) : (['bwrap', 'off'] as const)) {
    const t0 = performance.now();
    const result = await runners[mode](
      {
        argv: ['/bin/true'],
        cwd: worktree,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
        signal: AbortSignal.timeout(30_000),
      },
      'bench',
    );
    if (result.exitCode !== 0) throw new Error(`${mode}: exit ${result.exitCode}: ${result.stderr}`);
    spawnMs[mode].push(performance.now() - t0);
  }
}
await containment.close();
rmSync(base, { recursive: true, force: true });

// 2. Whole tasks through a gateway.
const edit = join(FAKE_CLI_DIR, 'edit-files.mjs');
const gw = await startTestGateway({
  env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
  configYaml: `allowBackendOverride: true
backends:
  plain: { type: command, command: ${edit}, args: ["{input.instructions}"], sandbox: off }
  boxed: { type: command, command: ${edit}, args: ["{input.instructions}"], sandbox: bwrap }
`,
});
const taskRepo = join(gw.workDir, 'repo');
makeRepo(taskRepo, REPO_FILES);
const { taskMs, failures } = await timePlainAndBoxed(gw.url, taskRepo, tasks).finally(() => gw.stop());

const spawnOff = stats(spawnMs.off);
const spawnBwrap = stats(spawnMs.bwrap);
const taskOff = stats(taskMs.plain);
const taskBwrap = stats(taskMs.boxed);
const row = (name: string, s: { p50: number; p90: number }, n: number): string =>
  `${name.padEnd(28)} p50 ${String(s.p50).padStart(7)} ms   p90 ${String(s.p90).padStart(7)} ms   (n=${n})`;
console.log(
  `sandbox start-up cost (${sandboxes.report.bwrap?.version ?? 'bwrap'}, containment ${containment.tier})`,
);
console.log(row('spawn /bin/true, off', spawnOff, spawnMs.off.length));
console.log(row('spawn /bin/true, bwrap', spawnBwrap, spawnMs.bwrap.length));
console.log(`  difference of medians: ${Math.round((spawnBwrap.p50 - spawnOff.p50) * 10) / 10} ms`);
console.log(row('code task (worktree), off', taskOff, taskMs.plain.length));
console.log(row('code task (worktree), bwrap', taskBwrap, taskMs.boxed.length));
console.log(`  difference of medians: ${Math.round((taskBwrap.p50 - taskOff.p50) * 10) / 10} ms`);
if (failures > 0) console.log(`failed tasks: ${failures}`);
