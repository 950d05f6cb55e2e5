/**
 * What metrics cost on the hot path: GetTask (JSON-RPC `tasks/get` of one finished task) throughput and latency
 * with METRICS_ENABLED on and off. The gateway runs as its own process (so the load generator does not share its
 * event loop), with the rate limit raised to 100 000 000 a minute (it stays in the path, it never refuses) and
 * LOG_LEVEL=info (the access-log line is written in both runs, so the difference is the metrics). Runs alternate
 * off/on to spread machine noise over both. Loopback only, bounded in time.
 *
 *   node --import tsx bench/metrics-overhead.ts [--seconds 10] [--connections 16] [--rounds 2]
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { rpc, spawnGateway, tempDir } from '../test/helpers/gateway.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
  },
});
const seconds = Math.min(Number(values.seconds), 60);
const connections = Math.min(Number(values.connections), 128);
const rounds = Math.min(Number(values.rounds), 5);

const CONFIG = 'backends:\n  quick: { type: fake, summary: ok }\nskills:\n  code: { backend: quick }\n';

interface Run {
  metrics: boolean;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function measure(metrics: boolean): Promise<Run> {
  const dir = tempDir('a2a-bench-metrics-');
  const configFile = `${dir.dir}/gateway.yaml`;
  writeFileSync(configFile, CONFIG);
  const gw = await spawnGateway({
    DATA_DIR: dir.dir,
    WORKSPACE_ROOTS: dir.dir,
    A2A_GATEWAY_CONFIG: configFile,
    LOG_LEVEL: 'info',
    METRICS_ENABLED: String(metrics),
    RATE_LIMIT_PER_MINUTE: '100000000',
  });
  try {
    const sent = await rpc(gw.url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'message/send',
      params: {
        message: {
          kind: 'message',
          role: 'user',
          messageId: randomUUID(),
          parts: [{ kind: 'text', text: 'x' }],
        },
        metadata: { skill: 'code' },
        configuration: { blocking: true },
      },
    });
    const taskId = (sent.body as { result: { id: string } }).result.id;
    const result = await autocannon({
      url: `${gw.url}/`,
      method: 'POST',
      connections,
      duration: seconds,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tasks/get', params: { id: taskId } }),
    });
    return {
      metrics,
      requestsPerSec: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
    };
  } finally {
    gw.kill('SIGTERM');
    await gw.exited;
    dir.cleanup();
  }
}

const runs: Run[] = [];
for (let i = 0; i < rounds; i += 1) {
  runs.push(await measure(false));
  runs.push(await measure(true));
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const summary = (on: boolean) => {
  const rs = runs.filter((r) => r.metrics === on);
  return {
    requestsPerSec: Math.round(mean(rs.map((r) => r.requestsPerSec))),
    p50Ms: mean(rs.map((r) => r.p50Ms)),
    p99Ms: mean(rs.map((r) => r.p99Ms)),
    non2xx: rs.reduce((a, r) => a + r.non2xx, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  };
};
const off = summary(false);
const on = summary(true);
process.stdout.write(
  `${JSON.stringify(
    {
      seconds,
      connections,
      rounds,
      runs,
      off,
      on,
      throughputChangePercent:
        Math.round(((on.requestsPerSec - off.requestsPerSec) / off.requestsPerSec) * 1000) / 10,
    },
    null,
    2,
  )}\n`,
);
