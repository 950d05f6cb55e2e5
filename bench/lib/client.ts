/** The few client calls the benchmarks make besides the load itself: A2A 1.0 JSON-RPC over fetch. */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { BENCH_KEY } from './servers.js';

export const V1 = { 'a2a-version': '1.0' } as const;
export const AUTH = { 'x-api-key': BENCH_KEY } as const;

export interface RpcAnswer {
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export async function rpc(
  url: string,
  method: string,
  params: unknown,
  headers: Record<string, string> = {},
): Promise<RpcAnswer> {
  const res = await fetch(`${url}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...V1, ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }),
    signal: AbortSignal.timeout(60_000),
  });
  return (await res.json()) as RpcAnswer;
}

/** Sends a 1.0 message; blocking unless `returnImmediately`. Returns the task (or throws with the error). */
export async function sendTask(
  url: string,
  opts: { headers?: Record<string, string>; skill?: string; returnImmediately?: boolean; text?: string } = {},
): Promise<{ id: string; state: string }> {
  const answer = await rpc(
    url,
    'SendMessage',
    {
      message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: opts.text ?? 'bench' }] },
      ...(opts.skill ? { metadata: { skill: opts.skill } } : {}),
      configuration: { returnImmediately: opts.returnImmediately ?? false },
    },
    opts.headers,
  );
  const task = answer.result?.task as { id: string; status: { state: string } } | undefined;
  if (!task) throw new Error(`SendMessage failed: ${JSON.stringify(answer.error ?? answer)}`);
  return { id: task.id, state: task.status.state };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Requests of the warm-up (not in the figures). */
  warmupRequests: number;
  non2xx: number;
  errors: number;
}

/**
 * One bounded autocannon run against one URL, after a warm-up of `warmupSeconds` (default 2, not counted) so the
 * JIT and caches of every server are warm before its figures are taken.
 */
export async function load(opts: {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  warmupSeconds?: number;
}): Promise<LoadResult> {
  const warmup = opts.warmupSeconds ?? 2;
  const warm = warmup > 0 ? await load({ ...opts, seconds: warmup, warmupSeconds: 0 }) : undefined;
  const result = await autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    connections: opts.connections,
    duration: opts.seconds,
    timeout: 10,
    headers: { ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    ...(opts.body ? { body: opts.body } : {}),
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    warmupRequests: warm?.requests ?? 0,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}
