/**
 * What a task's workspace costs: blocking sends of a `code` task whose agent (a fake CLI, edit-files.mjs) writes one
 * file, in the three places a task can work: the context's scratch directory (snapshot and diff), a git repository
 * (a worktree on a task branch, the diff, the removal) and a plain directory (a copy, the diff). The repository and
 * the plain directory are copies of this checkout's tracked files, so the figures are for a project of this size.
 * Loopback only, bounded in count.
 *
 *   node --import tsx bench/workspace-overhead.ts [--tasks 30]
 *
 * Prints, per kind, the median and p90 round trip, and the files the project has.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FAKE_CLI_DIR, REPO_ROOT, sendTask, startTestGateway } from '../test/helpers/gateway.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '30' } } });
const tasks = Math.min(Math.max(Number(values.tasks) || 30, 1), 500);

const gw = await startTestGateway({
  env: { LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
  configYaml: `backends:\n  editor: { type: command, command: ${join(FAKE_CLI_DIR, 'edit-files.mjs')}, args: ["{input.instructions}"] }\nskills:\n  code: { backend: editor }\n`,
});

const files = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const copyProject = (dest: string): void => {
  for (const f of files) {
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(REPO_ROOT, f), join(dest, f));
  }
};
const repo = join(gw.workDir, 'repo');
copyProject(repo);
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd: repo, stdio: 'ignore' });
git('init', '-q');
git('add', '-A');
git('commit', '-q', '-m', 'bench');
const plain = join(gw.workDir, 'plain');
copyProject(plain);

const instructions = JSON.stringify({ write: { 'bench-output.txt': 'x\n' } });
const results: Record<string, { p50: number; p90: number; failures: number }> = {};
for (const [kind, workdir] of [
  ['scratch', undefined],
  ['git worktree', repo],
  ['plain dir (copy)', plain],
] as const) {
  const latencies: number[] = [];
  let failures = 0;
  for (let i = 0; i < tasks; i++) {
    const t0 = performance.now();
    const res = await sendTask(gw.url, {
      skill: 'code',
      input: workdir ? { instructions, workdir } : { instructions },
    });
    latencies.push(performance.now() - t0);
    if (res.body?.result?.status?.state !== 'completed') failures += 1;
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
  results[kind] = { p50: at(0.5), p90: at(0.9), failures };
}
await gw.stop();
console.log(JSON.stringify({ tasks, projectFiles: files.length, ms: results }, null, 2));
