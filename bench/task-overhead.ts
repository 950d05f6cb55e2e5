/**
 * Benchmark 2: task overhead. N blocking sends at concurrency 5, each running a no-op executable (/bin/true), no
 * workdir: tasks/s and the latency each task adds above the bare cost of spawning the executable, A (the gateway,
 * a `command` backend) against B (the bare SDK server whose executor spawns the same executable). A runs twice: with
 * its default sandbox (SANDBOX=auto: bubblewrap where it can run), and with SANDBOX=off, so that the gateway's own
 * cost shows apart from the sandbox's. Each server's CPU time per task (user + system of the server process from
 * /proc, children not included) says what a task costs it even on a busy machine.
 * Targets: A's tasks/s >= B's, added latency <= 10 ms p50.
 *
 *   node --import tsx bench/task-overhead.ts [--tasks 500] [--concurrency 5]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { AUTH, sendTask } from './lib/client.js';
import { machineLine, percentile, printTable, round } from './lib/report.js';
import { startBareSdk, startGateway, type Server } from './lib/servers.js';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '5' } },
});
const total = Math.min(Number(values.tasks), 5000);
const concurrency = Math.min(Number(values.concurrency), 50);
const NOOP = '/bin/true';

async function spawnCostMs(n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(NOOP, [], { stdio: 'ignore' });
      child.once('exit', () => resolve());
      child.once('error', reject);
    });
    samples.push(performance.now() - t0);
  }
  return samples;
}

async function drive(
  server: Server,
  headers: Record<string, string>,
  skill?: string,
): Promise<{ tps: number; p50: number; p99: number; cpuMs: number; failed: number }> {
  // A short warm-up, not counted.
  for (let i = 0; i < 5; i++) await sendTask(server.url, { headers, ...(skill ? { skill } : {}) });
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const deadline = Date.now() + 300_000;
  const cpu0 = server.cpuMs();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && Date.now() < deadline) {
        next += 1;
        const s = performance.now();
        const task = await sendTask(server.url, { headers, ...(skill ? { skill } : {}) }).catch(
          () => undefined,
        );
        latencies.push(performance.now() - s);
        if (task?.state !== 'TASK_STATE_COMPLETED') failed += 1;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuMs = server.cpuMs() - cpu0;
  return {
    tps: round(latencies.length / seconds),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    cpuMs: round(cpuMs / Math.max(latencies.length, 1)),
    failed,
  };
}

export async function runTaskOverhead(): Promise<Record<string, number>> {
  process.stdout.write(
    `\n# 2. Task overhead: ${total} tasks at concurrency ${concurrency} · ${machineLine()}\n`,
  );
  const config = [
    'backends:',
    `  noop: { type: command, command: ${NOOP}, args: [] }`,
    'skills:',
    '  code: { backend: noop }',
    '',
  ].join('\n');
  const gatewayEnv = { MAX_CONCURRENT_TASKS: String(concurrency), MAX_TASKS_PER_KEY: '0' };
  const a = await startGateway({ configYaml: config, env: gatewayEnv });
  const off = await startGateway({ configYaml: config, env: { ...gatewayEnv, SANDBOX: 'off' } });
  const b = await startBareSdk(NOOP);
  try {
    const bare = await spawnCostMs(50);
    const spawnP50 = round(percentile(bare, 50));
    const ra = await drive(a, AUTH, 'code');
    const roff = await drive(off, AUTH, 'code');
    const rb = await drive(b, {});
    const rows = [
      { server: a.name, ...ra },
      { server: `${off.name}, SANDBOX=off`, ...roff },
      { server: b.name, ...rb },
    ].map((r) => ({
      server: r.server,
      'tasks/s': r.tps,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'added p50 ms': round(r.p50 - spawnP50),
      'CPU ms/task': r.cpuMs,
      failed: r.failed,
    }));
    printTable(
      `Task overhead (spawning ${NOOP} alone: p50 ${spawnP50} ms; targets: A >= B tasks/s, A added <= 10 ms)`,
      rows,
    );
    return {
      tpsA: ra.tps,
      tpsB: rb.tps,
      addedP50A: round(ra.p50 - spawnP50),
      addedP50B: round(rb.p50 - spawnP50),
      tpsAOff: roff.tps,
      addedP50AOff: round(roff.p50 - spawnP50),
    };
  } finally {
    await Promise.all([a.stop(), off.stop(), b.stop()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runTaskOverhead();
