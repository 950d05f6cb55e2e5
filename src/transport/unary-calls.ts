import type { Request, RequestHandler } from 'express';

/** JSON-RPC methods (1.0, 0.3 and the 0.1 shim's) whose answer is one JSON body, never an event stream. */
const UNARY_METHODS = new Set([
  'GetTask',
  'ListTasks',
  'CancelTask',
  'SendMessage',
  'tasks/get',
  'tasks/list',
  'tasks/cancel',
  'message/send',
  'tasks/send',
]);

/** REST reads of one task or the task list (1.0 and 0.3 paths), never a stream (`:subscribe` has a colon). */
const UNARY_REST_GET = /^\/(?:v1\/)?tasks(?:\/[^/:]+)?$/;

/**
 * Whether a request is one of the frequent calls that are certainly answered without an event stream. Anything
 * else, including what is not recognised, counts as a possible stream.
 */
export function isUnaryCall(req: Request): boolean {
  if (req.method === 'GET') return UNARY_REST_GET.test(req.path);
  if (req.method !== 'POST' || req.path !== '/') return false;
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const method: unknown = (body as { method?: unknown }).method;
  return typeof method === 'string' && UNARY_METHODS.has(method);
}

/**
 * Runs `handler` only for requests that may become event streams: the stream bookkeeping (ids, heartbeat timers,
 * an abort signal and listeners per request) is not paid by every GetTask.
 */
export function forPossibleStreams(handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (isUnaryCall(req)) next();
    else handler(req, res, next);
  };
}
