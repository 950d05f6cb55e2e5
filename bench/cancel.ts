/**
 * Benchmark 5: cancel. N tasks, one at a time, whose backend is a tree of four processes; once all four run, a
 * `CancelTask` is sent and the time taken until every process of the tree is gone (no /proc entry, or a zombie
 * awaiting its reaper) is recorded. A only (the gateway, production settings). Target: p99 <= 1 s.
 *
 *   node --import tsx bench/cancel.ts [--tasks 20]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH, rpc, sendTask } from './lib/client.js';
import { machineLine, percentile, printTable, round, waitFor } from './lib/report.js';
import { REPO_ROOT, startGateway } from './lib/servers.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '20' } } });
const count = Math.min(Number(values.tasks), 200);

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state is the field after the command name, which is in parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function runCancel(): Promise<Record<string, number>> {
  process.stdout.write(`\n# 5. Cancel: ${count} tasks with a 4-process tree · ${machineLine()}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-cancel-'));
  const pidFile = join(dir, 'pids');
  const tree = join(REPO_ROOT, 'bench/fixtures/spawn-tree.mjs');
  // sandbox: off for this backend only: it needs the pid file in /tmp and real pids, which bubblewrap hides; the rest of A's
  // settings stay as in production.
  const config = [
    'backends:',
    `  tree: { type: command, sandbox: off, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(tree)}, ${JSON.stringify(pidFile)}] }`,
    'skills:',
    '  code: { backend: tree }',
    '',
  ].join('\n');
  const a = await startGateway({ configYaml: config });
  const gone: number[] = [];
  const answered: number[] = [];
  let leftovers = 0;
  try {
    for (let i = 0; i < count; i++) {
      rmSync(pidFile, { force: true });
      const task = await sendTask(a.url, { headers: AUTH, skill: 'code', returnImmediately: true });
      await waitFor(() => pidsIn(pidFile).length >= 4, 30_000, 'the process tree');
      const pids = pidsIn(pidFile);
      const t0 = performance.now();
      const answer = await rpc(a.url, 'CancelTask', { id: task.id }, AUTH);
      answered.push(performance.now() - t0);
      if (answer.error) throw new Error(`CancelTask failed: ${JSON.stringify(answer.error)}`);
      try {
        await waitFor(() => pids.every((pid) => !alive(pid)), 30_000, 'the tree to be gone');
        gone.push(performance.now() - t0);
      } catch {
        leftovers += pids.filter(alive).length;
        for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      }
    }
    const figures = {
      p50: round(percentile(gone, 50)),
      p99: round(percentile(gone, 99)),
      answerP50: round(percentile(answered, 50)),
      leftovers,
    };
    printTable('Cancel, from CancelTask sent to the whole process tree gone (target p99 <= 1000 ms)', [
      {
        tasks: count,
        'gone p50 ms': figures.p50,
        'gone p99 ms': figures.p99,
        'CancelTask answer p50 ms': figures.answerP50,
        'processes left after 30 s': leftovers,
      },
    ]);
    return figures;
  } finally {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runCancel();
