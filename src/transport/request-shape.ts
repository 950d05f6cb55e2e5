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

/**
 * The first field of `obj` (among `keys`) that is present but not a string, as `prefix.key`. A null counts as
 * absent unless `nullIsAbsent` is false (for fields the SDK tests with `in` rather than `??`).
 */
function nonString(
  obj: Json,
  keys: readonly string[],
  prefix: string,
  nullIsAbsent = true,
): string | undefined {
  for (const key of keys) {
    const value = obj[key];
    if (value === undefined || typeof value === 'string' || (nullIsAbsent && value === null)) continue;
    return `${prefix}${key}: expected a string, got ${describeValue(value)}`;
  }
  return undefined;
}

/**
 * Fields the SDK turns into a string, a number or a boolean (`String(x)`, `Number(x)`), by what each holds. An
 * object or a list there was taken as "[object Object]" at best; one with a `toString` or `valueOf` key (which JSON
 * can carry, as data, never as a function) made the conversion throw, and the call came back -32603.
 */
const SCALAR_PARAMS: Readonly<Record<string, string>> = {
  contextId: 'a string',
  pageToken: 'a string',
  status: 'a task state name',
  statusTimestampAfter: 'a timestamp string',
  lastUpdatedAfter: 'a timestamp string',
  pageSize: 'a whole number',
  historyLength: 'a whole number',
  includeArtifacts: 'true or false',
};

/** The first of {@link SCALAR_PARAMS} in `obj` that holds an object or a list, as `prefix.key`. */
function nonScalar(obj: Json, prefix: string): string | undefined {
  for (const [key, expected] of Object.entries(SCALAR_PARAMS)) {
    const value = obj[key];
    if (typeof value === 'object' && value !== null) {
      return `${prefix}${key}: expected ${expected}, got ${describeValue(value)}`;
    }
  }
  return undefined;
}

/**
 * The first of `keys` in `obj` that is present but not a list of strings, as `prefix.key` (or `prefix.key.i` for
 * the first item that is not a string). The SDK spreads these (`[...x]`) or maps them through `String`: a number
 * there came back -32603 "is not iterable", an object with a `toString` key made `String` throw.
 */
function nonStringList(obj: Json, keys: readonly string[], prefix: string): string | undefined {
  for (const key of keys) {
    const value = obj[key];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value))
      return `${prefix}${key}: expected a list of strings, got ${describeValue(value)}`;
    const bad = value.findIndex((item) => typeof item !== 'string');
    if (bad >= 0) return `${prefix}${key}.${bad}: expected a string, got ${describeValue(value[bad])}`;
  }
  return undefined;
}

/** The first problem with a message's id fields, its lists and its text parts, or undefined. */
export function messageShapeProblem(message: unknown, prefix: string): string | undefined {
  if (message === undefined || message === null) return undefined;
  if (!isObject(message))
    return `${prefix}: expected an object with role and parts, got ${describeValue(message)}`;
  const ids =
    nonString(message, ['messageId', 'taskId', 'contextId'], `${prefix}.`) ??
    nonStringList(message, ['extensions', 'referenceTaskIds'], `${prefix}.`);
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
    // A file's fields are strings (0.3: file.uri/bytes/mimeType/name; 1.0: url/raw/mediaType/filename on the
    // part): the SDK hands them to Buffer.from and the like, and a number there came back -32603. The SDK picks
    // the 0.3 content by `'bytes' in file`, so a null `bytes` or `uri` is no more absent than a number is.
    if (isObject(part.file)) {
      const filePrefix = `${prefix}.parts.${i}.file.`;
      const fileField =
        nonString(part.file, ['uri', 'bytes'], filePrefix, false) ??
        nonString(part.file, ['mimeType', 'mediaType', 'name'], filePrefix);
      if (fileField) return fileField;
    }
    const partField = nonString(part, ['url', 'raw', 'mediaType', 'filename'], `${prefix}.parts.${i}.`);
    if (partField) return partField;
    // The SDK's 0.3 conversion reads a flag out of a data part's metadata: null there came back -32603.
    if (part.metadata !== undefined && !isObject(part.metadata)) {
      return `${prefix}.parts.${i}.metadata: expected an object, got ${describeValue(part.metadata)}`;
    }
    const isText = tag === 'text' || (tag === undefined && 'text' in part);
    if (isText && typeof part.text !== 'string') {
      return `${prefix}.parts.${i}.text: expected a string, got ${describeValue(part.text)}`;
    }
  }
  return undefined;
}

/**
 * The first problem with a push notification config's fields, or undefined: the SDK's 0.3 to 1.0 conversion calls
 * `schemes.join` and `.trim()` on what it takes for strings and lists, so a mistyped field would come back -32603.
 */
export function pushConfigShapeProblem(config: unknown, prefix: string): string | undefined {
  if (config === undefined || config === null) return undefined;
  if (!isObject(config)) return `${prefix}: expected an object with a url, got ${describeValue(config)}`;
  const fields = nonString(config, ['url', 'token', 'id', 'taskId', 'tenant'], `${prefix}.`);
  if (fields) return fields;
  const auth = config.authentication;
  if (auth === undefined || auth === null) return undefined;
  if (!isObject(auth))
    return `${prefix}.authentication: expected an object with schemes and credentials, got ${describeValue(auth)}`;
  const schemes = auth.schemes;
  if (schemes !== undefined && schemes !== null) {
    if (!Array.isArray(schemes))
      return `${prefix}.authentication.schemes: expected a list of scheme names, got ${describeValue(schemes)}`;
    const bad = schemes.findIndex((s) => typeof s !== 'string');
    if (bad >= 0)
      return `${prefix}.authentication.schemes.${bad}: expected a string, got ${describeValue(schemes[bad])}`;
  }
  return nonString(auth, ['scheme', 'credentials'], `${prefix}.authentication.`);
}

/** The first problem with a JSON-RPC request's params, or undefined. */
export function jsonRpcParamsProblem(method: unknown, params: unknown): string | undefined {
  if (!isObject(params)) return undefined;
  if (method === 'tasks/pushNotificationConfig/set' && !isObject(params.pushNotificationConfig)) {
    return `params.pushNotificationConfig: expected an object with a url, got ${describeValue(params.pushNotificationConfig)}`;
  }
  return (
    nonString(params, ['id', 'taskId', 'pushNotificationConfigId', 'tenant'], 'params.') ??
    nonScalar(params, 'params.') ??
    pushConfigShapeProblem(params.pushNotificationConfig, 'params.pushNotificationConfig') ??
    (method === 'CreateTaskPushNotificationConfig' ? pushConfigShapeProblem(params, 'params') : undefined) ??
    messageShapeProblem(params.message, 'params.message') ??
    configurationShapeProblem(params.configuration, 'params.configuration')
  );
}

/** A send's configuration carries a push config of its own (`configuration.pushNotificationConfig`). */
function configurationShapeProblem(configuration: unknown, prefix: string): string | undefined {
  if (!isObject(configuration)) return undefined;
  return (
    nonScalar(configuration, `${prefix}.`) ??
    nonStringList(configuration, ['acceptedOutputModes', 'accepted_output_modes'], `${prefix}.`) ??
    pushConfigShapeProblem(configuration.pushNotificationConfig, `${prefix}.pushNotificationConfig`) ??
    // 1.0's name for it.
    pushConfigShapeProblem(configuration.taskPushNotificationConfig, `${prefix}.taskPushNotificationConfig`)
  );
}

const PUSH_CONFIGS_PATH = /\/pushNotificationConfigs$/;
/** The A2A REST reads (`/tasks`, `/tasks/{id}`, push configs), with or without a `/v1` or tenant prefix. */
const TASKS_READ_PATH = /(?:^|\/)tasks(?:\/|$)/;

/**
 * The first query parameter of an A2A REST read given more than once (`?contextId=a&contextId=b`), which Express
 * parses into a list: a list as a `contextId` filter reached the store's query (a 500). The A2A reads take one
 * value per parameter.
 */
function queryProblem(query: unknown): string | undefined {
  if (!isObject(query)) return undefined;
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') {
      return `query parameter ${name}: expected one value, got ${Array.isArray(value) ? 'several' : describeValue(value)}`;
    }
  }
  return undefined;
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
  if (req.method === 'GET' && TASKS_READ_PATH.test(req.path) && !req.path.startsWith('/api/')) {
    const problem = queryProblem(req.query);
    if (problem) {
      restError(res, 400, 'INVALID_ARGUMENT', problem);
      return;
    }
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
    const problem =
      messageShapeProblem(body.message, 'message') ??
      configurationShapeProblem(body.configuration, 'configuration');
    if (problem) {
      restError(res, 400, 'INVALID_ARGUMENT', problem);
      return;
    }
  } else if (PUSH_CONFIGS_PATH.test(req.path)) {
    // 0.3 wraps the config ({ pushNotificationConfig }); 1.0 sends its fields at the top.
    const problem = isObject(body.pushNotificationConfig)
      ? pushConfigShapeProblem(body.pushNotificationConfig, 'pushNotificationConfig')
      : pushConfigShapeProblem(body, 'body');
    if (problem) {
      restError(res, 400, 'INVALID_ARGUMENT', problem);
      return;
    }
  }
  next();
};
