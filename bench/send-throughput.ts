/**
 * Gateway overhead: blocking `message/send` round trips through the whole stack (JSON-RPC, admission, planner,
 * scheduler, executor, SQLite store) with the scripted fake backend, so the figure is the gateway's own cost per
 * task, not an agent's. Loopback only, bounded in time and count.
 *
 *   node --import tsx bench/send-throughput.ts [--seconds 10] [--clients 8] [--store sqlite|memory]
 *
 * Prints tasks/s, latency percentiles and the gateway's RSS.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { sendTask, startTestGateway } from '../test/helpers/gateway.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    clients: { type: 'string', default: '8' },
    store: { type: 'string', default: 'sqlite' },
  },
});
const seconds = Math.min(Number(values.seconds), 120);
const clients = Math.min(Number(values.clients), 64);

const gw = await startTestGateway({
  env: {
    STORE: values.store ?? 'sqlite',
    MAX_CONCURRENT_TASKS: String(clients),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
  },
  configYaml: 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n',
});

const latencies: number[] = [];
let failures = 0;
const deadline = performance.now() + seconds * 1000;
const rssBefore = process.memoryUsage().rss;
let rssPeak = rssBefore;

async function client(): Promise<void> {
  while (performance.now() < deadline && latencies.length < 1_000_000) {
    const t0 = performance.now();
    const res = await sendTask(gw.url, { skill: 'code', input: 'bench' });
    latencies.push(performance.now() - t0);
    if (res.body?.result?.status?.state !== 'completed') failures += 1;
    if (latencies.length % 200 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: clients }, () => client()));
const elapsed = (performance.now() - started) / 1000;
await gw.stop();

latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const result = {
  store: values.store,
  clients,
  seconds: Number(elapsed.toFixed(1)),
  tasks: latencies.length,
  failures,
  tasksPerSecond: Number((latencies.length / elapsed).toFixed(1)),
  latencyMs: {
    p50: Number(pct(50).toFixed(1)),
    p90: Number(pct(90).toFixed(1)),
    p99: Number(pct(99).toFixed(1)),
  },
  // The gateway runs in this process, so this is its RSS (plus the small load generator).
  rssMb: { before: Math.round(rssBefore / 2 ** 20), peak: Math.round(rssPeak / 2 ** 20) },
};
console.log(JSON.stringify(result, null, 2));
