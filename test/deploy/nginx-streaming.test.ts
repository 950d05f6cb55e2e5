// A real nginx with the shipped config in front of a running gateway: a streamed task's events reach the client
// through nginx as the gateway emits them (the delay is measured and bounded), and a quiet stream outlives nginx's
// read timeout because of the gateway's SSE heartbeat (and is cut without it, which shows the timeout is real).
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { openSse, type SseEvent } from '../helpers/sse.js';
import { startNginx, type NginxProxy } from './nginx-proxy.js';

const STEPS = 6;
const GAP_MS = 400;

function streamRequest(text: string) {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'message/stream',
    params: {
      message: {
        kind: 'message',
        role: 'user',
        messageId: `m-${Math.random()}`,
        metadata: { skill: 'code' },
        parts: [{ kind: 'text', text }],
      },
    },
  };
}

/** GET with a Host header of our choosing (fetch does not let a caller set Host), and a forged X-Forwarded-Proto. */
function getWithHost(url: string, host: string, forgedProto?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpGet(
      url,
      { headers: { host, ...(forgedProto ? { 'x-forwarded-proto': forgedProto } : {}) }, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
  });
}

interface Arrival {
  at: number;
  event: SseEvent;
  result: any;
}

/** Reads a stream to its end (or until the bound), noting when each event arrived. */
async function readTimed(
  url: string,
  body: unknown,
  boundMs: number,
): Promise<{ status: number; arrivals: Arrival[]; error?: string }> {
  const { status, events } = await openSse(`${url}/`, { body, signal: AbortSignal.timeout(boundMs) });
  const arrivals: Arrival[] = [];
  try {
    for await (const event of events) {
      arrivals.push({
        at: Date.now(),
        event,
        result: (JSON.parse(event.data) as { result: unknown }).result,
      });
    }
  } catch (err) {
    return { status, arrivals, error: (err as Error).message };
  }
  return { status, arrivals };
}

const final = (a: Arrival[]): boolean =>
  a.some(
    (x) => x.result?.final === true || /"state":"completed"/.test(JSON.stringify(x.result?.status ?? {})),
  );

describe('nginx in front of the gateway, with the shipped config', () => {
  let gw: TestGateway;
  let quietGw: TestGateway;
  let nginx: NginxProxy;
  let quietNginx: NginxProxy;
  let silentGw: TestGateway;
  let silentNginx: NginxProxy;

  before(async () => {
    const ticking = ['backends:', '  ticker:', '    type: fake', '    summary: all steps done', '    steps:'];
    for (let i = 1; i <= STEPS; i++)
      ticking.push(`      - { event: { type: text, text: "step ${i}" } }`, `      - { sleepMs: ${GAP_MS} }`);
    ticking.push('skills:', '  code: { backend: ticker }');
    gw = await startTestGateway({ env: { SSE_HEARTBEAT_SECONDS: '15' }, configYaml: ticking.join('\n') });
    nginx = await startNginx(new URL(gw.url));
    // A task that is quiet for 3.5 s, behind an nginx whose read timeout is 1.5 s.
    const quiet =
      'backends:\n  quiet:\n    type: fake\n    summary: done thinking\n    steps:\n      - { sleepMs: 3500 }\nskills:\n  code: { backend: quiet }\n';
    quietGw = await startTestGateway({ env: { SSE_HEARTBEAT_SECONDS: '0.5' }, configYaml: quiet });
    quietNginx = await startNginx(new URL(quietGw.url), { readTimeout: '1500ms' });
    silentGw = await startTestGateway({ env: { SSE_HEARTBEAT_SECONDS: '0' }, configYaml: quiet });
    silentNginx = await startNginx(new URL(silentGw.url), { readTimeout: '1500ms' });
  });
  after(async () => {
    for (const p of [nginx, quietNginx, silentNginx]) await p?.stop();
    for (const g of [gw, quietGw, silentGw]) await g?.stop();
  });

  test('plain requests pass, with the client address and scheme forwarded; /metrics is not exposed', async () => {
    const health = await fetch(`${nginx.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'healthy');
    // The Host the client used (port included) reaches the gateway, which writes it into the agent card.
    const card = JSON.parse(
      await getWithHost(`${nginx.url}/.well-known/agent-card.json`, 'a2a.example.com:8443', 'https'),
    ) as { url: string };
    assert.equal(
      card.url,
      'http://a2a.example.com:8443',
      "host and scheme from the proxy, not a client's X-Forwarded-Proto",
    );
    const direct = JSON.parse(
      await getWithHost(`${gw.url}/.well-known/agent-card.json`, 'a2a.example.com:8443'),
    ) as { url: string };
    assert.equal(direct.url, card.url, 'the same card as without the proxy');
    assert.equal((await fetch(`${nginx.url}/metrics`)).status, 404);
    const big = await fetch(`${nginx.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(11 * 1024 * 1024),
    });
    assert.equal(big.status, 413, 'client_max_body_size stops an 11 MB body at the proxy');
  });

  test("a streamed task's events arrive through nginx as they are emitted, not at the end", async (t) => {
    const direct = readTimed(gw.url, streamRequest('direct'), 20_000);
    const proxied = await readTimed(nginx.url, streamRequest('through nginx'), 20_000);
    const straight = await direct;
    assert.equal(proxied.status, 200);
    assert.equal(proxied.error, undefined);
    assert.ok(final(proxied.arrivals), 'the stream ends with the completed task');
    // Each progress event carries the time the gateway stamped it; its arrival at the client is measured against it.
    const progress = proxied.arrivals.filter((a) => /step \d/.test(JSON.stringify(a.result)));
    assert.equal(progress.length, STEPS, 'every step arrived');
    const delays = progress.map((a) => a.at - Date.parse(a.result.status.timestamp));
    const gaps = progress.slice(1).map((a, i) => a.at - progress[i]!.at);
    const directDelays = straight.arrivals
      .filter((a) => /step \d/.test(JSON.stringify(a.result)))
      .map((a) => a.at - Date.parse(a.result.status.timestamp));
    t.diagnostic(
      `emit-to-client delay through nginx: max ${Math.max(...delays)} ms, median ${delays.sort((a, b) => a - b)[delays.length >> 1]} ms (direct: max ${Math.max(...directDelays)} ms)`,
    );
    t.diagnostic(`gaps between events at the client: ${gaps.join(', ')} ms (emitted ${GAP_MS} ms apart)`);
    // Buffered, the steps would arrive together at the end: delays up to the whole task (2.4 s), gaps near 0.
    for (const d of delays) assert.ok(d < 300, `an event reached the client ${d} ms after it was emitted`);
    for (const g of gaps)
      assert.ok(g > GAP_MS / 4, `events ${g} ms apart: they were not held back and sent together`);
  });

  test("a quiet stream outlives nginx's read timeout thanks to the heartbeat", async (t) => {
    const started = Date.now();
    const r = await readTimed(quietNginx.url, streamRequest('think quietly'), 20_000);
    t.diagnostic(
      `stream of a 3.5 s quiet task through a 1.5 s read timeout lasted ${Date.now() - started} ms`,
    );
    assert.equal(r.error, undefined);
    assert.ok(final(r.arrivals), 'the final event came through after 3.5 s of silence');
  });

  test('without the heartbeat the same quiet stream is cut at the read timeout (the timeout is real)', async (t) => {
    const started = Date.now();
    const r = await readTimed(silentNginx.url, streamRequest('think quietly'), 20_000);
    const lasted = Date.now() - started;
    t.diagnostic(`without heartbeats the stream ended after ${lasted} ms`);
    assert.ok(!final(r.arrivals), 'the final event never arrived');
    assert.ok(lasted < 3500, `cut at nginx's 1.5 s read timeout, not at the task's end (${lasted} ms)`);
  });
});
