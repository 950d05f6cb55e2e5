// HTTP fuzzing: 10,000 requests generated with fast-check, sent to a real gateway process on 127.0.0.1 (JSON-RPC in
// the 0.1, 0.3 and 1.0 shapes with every field mutated, REST paths and bodies, invalid JSON, deep nesting, huge
// strings, odd unicode). Every answer must be a well-formed JSON-RPC result or error (never -32603), or a clean
// HTTP 4xx with a JSON body, never a 5xx; /health answers afterwards and a normal task still runs.
//
// Seeded: FUZZ_SEED=<n> replays a run (the seed is printed, and named in a failure); FUZZ_RUNS=<n> changes the
// count. Tasks it creates run the scripted fake backend, so they end in milliseconds. The per-key rate limit is
// raised for this gateway (RATE_LIMIT_PER_MINUTE=1000000): the suite sends far more than 100 requests a minute.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { BUILTIN_SKILLS } from '../../src/skills/catalog.js';
import { sendTask, type GatewayProcess } from '../helpers/gateway.js';
import { checkAnswer, errorLines, spawnBadInputTarget } from '../helpers/wire-check.js';
import { readFileSync, writeFileSync } from 'node:fs';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2_147_483_647;
const CONCURRENCY = 8;
/** Stands for the id of a task the gateway created earlier in the run (a real id makes deeper paths reachable). */
const KNOWN_TASK = '\u0000known-task\u0000';

const SKILLS = BUILTIN_SKILLS.map((s) => s.id);

// ---------------------------------------------------------------------------------------------------------------
// Generators

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  'a\udfffb',
  '\u202eevil',
  '\u200b\u200d\ufeff',
  '🦄🦄🦄',
  'e\u0301\u0301\u0301',
  '../../../etc/passwd',
  '/etc',
  '%ff',
  '%',
  '\\',
  '"',
  "'",
  '__proto__',
  'constructor',
  'toString',
  'null',
  '{"a":',
  '<script>alert(1)</script>',
  'http://127.0.0.1:1/hook',
  'https://localhost/x',
  'http://10.0.0.1/',
  'http://[::1]:9/',
  'ftp://x',
  'file:///etc/passwd',
  'ROLE_USER',
  'TASK_STATE_WORKING',
  'user',
  'agent',
  'text',
  'data',
  'file',
  KNOWN_TASK,
];

const oddString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.constantFrom(...SKILLS, 'make_coffee') },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 2_000 }).map((n) => 'x'.repeat(n)) },
);

function nested(depth: number, array: boolean): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = array ? [value] : { a: value };
  return value;
}

const deep = fc
  .tuple(fc.integer({ min: 20, max: 3_000 }), fc.boolean())
  .map(([depth, array]) => nested(depth, array));

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  oddString,
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(oddString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  { weight: 1, arbitrary: deep },
);

/** A field that is usually valid, sometimes any other value, sometimes missing. */
function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** An object with each field mutated by {@link field}, and sometimes an unknown key more. */
function shape(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const mutated = Object.fromEntries(Object.entries(fields).map(([k, a]) => [k, field(a)]));
  return fc
    .tuple(fc.record(mutated), fc.option(fc.tuple(oddString, anyValue), { freq: 5, nil: undefined }))
    .map(([obj, extra]) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
      if (extra) Object.defineProperty(out, extra[0], { value: extra[1], enumerable: true, writable: true });
      return out;
    });
}

const taskId = fc.oneof(
  { weight: 3, arbitrary: fc.constant(KNOWN_TASK) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: oddString },
);
const skillName = fc.constantFrom(...SKILLS, 'make_coffee', '');
const workdir = fc.constantFrom('.', 'proj', '../..', '/etc', '/tmp', 'missing', '\u0000x', 'proj/../..');
const skillInput = fc.oneof(
  shape({ instructions: oddString, workdir }),
  shape({ bug_description: oddString, files: fc.array(oddString, { maxLength: 3 }), workdir }),
  shape({
    target: oddString,
    language: oddString,
    base_ref: oddString,
    commit: fc.boolean(),
    apply: fc.boolean(),
  }),
);
const metadata = shape({
  skill: skillName,
  timeout: fc.oneof(fc.integer({ min: -5, max: 100_000 }), oddString),
  backend: fc.constantFrom('quick', 'claude', 'nope'),
  model: oddString,
  effort: oddString,
});

const part03 = fc.oneof(
  shape({ kind: fc.constant('text'), text: oddString, metadata: anyValue }),
  shape({ kind: fc.constant('data'), data: fc.oneof(skillInput, anyValue) }),
  shape({
    kind: fc.constant('file'),
    file: shape({ uri: oddString, bytes: oddString, mimeType: oddString, name: oddString }),
  }),
  shape({ type: fc.constant('text'), text: oddString }),
  anyValue,
);
const part10 = fc.oneof(
  shape({ text: oddString, mediaType: oddString }),
  shape({ data: fc.oneof(skillInput, anyValue), mediaType: fc.constant('application/json') }),
  shape({ url: oddString, raw: oddString, filename: oddString, mediaType: oddString }),
  anyValue,
);
const message03 = shape({
  kind: fc.constant('message'),
  role: fc.constantFrom('user', 'agent'),
  messageId: fc.oneof(fc.uuid(), oddString),
  parts: fc.array(part03, { minLength: 1, maxLength: 3 }),
  metadata,
  contextId: fc.oneof(fc.uuid(), oddString),
  taskId,
  referenceTaskIds: fc.array(taskId, { maxLength: 2 }),
});
const message10 = shape({
  messageId: fc.oneof(fc.uuid(), oddString),
  role: fc.constantFrom('ROLE_USER', 'ROLE_AGENT', 'ROLE_UNSPECIFIED', 'user'),
  parts: fc.array(part10, { minLength: 1, maxLength: 3 }),
  metadata,
  contextId: fc.oneof(fc.uuid(), oddString),
  taskId,
});
const pushConfig = shape({
  url: fc.constantFrom('http://127.0.0.1:1/hook', 'https://localhost/x', 'http://10.0.0.1/', 'not a url', ''),
  token: oddString,
  id: oddString,
  authentication: shape({ schemes: fc.array(oddString, { maxLength: 2 }), credentials: oddString }),
});
const sendConfiguration = shape({
  blocking: fc.boolean(),
  acceptedOutputModes: fc.array(oddString, { maxLength: 3 }),
  historyLength: fc.integer({ min: -3, max: 1000 }),
  pushNotificationConfig: pushConfig,
  taskPushNotificationConfig: pushConfig,
  returnImmediately: fc.boolean(),
});

const SEND_03 = ['message/send', 'message/stream'];
const SEND_01 = ['tasks/send', 'tasks/sendSubscribe'];
const SEND_10 = ['SendMessage', 'SendStreamingMessage'];
const TASK_03 = ['tasks/get', 'tasks/cancel', 'tasks/resubscribe'];
const TASK_10 = ['GetTask', 'CancelTask', 'SubscribeToTask'];
const PUSH_03 = [
  'tasks/pushNotificationConfig/set',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'tasks/pushNotificationConfig/delete',
];
const PUSH_10 = [
  'CreateTaskPushNotificationConfig',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'DeleteTaskPushNotificationConfig',
];
const OTHER = ['ListTasks', 'tasks/list', 'GetExtendedAgentCard', 'agent/getAuthenticatedExtendedCard'];

const jsonRpcCall = fc.oneof(
  fc.tuple(
    fc.constantFrom(...SEND_03),
    shape({ message: message03, configuration: sendConfiguration, metadata: anyValue }),
  ),
  fc.tuple(
    fc.constantFrom(...SEND_01),
    shape({
      id: taskId,
      sessionId: oddString,
      skill: skillName,
      message: shape({
        role: fc.constant('user'),
        parts: fc.array(part03, { minLength: 1, maxLength: 3 }),
        metadata,
      }),
      historyLength: fc.integer(),
      acceptedOutputModes: fc.array(oddString, { maxLength: 2 }),
    }),
  ),
  fc.tuple(
    fc.constantFrom(...SEND_10),
    shape({ message: message10, configuration: sendConfiguration, metadata: anyValue, tenant: oddString }),
  ),
  fc.tuple(
    fc.constantFrom(...TASK_03, ...TASK_10),
    shape({
      id: taskId,
      historyLength: fc.integer({ min: -2, max: 50 }),
      metadata: anyValue,
      tenant: oddString,
    }),
  ),
  fc.tuple(
    fc.constantFrom(...PUSH_03, ...PUSH_10),
    shape({
      id: oddString,
      taskId,
      pushNotificationConfigId: oddString,
      pushNotificationConfig: pushConfig,
      url: pushConfig.map((p) => p.url),
      config: pushConfig,
    }),
  ),
  fc.tuple(
    fc.constantFrom(...OTHER),
    shape({ pageSize: fc.integer({ min: -1, max: 200 }), pageToken: oddString, contextId: oddString }),
  ),
  fc.tuple(oddString, anyValue),
);

const version = fc.constantFrom(undefined, undefined, '0.3', '1.0', '0.1', '1.0.1', '9.9', 'garbage', '');

export type FuzzRequest = {
  kind: 'jsonrpc' | 'rest' | 'raw' | 'huge';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
};

function headersFor(v: string | undefined, contentType: string | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (v !== undefined) h['a2a-version'] = v;
  if (contentType !== undefined) h['content-type'] = contentType;
  return h;
}

const jsonRpcRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    jsonRpcCall,
    field(fc.constant('2.0')),
    field(fc.oneof(fc.integer(), fc.uuid())),
    version,
    fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', undefined),
    fc.constantFrom('object', 'object', 'object', 'object', 'batch', 'params-not-object'),
  )
  .map(([[method, params], jsonrpc, id, v, ct, form]) => {
    const envelope: Record<string, unknown> = { method };
    if (jsonrpc !== undefined) envelope.jsonrpc = jsonrpc;
    if (id !== undefined) envelope.id = id;
    envelope.params = form === 'params-not-object' ? [params] : params;
    const body = form === 'batch' ? [envelope, { ...envelope, id: 2 }] : envelope;
    return {
      kind: 'jsonrpc' as const,
      method: 'POST',
      path: '/',
      headers: headersFor(v, ct),
      body: JSON.stringify(body),
    };
  });

const restSegment = fc.oneof(
  fc.constant(KNOWN_TASK),
  fc.uuid(),
  fc.constantFrom(
    '%ff',
    '%E0%A4%A',
    '%00',
    '..',
    '.',
    '%2e%2e',
    '%2F',
    'a%20b',
    '🦄',
    '%F0%9F%A6%84',
    'x'.repeat(3000),
  ),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);
const restPath = fc
  .tuple(
    fc.constantFrom('', '', '/v1', '/tenant-a', '/%ff', '/v1/tenant-a'),
    fc.oneof(
      fc.constant('/message:send'),
      fc.constant('/message:stream'),
      fc.constant('/tasks'),
      restSegment.map((s) => `/tasks/${s}`),
      restSegment.map((s) => `/tasks/${s}:cancel`),
      restSegment.map((s) => `/tasks/${s}:subscribe`),
      restSegment.map((s) => `/tasks/${s}/pushNotificationConfigs`),
      fc.tuple(restSegment, restSegment).map(([a, b]) => `/tasks/${a}/pushNotificationConfigs/${b}`),
      fc.constantFrom(
        '/extendedAgentCard',
        '/card',
        '/.well-known/agent-card.json',
        '/.well-known/agent.json',
      ),
      fc.constantFrom('/health', '/ready', '/metrics', '/dashboard', '/nope', '/.well-known/jwks.json'),
      fc.array(restSegment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`),
    ),
    fc.constantFrom(
      '',
      '',
      '?historyLength=3',
      '?historyLength=abc',
      '?A2A-Version=1.0',
      '?pageSize=-1&status=x',
      '?%ff=%ff',
    ),
  )
  .map(([prefix, rest, query]) => `${prefix}${rest}${query}`);

const restBody = fc.oneof(
  shape({ message: message10, configuration: sendConfiguration, metadata: anyValue }).map((b) =>
    JSON.stringify(b),
  ),
  shape({ message: message03, configuration: sendConfiguration }).map((b) => JSON.stringify(b)),
  pushConfig.map((b) => JSON.stringify(b)),
  anyValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.string({ maxLength: 60 }),
);

const restRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    fc.constantFrom('GET', 'GET', 'POST', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS'),
    restPath,
    restBody,
    version,
    fc.constantFrom(
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      undefined,
    ),
  )
  .map(([method, path, body, v, ct]) => ({
    kind: 'rest' as const,
    method,
    path,
    headers: headersFor(v, method === 'GET' || method === 'OPTIONS' ? undefined : ct),
    ...(method === 'GET' || method === 'OPTIONS' ? {} : { body }),
  }));

/** Bodies that are not JSON, or JSON at the edges of what parsers take. */
const rawBody = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  jsonRpcRequest.chain((r) =>
    fc
      .integer({ min: 0, max: Math.max(0, (r.body?.length ?? 1) - 1) })
      .map((n) => (r.body ?? '').slice(0, n)),
  ),
  fc.integer({ min: 1_000, max: 200_000 }).map((n) => '['.repeat(n)),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc
    .integer({ min: 100, max: 50_000 })
    .map(
      (n) =>
        `{"jsonrpc":"2.0","id":1,"method":"message/send","params":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`,
    ),
  fc.constantFrom(
    '\ufeff{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}',
    "{'jsonrpc':'2.0','id':1,'method':'tasks/get','params':{'id':'x'}}",
    '{"jsonrpc":"2.0","id":1,"id":2,"method":"tasks/get","params":{"id":"x"}}',
    '{"jsonrpc":"2.0","id":NaN,"method":"tasks/get"}',
    '{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}} trailing',
    '{"__proto__":{"admin":true},"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}',
    '[]',
    'null',
    '0',
    '"string"',
    '{}',
  ),
);

const rawRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(rawBody, fc.constantFrom('/', '/', '/message:send', '/v1/message:send'), version)
  .map(([body, path, v]) => ({
    kind: 'raw' as const,
    method: 'POST',
    path,
    headers: headersFor(v, 'application/json'),
    body,
  }));

/** Huge strings in the fields that take text: up to 1 MB, and 11 MB (over the 10 MB body limit: 413). */
const hugeRequest: fc.Arbitrary<FuzzRequest> = fc
  .tuple(
    // 3 MB and more (under the limit) is left out: see docs/reliability.md, 'What it found'.
    fc.constantFrom(100_000, 500_000, 1_000_000, 11_000_000),
    fc.constantFrom('text', 'messageId', 'skill', 'contextId', 'metadata-key'),
    fc.constantFrom('message/send', 'SendMessage', 'tasks/send'),
    fc.constantFrom('\u00e9', 'x', '\ud83e\udd84'),
  )
  .map(([size, where, method, unit]) => {
    const huge = unit.repeat(Math.ceil(size / unit.length));
    const text = where === 'text' ? huge : 'hi';
    const message: Record<string, unknown> =
      method === 'SendMessage'
        ? { messageId: where === 'messageId' ? huge : 'm', role: 'ROLE_USER', parts: [{ text }] }
        : {
            kind: 'message',
            role: 'user',
            messageId: where === 'messageId' ? huge : 'm',
            parts: [{ kind: 'text', type: 'text', text }],
          };
    message.metadata =
      where === 'metadata-key' ? { [huge]: 1 } : { skill: where === 'skill' ? huge : 'code' };
    if (where === 'contextId') message.contextId = huge;
    return {
      kind: 'huge' as const,
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { message } }),
    };
  });

const fuzzRequest = fc.oneof(
  { weight: 60, arbitrary: jsonRpcRequest },
  { weight: 30, arbitrary: restRequest },
  { weight: 10, arbitrary: rawRequest },
  { weight: 1, arbitrary: hugeRequest },
);

// ---------------------------------------------------------------------------------------------------------------
// Checking answers

/** CPU seconds a process has used (user + system), from /proc: the run's cost apart from the machine's load. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid ?? 'self'}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('HTTP fuzzing', () => {
  let gw: GatewayProcess;
  let stop: () => Promise<void>;
  before(async () => {
    ({ gw, stop } = await spawnBadInputTarget('fuzz'));
  });
  after(() => stop());

  test(
    `${RUNS} generated requests: well-formed answers, no 5xx, no -32603`,
    { timeout: 300_000 },
    async (t) => {
      t.diagnostic(`seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
      const sampling = Date.now();
      const requests = fc.sample(fuzzRequest, { seed: SEED, numRuns: RUNS });
      if (process.env.FUZZ_DEBUG) process.stderr.write(`sampled in ${Date.now() - sampling} ms\n`);
      const known: string[] = [];
      const failures: string[] = [];
      const slow: Array<[number, string]> = [];
      const statuses = new Map<number, number>();
      const kinds = new Map<string, number>();
      let next = 0;
      const started = Date.now();
      const cpuBefore = [cpuSeconds(gw.child.pid), cpuSeconds(undefined)];

      const send = async (index: number): Promise<void> => {
        const req = requests[index]!;
        if (process.env.FUZZ_DEBUG && index % 100 === 0)
          process.stderr.write(`#${index} ${Date.now() - started} ms\n`);
        const pick = () => known[index % Math.max(1, known.length)] ?? 'no-task-yet';
        const fill = (s: string) => (s.includes(KNOWN_TASK) ? s.split(KNOWN_TASK).join(pick()) : s);
        const fillPath = (s: string) =>
          s.includes(KNOWN_TASK) ? s.split(KNOWN_TASK).join(encodeURIComponent(pick())) : s;
        const body = req.body === undefined ? undefined : fill(req.body);
        const path = fillPath(req.path);
        kinds.set(req.kind, (kinds.get(req.kind) ?? 0) + 1);
        let status: number;
        let contentType: string;
        let text: string;
        const sentAt = Date.now();
        try {
          const res = await fetch(`${gw.url}${path}`, {
            method: req.method,
            headers: req.headers,
            ...(body !== undefined ? { body } : {}),
            signal: AbortSignal.timeout(30_000),
          });
          status = res.status;
          contentType = res.headers.get('content-type') ?? '';
          text = await res.text();
        } catch (err) {
          failures.push(
            `#${index} ${req.method} ${path.slice(0, 200)}: no answer (${(err as Error).message}: ${String((err as { cause?: unknown }).cause)})`,
          );
          return;
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (process.env.FUZZ_DEBUG)
          slow.push([
            Date.now() - sentAt,
            `${req.kind} ${req.method} ${path.slice(0, 80)} ${(body ?? '').slice(0, 150)} (${body?.length ?? 0} B)`,
          ]);
        const problem = checkAnswer({ ...req, path }, status, contentType, text);
        if (problem) {
          failures.push(
            `#${index} ${req.kind} ${req.method} ${path.slice(0, 200)} ${JSON.stringify(req.headers)} ` +
              `body ${JSON.stringify((body ?? '').slice(0, 600))}\n    -> ${status} ${problem}\n    ${text.slice(0, 400)}`,
          );
          return;
        }
        const ids = text.match(
          /"id":"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})","contextId"/,
        );
        if (ids?.[1] && known.length < 200) known.push(ids[1]);
      };

      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < requests.length) await send(next++);
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      if (process.env.FUZZ_DEBUG) {
        slow.sort((a, b) => b[0] - a[0]);
        process.stderr.write(
          `slowest:\n${slow
            .slice(0, 25)
            .map(([ms, what]) => `${ms} ms ${what}`)
            .join('\n')}\n`,
        );
      }
      t.diagnostic(
        `figures: ${requests.length} requests in ${seconds.toFixed(1)} s; ${JSON.stringify(Object.fromEntries(kinds))}; ` +
          `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; ` +
          `tasks seen ${known.length}; failures ${failures.length}; ` +
          `CPU s gateway ${(cpuSeconds(gw.child.pid) - cpuBefore[0]!).toFixed(1)}, client ${(cpuSeconds(undefined) - cpuBefore[1]!).toFixed(1)}`,
      );
      if (process.env.FUZZ_DEBUG) writeFileSync('/tmp/fuzz-gateway.log', gw.output());
      assert.equal(
        failures.length,
        0,
        `seed ${SEED} (replay with FUZZ_SEED=${SEED}): ${failures.length} bad answers; the first:\n  ${failures.slice(0, 15).join('\n  ')}` +
          `\nthe gateway's error lines:\n${errorLines(gw.output())}`,
      );
      // Case-insensitive: the SDK's own "Unhandled error in JSON-RPC POST handler" (with a stack, at error level) counts too.
      assert.doesNotMatch(gw.output(), /unhandled error/i, 'no unhandled error was logged');
    },
  );

  test('the gateway still answers /health and runs a task afterwards', async () => {
    const health = await fetch(`${gw.url}/health`);
    assert.equal(health.status, 200);
    const res = await sendTask(gw.url, { skill: 'code', input: 'still there?' });
    assert.equal(res.body.result?.status?.state, 'completed', JSON.stringify(res.body));
    assert.equal(gw.child.exitCode, null, 'the gateway process is alive');
  });
});
