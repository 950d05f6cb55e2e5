/**
 * What the container sandbox costs per run start, against no sandbox and bubblewrap, interleaved (one of each in
 * turn, so the machine's load falls on all alike): the task runner starting `/bin/sh -c 'exit 0'` in a git
 * worktree, through the real engine and the test image (test/helpers/container-engine.ts: this machine's node,
 * sh and libraries, imported offline). Also a whole blocking `code` task through a gateway, `sandbox: off`
 * against the container, with a node fake CLI that writes one file. Bounded in count.
 *
 *   node --import tsx bench/sandbox-container.ts [--runs 20] [--tasks 10]
 *
 * Prints, per case, the median and p90 in milliseconds.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Containment } from '../src/runner/containment.js';
import { ProcessRegistry } from '../src/runner/registry.js';
import { Sandboxes, type SandboxSetting } from '../src/runner/sandbox.js';
import { createTaskRunner } from '../src/runner/task-runner.js';
import type { ProcessRunner } from '../src/runner/types.js';
import { findTestEngine } from '../test/helpers/container-engine.js';
import { FAKE_CLI_DIR, startTestGateway } from '../test/helpers/gateway.js';
import { benchGit, makeRepo, timePlainAndBoxed } from './lib/sandbox-tasks.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '20' }, tasks: { type: 'string', default: '10' } },
});
const runs = Math.min(Math.max(Number(values.runs) || 20, 1), 200);
const tasks = Math.min(Math.max(Number(values.tasks) || 10, 1), 100);

const engine = findTestEngine();
if ('reason' in engine) {
  console.log(`no container engine: ${engine.reason}`);
  process.exit(0);
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `p50 ${at(0.5).toFixed(0).padStart(5)} ms   p90 ${at(0.9).toFixed(0).padStart(5)} ms   (n=${ms.length})`;
}

const base = mkdtempSync('/var/tmp/a2a-bench-container-');
try {
  const dataDir = join(base, 'data');
  const repo = join(base, 'repo');
  makeRepo(repo, { 'README.md': 'bench\n' });
  const worktree = join(dataDir, 'worktrees', 'bench');
  benchGit(repo, 'worktree', 'add', '-q', '-b', 'a2a/bench/x', worktree);
  const home = join(dataDir, 'homes', 'bench');
  mkdirSync(home, { recursive: true });
  const policy = {
    dataDir,
    workspaceParents: [join(dataDir, 'worktrees')],
    secretFiles: [],
    network: 'on' as const,
    container: { image: engine.image, engineEnv: engine.env },
  };
  const containment = await Containment.detect('auto', process.env.PATH);
  const registry = new ProcessRegistry(join(dataDir, 'run'));
  const modes: SandboxSetting[] = ['off', engine.engine];
  const sandboxes = await Sandboxes.detect(engine.engine, ['bwrap'], policy, process.env.PATH).catch(() =>
    Sandboxes.detect(engine.engine, [], policy, process.env.PATH),
  );
  if (sandboxes.report.bwrap) modes.push('bwrap');
  const runners = new Map<SandboxSetting, ProcessRunner>(
    modes.map((m) => [
      m,
      createTaskRunner({ registry, limits: { apply: (o) => o }, containment, sandbox: sandboxes.for(m) }),
    ]),
  );
  const spawnMs = new Map<SandboxSetting, number[]>(modes.map((m) => [m, []]));
  for (let i = 0; i < runs; i++) {
    for (const mode of i % 2 === 0 ? modes : [...modes].reverse()) {
      const t0 = performance.now();
      const result = await runners.get(mode)!(
        {
          argv: ['/bin/sh', '-c', 'exit 0'],
          cwd: worktree,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
          signal: AbortSignal.timeout(60_000),
        },
        'bench',
      );
      if (result.exitCode !== 0) throw new Error(`${mode}: exit ${result.exitCode}: ${result.stderr}`);
      spawnMs.get(mode)!.push(performance.now() - t0);
    }
  }
  await containment.close();

  const edit = join(FAKE_CLI_DIR, 'edit-files.mjs');
  const gw = await startTestGateway({
    env: {
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      SANDBOX: 'off',
      SANDBOX_IMAGE: engine.image,
      ...engine.env,
    },
    configYaml: `allowBackendOverride: true
backends:
  plain: { type: command, command: ${edit}, args: ["{input.instructions}"], sandbox: off }
  boxed: { type: command, command: ${edit}, args: ["{input.instructions}"], sandbox: ${engine.engine} }
`,
  });
  const taskRepo = join(gw.workDir, 'repo');
  makeRepo(taskRepo, { 'README.md': 'bench\n' });
  const { taskMs, failures } = await timePlainAndBoxed(gw.url, taskRepo, tasks).finally(() => gw.stop());
  const c = sandboxes.report.container;
  console.log(`container sandbox cost (${c?.engine} ${c?.version}, containment ${containment.tier})`);
  for (const mode of modes) console.log(`spawn, ${mode.padEnd(8)} ${stats(spawnMs.get(mode)!)}`);
  console.log(`task, off      ${stats(taskMs.plain)}`);
  console.log(`task, ${engine.engine.padEnd(8)} ${stats(taskMs.boxed)}`);
  if (failures) console.log(`failed tasks: ${failures}`);
} finally {
  rmSync(base, { recursive: true, force: true });
  engine.cleanup();
}
