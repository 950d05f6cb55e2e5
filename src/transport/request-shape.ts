import type { RequestHandler } from 'express';
import { describeValue } from '../skills/input-error.js';
import { jsonRpcError, restError } from './body.js';

/**
 * Checks the types of the request fields the SDK and the planner take for strings (ids, message text) before
 * either sees them: a number where a task id belongs would otherwise reach `.trim()` deep inside and come back as
 * -32603 "internal error". Each refusal names the field, what was expected and what arrived. Only the types are
 * checked here; which values are valid stays the SDK's and the planner's business.
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The first field of `obj` (among `keys`) that is present but not a string, as `prefix.key`. */
function nonString(obj: Json, keys: readonly string[], prefix: string): string | undefined {
  for (const key of keys) {
    const value = obj[key];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      return `${prefix}${key}: expected a string, got ${describeValue(value)}`;
    }
  }
  return undefined;
}

/** The first problem with a message's id fields and text parts, or undefined. */
export function messageShapeProblem(message: unknown, prefix: string): string | undefined {
  if (message === undefined || message === null) return undefined;
  if (!isObject(message))
    return `${prefix}: expected an object with role and parts, got ${describeValue(message)}`;
  const ids = nonString(message, ['messageId', 'taskId', 'contextId'], `${prefix}.`);
  if (ids) return ids;
  const parts = message.parts;
  if (parts === undefined || parts === null) return undefined;
  if (!Array.isArray(parts)) return `${prefix}.parts: expected a list of parts, got ${describeValue(parts)}`;
  for (const [i, part] of parts.entries()) {
    if (!isObject(part))
      return `${prefix}.parts.${i}: expected an object (a part), got ${describeValue(part)}`;
    for (const key of ['kind', 'type'] as const) {
      if (part[key] !== undefined && typeof part[key] !== 'string') {
        return `${prefix}.parts.${i}.${key}: expected a string (text, data or file), got ${describeValue(part[key])}`;
      }
    }
    const tag = part.kind ?? part.type;
    if (tag === 'file' && !isObject(part.file)) {
      return `${prefix}.parts.${i}.file: expected an object with uri or bytes, got ${describeValue(part.file)}`;
    }
    const isText = tag === 'text' || (tag === undefined && 'text' in part);
    if (isText && typeof part.text !== 'string') {
      return `${prefix}.parts.${i}.text: expected a string, got ${describeValue(part.text)}`;
    }
  }
  return undefined;
}

/** The first problem with a JSON-RPC request's params, or undefined. */
export function jsonRpcParamsProblem(method: unknown, params: unknown): string | undefined {
  if (!isObject(params)) return undefined;
  if (method === 'tasks/pushNotificationConfig/set' && !isObject(params.pushNotificationConfig)) {
    return `params.pushNotificationConfig: expected an object with a url, got ${describeValue(params.pushNotificationConfig)}`;
  }
  return (
    nonString(params, ['id', 'taskId', 'pushNotificationConfigId', 'tenant'], 'params.') ??
    messageShapeProblem(params.message, 'params.message')
  );
}

const MESSAGE_PATH = /(?:^|\/)message:(?:send|stream)$/;

/**
 * JSON-RPC and REST requests with a mistyped id or text field are refused with an error naming the field; a
 * JSON-RPC request whose own id is not a string, a number or null is an invalid request (answered with id null).
 */
export const requestShape: RequestHandler = (req, res, next) => {
  const body: unknown = req.body;
  if (req.method === 'POST' && req.path !== '/' && body !== undefined && !isObject(body)) {
    restError(res, 400, 'INVALID_ARGUMENT', `the body must be a JSON object, got ${describeValue(body)}`);
    return;
  }
  if (req.method !== 'POST' || !isObject(body)) {
    next();
    return;
  }
  if (req.path === '/') {
    if ('id' in body && body.id !== null && typeof body.id !== 'string' && typeof body.id !== 'number') {
      // An id the answer cannot carry: the request is invalid as a whole (JSON-RPC 2.0, section 4).
      jsonRpcError(res, 200, -32600, 'Invalid Request: id must be a string, a number or null', null);
      return;
    }
    const problem = jsonRpcParamsProblem(body.method, body.params);
    if (problem) {
      const id = typeof body.id === 'string' || typeof body.id === 'number' ? body.id : null;
      jsonRpcError(res, 200, -32602, `Invalid params: ${problem}`, id);
      return;
    }
  } else if (MESSAGE_PATH.test(req.path)) {
    const problem = messageShapeProblem(body.message, 'message');
    if (problem) {
      restError(res, 400, 'INVALID_ARGUMENT', problem);
      return;
    }
  }
  next();
};
