import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sendTask } from '../../test/helpers/gateway.js';

/** git with a fixed identity, quiet (the sandbox benchmarks' repositories). */
export function benchGit(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...args], { cwd, stdio: 'ignore' });
}

/** A repository at `dir` holding `files` (path to text), in one commit. */
export function makeRepo(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  benchGit(dir, 'init', '-q');
  benchGit(dir, 'add', '-A');
  benchGit(dir, 'commit', '-q', '-m', 'bench');
}

/**
 * `tasks` blocking `code` tasks on each of the backends `plain` (unconfined) and `boxed` (the sandbox being
 * measured), alternating which goes first, each writing one file in `repo`: the time of each completed one.
 */
export async function timePlainAndBoxed(
  url: string,
  repo: string,
  tasks: number,
): Promise<{ taskMs: Record<'plain' | 'boxed', number[]>; failures: number }> {
  const instructions = JSON.stringify({ write: { 'bench-output.txt': 'x\n' } });
  const taskMs: Record<'plain' | 'boxed', number[]> = { plain: [], boxed: [] };
  let failures = 0;
  for (let i = 0; i < tasks; i++) {
    for (const backend of i % 2 === 0 ? (['plain', 'boxed'] as const) : (['boxed', 'plain'] as const)) {
      const t0 = performance.now();
      const res = await sendTask(url, {
        skill: 'code',
        input: { instructions, workdir: repo },
        metadata: { backend },
      });
      if (res.body.result?.status?.state !== 'completed') failures++;
      else taskMs[backend].push(performance.now() - t0);
    }
  }
  return { taskMs, failures };
}
