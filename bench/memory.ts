/**
 * Benchmark 6: memory. N tasks running at once, each streaming 1 MB of output (100-byte lines, 64 KB every 50 ms),
 * then holding for 2 s; the gateway's resident memory is sampled every 50 ms. A only (production settings).
 * Target: peak RSS <= 500 MB at 50 tasks.
 *
 *   node --import tsx bench/memory.ts [--tasks 50] [--kb 1024]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH, rpc, sendTask } from './lib/client.js';
import { machineLine, printTable, waitFor } from './lib/report.js';
import { REPO_ROOT, startGateway } from './lib/servers.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '50' }, kb: { type: 'string', default: '1024' } },
});
const count = Math.min(Number(values.tasks), 200);
const kb = Math.min(Number(values.kb), 16 * 1024);

export async function runMemory(): Promise<Record<string, number>> {
  process.stdout.write(`\n# 6. Memory: ${count} tasks each streaming ${kb} KB · ${machineLine()}\n`);
  const script = join(REPO_ROOT, 'bench/fixtures/stream-output.mjs');
  const config = [
    'backends:',
    `  out: { type: command, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(script)}, "${kb}", "2000"] }`,
    'skills:',
    '  code: { backend: out }',
    '',
  ].join('\n');
  const a = await startGateway({
    configYaml: config,
    env: { MAX_CONCURRENT_TASKS: String(count), MAX_TASKS_PER_KEY: '0', MAX_QUEUED_TASKS: String(count) },
  });
  try {
    const idle = a.rssMb();
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, a.rssMb());
    }, 50);
    const t0 = performance.now();
    // A send the gateway does not answer within a minute counts as not sent (the run still reports its peak).
    const sent = await Promise.all(
      Array.from({ length: count }, () =>
        sendTask(a.url, { headers: AUTH, skill: 'code', returnImmediately: true }).then(
          (t) => t.id,
          () => undefined,
        ),
      ),
    );
    const ids = sent.filter((id): id is string => id !== undefined);
    const states = new Map<string, string>();
    const finished = waitFor(
      async () => {
        for (const id of ids) {
          if (states.get(id)?.match(/COMPLETED|FAILED|CANCELED/)) continue;
          // A poll that fails (a connection reset on a machine this busy) is retried on the next round, not the
          // end of the run.
          const answer = await rpc(a.url, 'GetTask', { id, historyLength: 0 }, AUTH).catch(() => undefined);
          if (!answer) continue;
          const task = answer.result as { status?: { state?: string } } | undefined;
          states.set(id, task?.status?.state ?? 'unknown');
        }
        return (
          [...states.values()].every((s) => /COMPLETED|FAILED|CANCELED/.test(s)) && states.size === count
        );
      },
      180_000,
      'every task to finish',
    );
    // A run that does not finish in time still reports its peak (and how many tasks completed).
    await finished.catch((err: unknown) => process.stdout.write(`${(err as Error).message}\n`));
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    const completed = [...states.values()].filter((s) => s === 'TASK_STATE_COMPLETED').length;
    const figures = { idleMb: idle, peakMb: peak, afterMb: a.rssMb(), completed };
    printTable('Memory (target: peak RSS <= 500 MB)', [
      {
        tasks: count,
        'KB each': kb,
        'not sent': count - ids.length,
        completed,
        seconds: Math.round(seconds * 10) / 10,
        'RSS idle MB': idle,
        'RSS peak MB': peak,
        'RSS after MB': figures.afterMb,
      },
    ]);
    return figures;
  } finally {
    await a.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runMemory();
