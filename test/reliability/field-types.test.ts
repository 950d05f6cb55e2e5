// Every field of every request, one at a time, given every kind of JSON value it should not hold (null, a boolean,
// numbers, strings, lists, objects, an object with toString/valueOf keys) or left out; every REST query parameter
// given empty, non-numeric, huge, repeated and bracketed values. Sent to a real gateway process on 127.0.0.1.
// Every answer must be well formed (never a 5xx, never -32603; the same check as the HTTP fuzzing) and the gateway
// must log no unhandled error.
//
// The random fuzzing (fuzz-http.test.ts) finds holes by chance, a different seed each run; this walk is the same
// every run and reaches the fields chance rarely does (a data part's metadata set to null made the SDK's 0.3
// conversion read a property of null: -32603).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sendTask, type GatewayProcess } from '../helpers/gateway.js';
import { dropRedisKeys } from '../helpers/redis-keys.js';
import { checkAnswer, errorLines, spawnBadInputTarget } from '../helpers/wire-check.js';

/** The Redis the second run uses: database 7, the test's own key prefix, dropped after. */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';

/** Stands for the field being left out. */
const ABSENT = Symbol('absent');

/** The values each field is given in turn. */
const ODD_VALUES: ReadonlyArray<unknown> = [
  ABSENT,
  null,
  true,
  0,
  -1.5,
  1e308,
  '',
  'x',
  [],
  [1, 'x', null],
  {},
  { toString: 'x', valueOf: 1, length: 3 },
];

/** The values each REST query parameter is given in turn (a raw query string fragment for `name`). */
const ODD_QUERIES: ReadonlyArray<(name: string) => string> = [
  (n) => `${n}=`,
  (n) => `${n}=abc`,
  (n) => `${n}=-1`,
  (n) => `${n}=1.5`,
  (n) => `${n}=99999999999999999999999`,
  (n) => `${n}=1&${n}=2`,
  (n) => `${n}[a]=1`,
  (n) => `${n}[]=1`,
  (n) => `${n}[toString]=x`,
  (n) => n,
];

type Json = Record<string, unknown>;

interface Template {
  label: string;
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: Json;
  /** Query parameters of a GET, each mutated in turn. */
  query?: Record<string, string>;
}

/** Every path into `value` (object keys and list indexes), parents before children. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      out.push([...prefix, i], ...pathsOf(item, [...prefix, i]));
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push([...prefix, key], ...pathsOf(item, [...prefix, key]));
    }
  }
  return out;
}

/** A copy of `body` with the value at `path` replaced (or removed, for {@link ABSENT}). */
function withValue(body: Json, path: Array<string | number>, value: unknown): Json {
  const copy = structuredClone(body);
  let node: any = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1]!;
  if (value !== ABSENT) node[last] = structuredClone(value);
  else if (Array.isArray(node)) node.splice(last as number, 1);
  else delete node[last];
  return copy;
}

function templates(task: string, context: string): Template[] {
  const v03 = { 'content-type': 'application/json' };
  const v10 = { 'content-type': 'application/json', 'a2a-version': '1.0' };
  const rpc = (headers: Record<string, string>, method: string, params: Json): Template => ({
    label: `JSON-RPC ${method}`,
    method: 'POST',
    path: '/',
    headers,
    body: { jsonrpc: '2.0', id: 7, method, params },
  });
  const message03 = (parts: unknown[]) => ({
    kind: 'message',
    role: 'user',
    messageId: 'm-field-types',
    contextId: context,
    parts,
    metadata: { skill: 'code', timeout: 30 },
    extensions: ['urn:x'],
    referenceTaskIds: [task],
  });
  const text03 = [
    { kind: 'text', text: 'say hi', metadata: { a: 1 } },
    { kind: 'data', data: { instructions: 'say hi' }, metadata: { a: 1 } },
  ];
  const files03 = [
    {
      kind: 'file',
      file: { uri: 'https://x.example/a.txt', mimeType: 'text/plain', name: 'a.txt' },
      metadata: {},
    },
    { kind: 'file', file: { bytes: 'aGk=', mimeType: 'text/plain', name: 'b.txt' } },
  ];
  const push03 = {
    url: 'https://hooks.example/x',
    token: 't',
    id: 'p-field',
    authentication: { schemes: ['Bearer'], credentials: 'c' },
  };
  const configuration03 = {
    blocking: true,
    acceptedOutputModes: ['text/plain'],
    historyLength: 2,
    pushNotificationConfig: push03,
  };
  const message10 = (parts: unknown[]) => ({
    messageId: 'm-field-types',
    role: 'ROLE_USER',
    contextId: context,
    parts,
    metadata: { skill: 'code' },
    extensions: ['urn:x'],
    referenceTaskIds: [task],
  });
  const text10 = [
    { text: 'say hi', mediaType: 'text/plain', metadata: { a: 1 } },
    { data: { instructions: 'say hi' }, mediaType: 'application/json' },
  ];
  const files10 = [
    { url: 'https://x.example/a.txt', mediaType: 'text/plain', filename: 'a.txt' },
    { raw: 'aGk=', filename: 'b.txt' },
  ];
  const push10 = {
    url: 'https://hooks.example/x',
    token: 't',
    id: 'p-field',
    authentication: { scheme: 'Bearer', credentials: 'c' },
  };
  const configuration10 = {
    acceptedOutputModes: ['text/plain'],
    historyLength: 2,
    returnImmediately: false,
    taskPushNotificationConfig: push10,
  };
  const v01 = (method: string): Template =>
    rpc(v03, method, {
      id: 'v01-field-types',
      sessionId: context,
      skill: 'code',
      message: {
        role: 'user',
        parts: [
          { type: 'text', text: 'say hi' },
          { type: 'data', data: { instructions: 'say hi' } },
          { type: 'file', file: { uri: 'https://x.example/a.txt' } },
        ],
        metadata: { a: 1 },
      },
      acceptedOutputModes: ['text'],
      historyLength: 1,
      metadata: { a: 1 },
    });
  return [
    // A2A 0.3 JSON-RPC
    rpc(v03, 'message/send', {
      message: message03(text03),
      configuration: configuration03,
      metadata: { a: 1 },
    }),
    rpc(v03, 'message/send', { message: message03(files03) }),
    rpc(v03, 'message/stream', { message: message03(text03), configuration: configuration03 }),
    rpc(v03, 'tasks/get', { id: task, historyLength: 1, metadata: {} }),
    rpc(v03, 'tasks/cancel', { id: task, metadata: {} }),
    rpc(v03, 'tasks/resubscribe', { id: task }),
    rpc(v03, 'tasks/pushNotificationConfig/set', { taskId: task, pushNotificationConfig: push03 }),
    rpc(v03, 'tasks/pushNotificationConfig/get', { id: task, pushNotificationConfigId: 'p-field' }),
    rpc(v03, 'tasks/pushNotificationConfig/list', { id: task }),
    rpc(v03, 'tasks/pushNotificationConfig/delete', { id: task, pushNotificationConfigId: 'p-none' }),
    rpc(v03, 'agent/getAuthenticatedExtendedCard', {}),
    // A2A 0.1, the brief's dialect
    v01('tasks/send'),
    v01('tasks/sendSubscribe'),
    // A2A 1.0 JSON-RPC
    rpc(v10, 'SendMessage', {
      message: message10(text10),
      configuration: configuration10,
      metadata: { a: 1 },
      tenant: '',
    }),
    rpc(v10, 'SendMessage', { message: message10(files10) }),
    rpc(v10, 'SendStreamingMessage', { message: message10(text10), configuration: configuration10 }),
    rpc(v10, 'GetTask', { id: task, historyLength: 1, tenant: '' }),
    rpc(v10, 'CancelTask', { id: task, metadata: {} }),
    rpc(v10, 'SubscribeToTask', { id: task }),
    rpc(v10, 'ListTasks', {
      contextId: context,
      status: 'TASK_STATE_COMPLETED',
      pageSize: 5,
      pageToken: '',
      historyLength: 1,
      statusTimestampAfter: '2020-01-01T00:00:00Z',
      includeArtifacts: true,
    }),
    rpc(v10, 'CreateTaskPushNotificationConfig', { taskId: task, ...push10 }),
    rpc(v10, 'GetTaskPushNotificationConfig', { taskId: task, id: 'p-field' }),
    rpc(v10, 'ListTaskPushNotificationConfigs', { taskId: task, pageSize: 5, pageToken: '' }),
    rpc(v10, 'DeleteTaskPushNotificationConfig', { taskId: task, id: 'p-none' }),
    rpc(v10, 'GetExtendedAgentCard', {}),
    // HTTP+JSON, 1.0 and 0.3
    {
      label: 'REST 1.0 message:send',
      method: 'POST',
      path: '/message:send',
      headers: v10,
      body: { message: message10(text10), configuration: configuration10, metadata: { a: 1 } },
    },
    {
      label: 'REST 1.0 message:send, files',
      method: 'POST',
      path: '/message:send',
      headers: v10,
      body: { message: message10(files10) },
    },
    {
      label: 'REST 1.0 cancel',
      method: 'POST',
      path: `/tasks/${task}:cancel`,
      headers: v10,
      body: { metadata: { a: 1 } },
    },
    {
      label: 'REST 1.0 push config',
      method: 'POST',
      path: `/tasks/${task}/pushNotificationConfigs`,
      headers: v10,
      body: { ...push10 },
    },
    {
      label: 'REST 0.3 message:send',
      method: 'POST',
      path: '/v1/message:send',
      headers: v03,
      body: { message: message03(text03), configuration: configuration03 },
    },
    {
      label: 'REST 0.3 push config',
      method: 'POST',
      path: `/v1/tasks/${task}/pushNotificationConfigs`,
      headers: v03,
      body: { pushNotificationConfig: push03 },
    },
    {
      label: 'REST 1.0 list',
      method: 'GET',
      path: '/tasks',
      headers: { 'a2a-version': '1.0' },
      query: {
        contextId: context,
        status: 'TASK_STATE_COMPLETED',
        pageSize: '5',
        pageToken: '',
        historyLength: '1',
        statusTimestampAfter: '2020-01-01T00:00:00Z',
        includeArtifacts: 'true',
      },
    },
    {
      label: 'REST 1.0 get',
      method: 'GET',
      path: `/tasks/${task}`,
      headers: { 'a2a-version': '1.0' },
      query: { historyLength: '1' },
    },
    {
      label: 'REST 0.3 get',
      method: 'GET',
      path: `/v1/tasks/${task}`,
      headers: {},
      query: { historyLength: '1' },
    },
    {
      label: 'REST 1.0 push configs',
      method: 'GET',
      path: `/tasks/${task}/pushNotificationConfigs`,
      headers: { 'a2a-version': '1.0' },
      query: { pageSize: '5', pageToken: '' },
    },
  ];
}

interface Probe {
  what: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One request per (field, odd value) of each template, one per (query parameter, odd value) of each GET. */
function probes(list: Template[]): Probe[] {
  const out: Probe[] = [];
  for (const t of list) {
    if (t.body) {
      for (const path of pathsOf(t.body)) {
        for (const value of ODD_VALUES) {
          out.push({
            what: `${t.label}: ${path.join('.')} = ${value === ABSENT ? '(left out)' : JSON.stringify(value)}`,
            method: t.method,
            path: t.path,
            headers: t.headers,
            body: JSON.stringify(withValue(t.body, path, value)),
          });
        }
      }
    }
    for (const name of Object.keys(t.query ?? {})) {
      const others = Object.entries(t.query ?? {})
        .filter(([k]) => k !== name)
        .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
      for (const odd of ODD_QUERIES) {
        const query = [...others, odd(name)].join('&');
        out.push({
          what: `${t.label}: ?${odd(name)}`,
          method: t.method,
          path: `${t.path}?${query}`,
          headers: t.headers,
        });
      }
    }
  }
  return out;
}

for (const store of ['sqlite', 'redis'] as const) {
  describe(`every field given every kind of value (${store} store)`, () => {
    const prefix = `field-types-${process.pid}:`;
    let gw: GatewayProcess;
    let stop: () => Promise<void>;
    before(async () => {
      ({ gw, stop } = await spawnBadInputTarget(
        'fields',
        store === 'redis' ? { REDIS_ENABLED: 'true', REDIS_URL, REDIS_KEY_PREFIX: prefix } : {},
      ));
    });
    after(async () => {
      await stop();
      if (store === 'redis') await dropRedisKeys(REDIS_URL, prefix);
    });

    test('well-formed answers, no 5xx, no -32603, no unhandled error', { timeout: 300_000 }, async (t) => {
      const first = await sendTask(gw.url, { skill: 'code', input: 'say hi' });
      const task = first.body.result as { id: string; contextId: string; status: { state: string } };
      assert.equal(task.status.state, 'completed', JSON.stringify(first.body));
      const list = probes(templates(task.id, task.contextId));
      const failures: string[] = [];
      const statuses = new Map<number, number>();
      let next = 0;
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < list.length) {
            const probe = list[next++]!;
            let status: number;
            let contentType: string;
            let text: string;
            try {
              const res = await fetch(`${gw.url}${probe.path}`, {
                method: probe.method,
                headers: probe.headers,
                ...(probe.body !== undefined ? { body: probe.body } : {}),
                signal: AbortSignal.timeout(30_000),
              });
              status = res.status;
              contentType = res.headers.get('content-type') ?? '';
              text = await res.text();
            } catch (err) {
              failures.push(`${probe.what}: no answer (${(err as Error).message})`);
              continue;
            }
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            const problem = checkAnswer(probe, status, contentType, text);
            if (problem)
              failures.push(`${probe.what}\n    -> ${status} ${problem}\n    ${text.slice(0, 300)}`);
          }
        }),
      );
      t.diagnostic(
        `${list.length} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; statuses ` +
          JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0]))),
      );
      assert.equal(
        failures.length,
        0,
        `${failures.length} bad answers:\n  ${failures.slice(0, 20).join('\n  ')}\nthe gateway's error lines:\n${errorLines(gw.output())}`,
      );
      assert.doesNotMatch(gw.output(), /unhandled error/i, 'no unhandled error was logged');
      const health = await fetch(`${gw.url}/health`);
      assert.equal(health.status, 200);
    });
  });
}
