/**
 * Benchmark 1: GetTask throughput and latency at 64 connections, JSON-RPC (`GetTask`, A2A 1.0) and REST
 * (`GET /tasks/{id}`), of one finished task: A the gateway (production settings), B the bare SDK server, C raw
 * node:http answering fixed JSON. Targets: A >= 1.5x B and A >= 0.5x C.
 *
 *   node --import tsx bench/get-task.ts [--seconds 8] [--connections 64]
 */
import { parseArgs } from 'node:util';
import { AUTH, V1, load, sendTask, type LoadResult } from './lib/client.js';
import { machineLine, printTable, round } from './lib/report.js';
import { BENCH_RATE_LIMIT, startBareSdk, startGateway, startRawHttp } from './lib/servers.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, connections: { type: 'string', default: '64' } },
});
const seconds = Math.min(Number(values.seconds), 30);
const connections = Math.min(Number(values.connections), 256);

const FAKE = 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n';

export async function runGetTask(): Promise<Record<string, number>> {
  process.stdout.write(
    `\n# 1. GetTask at ${connections} connections, ${seconds} s each · ${machineLine()}\n`,
  );
  const a = await startGateway({ configYaml: FAKE });
  const b = await startBareSdk();
  const c = await startRawHttp();
  try {
    const aTask = await sendTask(a.url, { headers: AUTH, skill: 'code' });
    const bTask = await sendTask(b.url);
    const targets = [
      { server: a, id: aTask.id, headers: { ...AUTH, ...V1 } },
      { server: b, id: bTask.id, headers: { ...V1 } },
      { server: c, id: aTask.id, headers: { ...V1 } },
    ];
    const results = new Map<string, LoadResult & { cpuUs: number }>();
    for (const binding of ['JSON-RPC', 'REST'] as const) {
      for (const t of targets) {
        const cpu0 = t.server.cpuMs();
        const r =
          binding === 'JSON-RPC'
            ? await load({
                url: `${t.server.url}/`,
                method: 'POST',
                body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: t.id } }),
                headers: t.headers,
                connections,
                seconds,
              })
            : await load({ url: `${t.server.url}/tasks/${t.id}`, headers: t.headers, connections, seconds });
        // The warm-up's requests are not in r.requests but its CPU is in the figure: the load ran at the same rate.
        const cpuUs = ((t.server.cpuMs() - cpu0) * 1000) / Math.max(1, r.requests + r.warmupRequests);
        results.set(`${binding} ${t.server.name}`, { ...r, cpuUs: round(cpuUs, 0) });
      }
    }
    const rows = [...results].map(([name, r]) => ({
      server: name,
      'req/s': r.rps,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      'CPU µs/req': r.cpuUs,
      requests: r.requests,
      'non-2xx': r.non2xx,
      errors: r.errors,
    }));
    printTable(`GetTask (rate limit of A: ${BENCH_RATE_LIMIT}/min, never reached)`, rows);
    const ratio = (binding: string, x: string, y: string): number =>
      round(
        (results.get(`${binding} ${x}`)?.rps ?? 0) / Math.max(1, results.get(`${binding} ${y}`)?.rps ?? 0),
        2,
      );
    const figures = {
      rpcA: results.get(`JSON-RPC ${a.name}`)?.rps ?? 0,
      rpcAoverB: ratio('JSON-RPC', a.name, b.name),
      rpcAoverC: ratio('JSON-RPC', a.name, c.name),
      restAoverB: ratio('REST', a.name, b.name),
      restAoverC: ratio('REST', a.name, c.name),
      rpcP99A: results.get(`JSON-RPC ${a.name}`)?.p99 ?? 0,
    };
    printTable('GetTask ratios (targets: A/B >= 1.5, A/C >= 0.5)', [
      { binding: 'JSON-RPC', 'A/B': figures.rpcAoverB, 'A/C': figures.rpcAoverC },
      { binding: 'REST', 'A/B': figures.restAoverB, 'A/C': figures.restAoverC },
    ]);
    return figures;
  } finally {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runGetTask();
