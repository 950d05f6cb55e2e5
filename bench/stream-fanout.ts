/**
 * Benchmark 3: streaming fan-out. One task whose backend prints N lines (one every I ms), each stamped with the
 * time it was written; S subscribers on the task (JSON-RPC `SubscribeToTask`, SSE) take the delay from the write
 * to their receipt of the status update carrying the line. A only (the gateway, production settings).
 * Target: p99 <= 50 ms at 1,000 subscribers.
 *
 *   node --import tsx bench/stream-fanout.ts [--subscribers 1000] [--events 100] [--interval 100]
 *     [--client raw|http] [--parser lean|full] [--gateway-root <checkout>] [--runs 1]
 */
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH, V1, sendTask } from './lib/client.js';
import { machineLine, percentile, printTable, round, waitFor, type Row } from './lib/report.js';
import { REPO_ROOT, startGateway } from './lib/servers.js';

const USAGE = `Benchmark 3, streaming fan-out: S SSE subscribers (JSON-RPC SubscribeToTask) on one task whose backend
prints N lines I ms apart; the delay from each print to each subscriber's receipt of the event carrying it.

  --subscribers S     subscribers (default 1000, at most 2000)
  --events N          lines the backend prints (default 100, at most 1000)
  --interval I        ms between lines (default 100, at most 1000)
  --client raw|http   how this client connects (default raw): raw writes the HTTP request on a plain TCP socket and
                      reads the response's bytes as they arrive (status line and headers checked, then the
                      chunked body searched as it is, chunk size lines and all); http uses node:http's client
                      (its parser, de-chunking and a readable stream per response)
  --parser lean|full  how the http client reads the streams (default lean; raw is always lean): lean finds each
                      event's end and its stamp in the received bytes; full decodes every chunk to text, splits
                      it into events and lines and runs a regex over each data line (the client before 2026-12-05)
  --gateway-root DIR  start the gateway from another checkout (e.g. an older commit), to compare on one load
  --distinct-ids      each subscriber its own JSON-RPC request id (1..S) instead of all id 1
  --runs R            repeat the whole measurement R times, one row each (default 1, at most 10)

CPU columns: the gateway's CPU time (user + system, /proc/<pid>/stat) from the first print to the last stream's
end, per printed line and per delivered event (line x subscriber), and this client's own CPU over the same time.`;

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '100' },
    interval: { type: 'string', default: '100' },
    client: { type: 'string', default: 'raw' },
    parser: { type: 'string', default: 'lean' },
    'gateway-root': { type: 'string' },
    'distinct-ids': { type: 'boolean', default: false },
    runs: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const subscriberCount = Math.min(Number(values.subscribers), 2000);
const events = Math.min(Number(values.events), 1000);
const interval = Math.min(Number(values.interval), 1000);
const runs = Math.max(1, Math.min(Number(values.runs), 10));
const parser = values.parser === 'full' ? 'full' : 'lean';
const clientKind = values.client === 'http' ? 'http' : 'raw';
const gatewayRoot = values['gateway-root'];
const distinctIds = values['distinct-ids'];

interface Subscriber {
  ready: boolean;
  delays: number[];
  ended: boolean;
  /** The response ended as a stream ends (status 200, event stream, the last chunk), not cut off. */
  clean: boolean;
}

/**
 * Full parser: every chunk decoded to text, split into events and lines, a regex over each data line. Records,
 * for every line stamp in an event, the delay from the stamp to the arrival of the chunk that completed the event.
 */
function fullParser(sub: Subscriber): (chunk: Buffer) => void {
  let buffer = '';
  const seen = new Set<string>();
  return (chunk) => {
    const now = Date.now();
    buffer += chunk.toString('utf8');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        sub.ready = true;
        // A line also shows up again in the final summary: count each line once.
        for (const m of line.matchAll(/T (\d{13}) (\d+)/g)) {
          if (seen.has(m[2] ?? '')) continue;
          seen.add(m[2] ?? '');
          sub.delays.push(now - Number(m[1]));
        }
      }
    }
  };
}

const EVENT_END = Buffer.from('\n\n');
const STAMP = Buffer.from('T ');
const DIGIT_0 = 48;
const isDigit = (b: number | undefined): boolean => b !== undefined && b >= DIGIT_0 && b <= DIGIT_0 + 9;

/**
 * Lean parser: the same receipts without decoding text. Each complete event (up to a blank line) is searched in the
 * received bytes for stamps `T <13 digits> <n>`, and the delay is taken at the arrival of the chunk that
 * completed it, as the full parser does; only a partial event at a chunk's end is kept (copied) for the next one.
 */
function leanParser(sub: Subscriber): (chunk: Buffer) => void {
  let pending: Buffer | undefined;
  const seen = new Uint8Array(events + 1);
  return (chunk) => {
    const now = Date.now();
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    let start = 0;
    for (;;) {
      const end = buf.indexOf(EVENT_END, start);
      if (end < 0) break;
      sub.ready = true;
      for (let at = buf.indexOf(STAMP, start); at >= 0 && at < end; at = buf.indexOf(STAMP, at + 2)) {
        let i = at + 2;
        let stamp = 0;
        while (i < end && isDigit(buf[i])) stamp = stamp * 10 + (buf[i++] ?? 0) - DIGIT_0;
        if (i - at - 2 !== 13 || buf[i] !== 32) continue;
        i += 1;
        let line = 0;
        const first = i;
        while (i < end && isDigit(buf[i])) line = line * 10 + (buf[i++] ?? 0) - DIGIT_0;
        if (i === first || line > events || seen[line]) continue;
        seen[line] = 1;
        sub.delays.push(now - stamp);
      }
      start = end + 2;
    }
    // What follows the last whole event: part of the next one, kept; or only line ends (a chunk's CRLF), dropped.
    let rest = start;
    while (rest < buf.length && (buf[rest] === 13 || buf[rest] === 10)) rest += 1;
    if (rest < buf.length) pending = Buffer.from(buf.subarray(start));
  };
}

/** Opens one SSE subscription; its parser records the delay of every line stamp it receives. */
function subscribe(url: string, taskId: string, rpcId: number, agent: Agent): Subscriber {
  const sub: Subscriber = { ready: false, delays: [], ended: false, clean: false };
  const onChunk = parser === 'full' ? fullParser(sub) : leanParser(sub);
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: rpcId,
    method: 'SubscribeToTask',
    params: { id: taskId },
  });
  const req = request(
    `${url}/`,
    {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...V1, ...AUTH },
    },
    (res) => {
      res.on('data', onChunk);
      res.on('end', () => {
        sub.clean = res.statusCode === 200;
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

const HEAD_END = Buffer.from('\r\n\r\n');
const LAST_CHUNK = Buffer.from('\r\n0\r\n\r\n');

/**
 * Opens one SSE subscription on a plain TCP socket: the HTTP request written by hand (`Connection: close`), the
 * status line and headers checked (200, an event stream, chunked), then every received buffer handed to the lean
 * parser as it is. Chunk size lines sit between events and hold no stamp; the stream counts as ended cleanly when
 * the server closes after the last chunk.
 */
function subscribeRaw(url: string, taskId: string, rpcId: number): Subscriber {
  const sub: Subscriber = { ready: false, delays: [], ended: false, clean: false };
  const onChunk = leanParser(sub);
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: rpcId,
    method: 'SubscribeToTask',
    params: { id: taskId },
  });
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream', ...V1, ...AUTH };
  const head = [
    'POST / HTTP/1.1',
    `Host: ${hostname}:${port}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    'Connection: close',
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    '',
  ].join('\r\n');
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  let header: Buffer | undefined = Buffer.alloc(0);
  let ok = false;
  let tail: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (header) {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf(HEAD_END);
      if (end < 0) return;
      const text = header.subarray(0, end).toString('latin1');
      ok =
        text.startsWith('HTTP/1.1 200 ') &&
        /\r\ncontent-type: text\/event-stream/i.test(text) &&
        /\r\ntransfer-encoding: chunked/i.test(text);
      chunk = header.subarray(end + 4);
      header = undefined;
    }
    onChunk(chunk);
    tail =
      chunk.length >= LAST_CHUNK.length
        ? chunk.subarray(-LAST_CHUNK.length)
        : Buffer.concat([tail, chunk]).subarray(-LAST_CHUNK.length);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    sub.clean = ok && tail.equals(LAST_CHUNK);
    sub.ended = true;
  });
  socket.write(head + body);
  return sub;
}

/** One measurement: a gateway, a task, the subscribers, the lines; the figures of one row. */
async function measureOnce(): Promise<Row> {
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
  const a = await startGateway({
    configYaml: config,
    env: { SSE_HEARTBEAT_SECONDS: '15' },
    ...(gatewayRoot ? { root: gatewayRoot } : {}),
  });
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  try {
    const task = await sendTask(a.url, { headers: AUTH, skill: 'code', returnImmediately: true });
    const subs: Subscriber[] = [];
    for (let i = 0; i < subscriberCount; i++) {
      const rpcId = distinctIds ? i + 1 : 1;
      subs.push(
        clientKind === 'raw' ? subscribeRaw(a.url, task.id, rpcId) : subscribe(a.url, task.id, rpcId, agent),
      );
      // Connect in batches so the accept queue is not flooded.
      if (i % 100 === 99) await waitFor(() => subs.every((s) => s.ready || s.ended), 30_000, 'subscribers');
    }
    await waitFor(() => subs.every((s) => s.ready || s.ended), 30_000, 'every subscriber');
    const rssBefore = a.rssMb();
    const cpu0 = a.cpuMs();
    const client0 = process.cpuUsage();
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
    const gatewayCpuMs = a.cpuMs() - cpu0;
    const client = process.cpuUsage(client0);
    const clientCpuMs = (client.user + client.system) / 1000;
    const delays = subs.flatMap((s) => s.delays);
    const complete = subs.filter((s) => s.delays.length === events).length;
    const clean = subs.filter((s) => s.clean).length;
    return {
      subscribers: subscriberCount,
      'got every event': complete,
      'ended cleanly': clean,
      samples: delays.length,
      'p50 ms': percentile(delays, 50),
      'p99 ms': percentile(delays, 99),
      'max ms': percentile(delays, 100),
      'gateway CPU ms/line': round(gatewayCpuMs / events, 2),
      'µs/event': round((gatewayCpuMs * 1000) / Math.max(1, delays.length), 1),
      'client CPU ms/line': round(clientCpuMs / events, 2),
      'RSS MB (peak)': rssPeak,
      'load 1m': round(loadavg()[0] ?? 0, 2),
    };
  } finally {
    agent.destroy();
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runStreamFanout(): Promise<Record<string, number>> {
  process.stdout.write(
    `\n# 3. Streaming: ${subscriberCount} subscribers, ${events} events every ${interval} ms, ${distinctIds ? 'distinct request ids, ' : ''}${clientKind} client, ${clientKind === 'raw' ? 'lean' : parser} parser${gatewayRoot ? `, gateway from ${gatewayRoot}` : ''} · ${machineLine()}\n`,
  );
  const rows: Row[] = [];
  for (let run = 0; run < runs; run++) rows.push(await measureOnce());
  printTable(
    'Streaming fan-out, delay from the backend writing a line to a subscriber receiving it (target p99 <= 50 ms)',
    rows,
  );
  const last = rows.at(-1) ?? {};
  return {
    p50: Number(last['p50 ms']),
    p99: Number(last['p99 ms']),
    max: Number(last['max ms']),
    complete: Number(last['got every event']),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) await runStreamFanout();
