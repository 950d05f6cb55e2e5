import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';
import { spawnGateway, tempDir, type GatewayProcess } from './gateway.js';
import { SseParser } from './sse.js';

/**
 * What a well-formed answer of the gateway is, for the suites that send it bad input (the HTTP fuzzing and the
 * field-by-field type checks): never a 5xx, never -32603, JSON-RPC answers well-formed (in SSE events too), other
 * answers JSON except the dashboard's and the metrics' pages.
 */

/** A request as the bad-input suites send it. */
export interface SentRequest {
  method: string;
  path: string;
}

function checkJsonRpcResponse(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = checkJsonRpcResponse(item);
      if (problem) return problem;
    }
    return value.length === 0 ? 'an empty batch answer' : undefined;
  }
  if (typeof value !== 'object' || value === null) return `not a JSON-RPC object: ${JSON.stringify(value)}`;
  const r = value as Record<string, unknown>;
  if (r.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"';
  if (!('id' in r) || !(r.id === null || typeof r.id === 'string' || typeof r.id === 'number')) {
    return `bad id ${JSON.stringify(r.id)}`;
  }
  if ('result' in r === 'error' in r) return 'needs exactly one of result and error';
  if ('error' in r) {
    const e = r.error as { code?: unknown; message?: unknown } | null;
    if (!e || !Number.isInteger(e.code) || typeof e.message !== 'string') return 'malformed error object';
    if (e.code === -32603) return `internal error -32603: ${e.message}`;
  }
  return undefined;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function checkAnswer(
  req: SentRequest,
  status: number,
  contentType: string,
  text: string,
): string | undefined {
  if (status >= 500) return `HTTP ${status}`;
  if (status < 200 || (status >= 300 && status < 400 && status !== 304)) return `unexpected HTTP ${status}`;
  const isSse = contentType.includes('text/event-stream');
  const jsonRpc = req.path === '/' && req.method === 'POST';
  if (isSse) {
    // The whole stream is here: a blank line ends its last event too, if the server did not.
    for (const { data } of new SseParser().push(`${text}\n\n`)) {
      const parsed = parseJson(data);
      if (!parsed.ok) return `an SSE event that is not JSON: ${data.slice(0, 200)}`;
      if (jsonRpc) {
        const problem = checkJsonRpcResponse(parsed.value);
        if (problem) return `SSE: ${problem}`;
      } else if (JSON.stringify(parsed.value).includes('"code":500')) return 'SSE: an internal error event';
    }
    return undefined;
  }
  if (status === 204 || status === 304 || text === '') {
    return jsonRpc && status === 200 ? 'an empty JSON-RPC answer' : undefined;
  }
  if (!contentType.includes('json')) {
    // Non-JSON bodies are fine for the dashboard and metrics pages, and for OPTIONS.
    if (/^\/(?:dashboard|metrics)(?:[/?]|$)/.test(req.path) || req.method === 'OPTIONS') return undefined;
    return `a ${contentType || 'typeless'} body: ${text.slice(0, 200)}`;
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return `a body that is not JSON: ${text.slice(0, 200)}`;
  // A JSON-RPC answer is one whatever its status: 4xx on the endpoint (413, 401, 429) carry a JSON-RPC error too.
  return jsonRpc ? checkJsonRpcResponse(parsed.value) : undefined;
}

/** The gateway's log lines at error level or above (the first few), to say why an answer was a 500. */
export function errorLines(output: string): string {
  return output
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line))
    .slice(0, 5)
    .map((line) => line.slice(0, 1500))
    .join('\n');
}

/** A gateway to send bad input to: a process of its own, every skill on the scripted fake backend (tasks end in
 * milliseconds), the per-key rate limit and the queue raised far above what the suites send. */
export async function spawnBadInputTarget(
  name: string,
  env: Record<string, string> = {},
): Promise<{ gw: GatewayProcess; stop: () => Promise<void> }> {
  const data = tempDir(`a2a-gw-${name}-data-`);
  const work = tempDir(`a2a-gw-${name}-work-`);
  const config = join(data.dir, 'gateway.yaml');
  writeFileSync(
    config,
    [
      'backends:',
      '  quick: { type: fake, summary: ok }',
      'skills:',
      ...BUILTIN_SKILLS.map((s) => `  ${s.id}: { backend: quick }`),
      '',
    ].join('\n'),
  );
  const gw = await spawnGateway({
    DATA_DIR: data.dir,
    WORKSPACE_ROOTS: work.dir,
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_QUEUED_TASKS: '1000',
    A2A_GATEWAY_CONFIG: config,
    ...env,
  });
  return {
    gw,
    stop: async () => {
      gw.kill('SIGTERM');
      await gw.exited;
      data.cleanup();
      work.cleanup();
    },
  };
}
