/**
 * Benchmark 3: streaming fan-out. One task whose backend prints N lines (one every I ms), each stamped with the
 * time it was written; S subscribers on the task (JSON-RPC `SubscribeToTask`, SSE) take the delay from the write
 * to their receipt of the status update carrying the line. A only (the gateway, production settings).
 * Target: p99 <= 50 ms at 1,000 subscribers.
 *
 *   node --import tsx bench/stream-fanout.ts [--subscribers 1000] [--events 100] [--interval 100]
 */
import { request, Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH, V1, sendTask } from './lib/client.js';
import { machineLine, percentile, printTable, round, waitFor } from './lib/report.js';
import { REPO_ROOT, startGateway } from './lib/servers.js';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '100' },
    interval: { type: 'string', default: '100' },
  },
});
const subscriberCount = Math.min(Number(values.subscribers), 2000);
const events = Math.min(Number(values.events), 1000);
const interval = Math.min(Number(values.interval), 1000);

interface Subscriber {
  ready: boolean;
  delays: number[];
  /** Line numbers already received (a line also shows up again in the final summary). */
  seen: Set<string>;
  ended: boolean;
}

/** Opens one SSE subscription and records, for every line stamp in a status update, the delay to now. */
function subscribe(url: string, taskId: string, agent: Agent): Subscriber {
  const sub: Subscriber = { ready: false, delays: [], seen: new Set(), ended: false };
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SubscribeToTask', params: { id: taskId } });
  const req = request(
    `${url}/`,
    {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...V1, ...AUTH },
    },
    (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const now = Date.now();
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:')) continue;
            sub.ready = true;
            for (const m of line.matchAll(/T (\d{13}) (\d+)/g)) {
              if (sub.seen.has(m[2] ?? '')) continue;
              sub.seen.add(m[2] ?? '');
              sub.delays.push(now - Number(m[1]));
            }
          }
        }
      });
      res.on('end', () => {
        sub.ended = true;
      });
    },
  );
  req.on('error', () => {
    sub.ended = true;
  });
  req.end(body);
  return sub;
}

export async function runStreamFanout(): Promise<Record<string, number>> {
  process.stdout.write(
    `\n# 3. Streaming: ${subscriberCount} subscribers, ${events} events every ${interval} ms · ${machineLine()}\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'a2a-bench-stream-'));
  const goFile = join(dir, 'go');
  const emitter = join(REPO_ROOT, 'bench/fixtures/emit-lines.mjs');
  // sandbox: off for this backend only: it needs the go file in /tmp, which bubblewrap hides; the rest of A's
  // settings stay as in production.
  const config = [
    'backends:',
    `  emit: { type: command, sandbox: off, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(emitter)}, ${JSON.stringify(goFile)}, "${events}", "${interval}"] }`,
    'skills:',
    '  code: { backend: emit }',
    '',
  ].join('\n');
  const a = await startGateway({ configYaml: config, env: { SSE_HEARTBEAT_SECONDS: '15' } });
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const task = await sendTask(a.url, { headers: AUTH, skill: 'code', returnImmediately: true });
    const subs: Subscriber[] = [];
    for (let i = 0; i < subscriberCount; i++) {
      subs.push(subscribe(a.url, task.id, agent));
      // Connect in batches so the accept queue is not flooded.
      if (i % 100 === 99) await waitFor(() => subs.every((s) => s.ready || s.ended), 30_000, 'subscribers');
    }
    await waitFor(() => subs.every((s) => s.ready || s.ended), 30_000, 'every subscriber');
    const rssBefore = a.rssMb();
    writeFileSync(goFile, '');
    let rssPeak = rssBefore;
    await waitFor(
      () => {
        rssPeak = Math.max(rssPeak, a.rssMb());
        return subs.every((s) => s.ended);
      },
      events * interval + 60_000,
      'the streams to end',
    );
    const delays = subs.flatMap((s) => s.delays);
    const complete = subs.filter((s) => s.delays.length === events).length;
    const figures = {
      p50: percentile(delays, 50),
      p99: percentile(delays, 99),
      max: percentile(delays, 100),
    };
    printTable(
      'Streaming fan-out, delay from the backend writing a line to a subscriber receiving it (target p99 <= 50 ms)',
      [
        {
          subscribers: subscriberCount,
          'got every event': complete,
          samples: delays.length,
          'p50 ms': figures.p50,
          'p99 ms': figures.p99,
          'max ms': figures.max,
          'RSS MB (peak)': rssPeak,
        },
      ],
    );
    return { ...figures, complete: round(complete) };
  } finally {
    agent.destroy();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await runStreamFanout();
