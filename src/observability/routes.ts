/**
 * What an HTTP request was, in words with a bounded set of values: the route template it matched (never the raw
 * path, which carries task ids and tenants), the A2A method it called, the protocol version, and the task it was
 * about when the request names one.
 */

const FIXED_ROUTES: ReadonlySet<string> = new Set([
  '/',
  '/health',
  '/ready',
  '/metrics',
  '/.well-known/agent-card.json',
  '/.well-known/agent.json',
  '/.well-known/jwks.json',
  '/v1/card',
  '/ui',
  '/dashboard',
  '/api/tasks',
  '/api/tasks/events',
  '/api/backends',
]);

/** The HTTP+JSON binding's routes, after an optional `/v1` (0.3) and an optional tenant segment. */
const REST_ROUTES: ReadonlyArray<{ pattern: RegExp; template: string; method: string }> = [
  { pattern: /^\/message:send$/, template: '/message:send', method: 'SendMessage' },
  { pattern: /^\/message:stream$/, template: '/message:stream', method: 'SendStreamingMessage' },
  { pattern: /^\/tasks\/([^/]+):cancel$/, template: '/tasks/{id}:cancel', method: 'CancelTask' },
  { pattern: /^\/tasks\/([^/]+):subscribe$/, template: '/tasks/{id}:subscribe', method: 'SubscribeToTask' },
  {
    pattern: /^\/tasks\/([^/]+)\/pushNotificationConfigs$/,
    template: '/tasks/{id}/pushNotificationConfigs',
    method: 'TaskPushNotificationConfig',
  },
  {
    pattern: /^\/tasks\/([^/]+)\/pushNotificationConfigs\/[^/]+$/,
    template: '/tasks/{id}/pushNotificationConfigs/{configId}',
    method: 'TaskPushNotificationConfig',
  },
  { pattern: /^\/tasks\/([^/:]+)$/, template: '/tasks/{id}', method: 'GetTask' },
  { pattern: /^\/tasks$/, template: '/tasks', method: 'ListTasks' },
  { pattern: /^\/extendedAgentCard$/, template: '/extendedAgentCard', method: 'GetExtendedAgentCard' },
];

/** JSON-RPC method names of every A2A version the gateway speaks (others are counted as `other`). */
const JSONRPC_METHODS: ReadonlyMap<string, string> = new Map([
  // 1.0
  ['SendMessage', '1.0'],
  ['SendStreamingMessage', '1.0'],
  ['GetTask', '1.0'],
  ['ListTasks', '1.0'],
  ['CancelTask', '1.0'],
  ['SubscribeToTask', '1.0'],
  ['CreateTaskPushNotificationConfig', '1.0'],
  ['GetTaskPushNotificationConfig', '1.0'],
  ['ListTaskPushNotificationConfigs', '1.0'],
  ['DeleteTaskPushNotificationConfig', '1.0'],
  ['GetExtendedAgentCard', '1.0'],
  // 0.3
  ['message/send', '0.3'],
  ['message/stream', '0.3'],
  ['tasks/get', '0.3'],
  ['tasks/cancel', '0.3'],
  ['tasks/resubscribe', '0.3'],
  ['tasks/pushNotificationConfig/set', '0.3'],
  ['tasks/pushNotificationConfig/get', '0.3'],
  ['tasks/pushNotificationConfig/list', '0.3'],
  ['tasks/pushNotificationConfig/delete', '0.3'],
  ['agent/getAuthenticatedExtendedCard', '0.3'],
  // 0.1 (the original brief)
  ['tasks/send', '0.1'],
  ['tasks/sendSubscribe', '0.1'],
]);

export interface RequestShape {
  /** The route template (`/tasks/{id}`), or `other` for a path the gateway does not serve. */
  route: string;
  /** The A2A method, when the request is an A2A call. */
  a2aMethod: string | undefined;
  /** The A2A version of the call (0.1, 0.3, 1.0), when it is one. */
  a2aVersion: string | undefined;
  /** The task the request names (not the one a send creates, which only the handler knows). */
  taskId: string | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A task id as it may appear in a log line: a string, cut to a sane length. */
function idOf(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v.slice(0, 128) : undefined;
}

/** The id of the task a JSON-RPC call names, in any of the shapes the versions use. */
function jsonRpcTaskId(params: unknown): string | undefined {
  if (!isObject(params)) return undefined;
  const message = isObject(params.message) ? params.message : undefined;
  return idOf(params.id) ?? idOf(params.taskId) ?? idOf(message?.taskId);
}

/** The version a call declares (`A2A-Version`, already settled by the version middleware), or 0.3 by default. */
function versionOf(header: string | undefined): string {
  if (header === '1.0' || header === '0.3') return header;
  return header ? 'other' : '0.3';
}

/**
 * Names a request. `path` is the request path without the query; `body` the parsed body (JSON-RPC requests);
 * `versionHeader` the A2A-Version header the request ended up with.
 */
export function describeRequest(
  method: string,
  path: string,
  body: unknown,
  versionHeader: string | undefined,
): RequestShape {
  if (path === '/' && method === 'POST') {
    const rpc = isObject(body) ? body : undefined;
    const name = typeof rpc?.method === 'string' ? rpc.method : undefined;
    const known = name === undefined ? undefined : JSONRPC_METHODS.get(name);
    return {
      route: '/',
      a2aMethod: name === undefined ? undefined : known ? name : 'other',
      a2aVersion: known === '0.1' ? '0.1' : known ? versionOf(versionHeader) : undefined,
      taskId: jsonRpcTaskId(rpc?.params),
    };
  }
  if (FIXED_ROUTES.has(path)) {
    return { route: path, a2aMethod: undefined, a2aVersion: undefined, taskId: undefined };
  }
  if (path.startsWith('/ui/')) {
    return { route: '/ui/{asset}', a2aMethod: undefined, a2aVersion: undefined, taskId: undefined };
  }
  const v1 = path.startsWith('/v1/');
  const rest = v1 ? path.slice(3) : path;
  for (const tenant of [false, true]) {
    const tail = tenant ? rest.replace(/^\/[^/]+/, '') : rest;
    if (tenant && tail === rest) break;
    for (const r of REST_ROUTES) {
      const m = r.pattern.exec(tail);
      if (!m) continue;
      return {
        route: `${v1 ? '/v1' : ''}${tenant ? '/{tenant}' : ''}${r.template}`,
        a2aMethod: r.method,
        a2aVersion: v1 ? '0.3' : versionOf(versionHeader ?? '1.0'),
        taskId: m[1] ? idOf(decodeURIComponentSafe(m[1])) : undefined,
      };
    }
  }
  return { route: 'other', a2aMethod: undefined, a2aVersion: undefined, taskId: undefined };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
