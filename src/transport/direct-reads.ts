import type { Request, RequestHandler, Response } from 'express';
import { Task } from '@a2a-js/sdk';
import type { ServerCallContext, ServerCallContextBuilder } from '@a2a-js/sdk/server';
import { TextCache } from '../stores/text-cache.js';
import type { GatewayTaskStore } from '../stores/types.js';
import { userBuilder } from './security.js';

/** The answers kept: up to 2,000 tasks', 32 M characters in all, none over 256 K (least recently read first out). */
const CACHE_LIMITS = { maxEntries: 2000, maxChars: 32 * 1024 * 1024, maxEntryChars: 256 * 1024 };

const REST_GET_TASK = /^\/tasks\/([^/:]+)$/;
const REST_TYPES = new Set(['application/json', 'application/a2a+json']);

export interface DirectReadsDeps {
  store: Pick<GatewayTaskStore, 'loadWireJson'>;
  /** The answers kept, shared with the front door. */
  answers: AnswerCache;
  /** The contexts the SDK's handlers build for each binding (the store's scope comes from them). */
  jsonRpcContext: ServerCallContextBuilder;
  restContext: ServerCallContextBuilder;
}

/**
 * The task JSON as the SDK's path writes it (`Task.toJSON` of the decoded row), computed once per stored version
 * of a task: a row that has not changed since is answered from memory, with no decoding or encoding at all.
 */
export class AnswerCache {
  private readonly entries = new TextCache<Answer>(CACHE_LIMITS, (a) =>
    a.json === a.stored ? a.stored.length : a.stored.length + a.json.length,
  );

  answerFor(taskId: string, stored: string): Answer {
    const hit = this.entries.get(taskId);
    if (hit?.stored === stored) return hit;
    const encoded = JSON.stringify(Task.toJSON(Task.fromJSON(JSON.parse(stored))));
    // Most rows are stored in exactly this form: keep one string, not two.
    const answer: Answer = { stored, json: encoded === stored ? stored : encoded, etags: new Map() };
    this.entries.set(taskId, answer);
    return answer;
  }
}

/** One stored version of a task, as answered, and the ETags of the bodies it was answered in. */
export interface Answer {
  stored: string;
  json: string;
  /** By body: the REST body (key '') and the JSON-RPC bodies of the last few request ids (as JSON). */
  etags: Map<string, string | undefined>;
}

/** Bodies of one answer whose ETag is kept. */
const ETAGS_PER_ANSWER = 4;

/**
 * The ETag `res.send` would compute for `body` (the app's `etag fn`, weak by default), computed once per body:
 * set before `res.send`, it keeps Express from hashing the same bytes on every read.
 */
export function etagFor(etagFn: unknown, answer: Answer, bodyKey: string, body: string): string | undefined {
  if (answer.etags.has(bodyKey)) return answer.etags.get(bodyKey);
  const etag = typeof etagFn === 'function' ? (etagFn as EtagFn)(body, 'utf8') : undefined;
  if (answer.etags.size >= ETAGS_PER_ANSWER) answer.etags.clear();
  answer.etags.set(bodyKey, etag);
  return etag;
}

type EtagFn = (body: string | Buffer, encoding?: BufferEncoding) => string | undefined;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The JSON-RPC request id and task id of a plain 1.0 `GetTask` (nothing but `params.id`) in a parsed body sent
 * with this content type, or undefined.
 */
export function plainJsonRpcGet(
  type: string | undefined,
  body: unknown,
): { rpcId: string | number; taskId: string } | undefined {
  if (type !== undefined && type.split(';', 1)[0]?.trim().toLowerCase() !== 'application/json')
    return undefined;
  if (!isPlainObject(body) || body.jsonrpc !== '2.0' || body.method !== 'GetTask') return undefined;
  const rpcId = body.id;
  if (!(typeof rpcId === 'string' || (typeof rpcId === 'number' && Number.isInteger(rpcId))))
    return undefined;
  const params = body.params;
  if (!isPlainObject(params)) return undefined;
  for (const key in params) if (key !== 'id') return undefined;
  const taskId = params.id;
  if (typeof taskId !== 'string' || taskId.trim() === '') return undefined;
  return { rpcId, taskId };
}

/**
 * The task id of a plain 1.0 `GET /tasks/{id}` (no query, no tenant) with this content type, path and URL (the
 * path with its query, if any), or undefined.
 */
export function plainRestGet(type: string | undefined, path: string, url: string): string | undefined {
  // The SDK's REST router refuses any other content type, even on a GET.
  if (type !== undefined && !REST_TYPES.has(type.split(';', 1)[0]?.trim().toLowerCase() ?? ''))
    return undefined;
  const match = REST_GET_TASK.exec(path);
  if (!match?.[1] || url.includes('?')) return undefined;
  try {
    const taskId = decodeURIComponent(match[1]);
    return taskId.trim() === '' ? undefined : taskId;
  } catch {
    return undefined;
  }
}

function send(
  req: Request,
  res: Response,
  contentType: string,
  answer: Answer,
  body: { key: string; text: string },
): void {
  res.status(200);
  // As `res.json` does after the SDK's handlers: their content type (if set), then `send` adds the charset.
  if (!res.get('Content-Type')) res.setHeader('Content-Type', contentType);
  const etag = etagFor(req.app.get('etag fn'), answer, body.key, body.text);
  if (etag) res.setHeader('ETag', etag);
  res.send(body.text);
}

/**
 * A direct read path for the most frequent call, a plain GetTask on A2A 1.0 (JSON-RPC `GetTask` with only an
 * id, REST `GET /tasks/{id}` without a query): the task's stored JSON is answered in the bytes the SDK's handlers
 * write, without their layers (router, parser, context, decode and re-encode per request). Every other request,
 * every task not found and every read that failed, goes on to the SDK's handlers, so errors and all other
 * behaviour stay theirs. Mounted after authentication, rate limiting and the body reader, in place of nothing.
 */
export function directReads(deps: DirectReadsDeps): RequestHandler {
  const { store } = deps;
  if (!store.loadWireJson) return (_req, _res, next) => next();
  const loadWireJson = store.loadWireJson.bind(store);
  const cache = deps.answers;
  const contextFor = async (req: Request, builder: ServerCallContextBuilder): Promise<ServerCallContext> =>
    builder({ extensions: [], user: await userBuilder(req), headers: req.headers, requestedVersion: '1.0' });

  return (req, res, next) => {
    if (req.headers['a2a-version'] !== '1.0' || req.headers['a2a-extensions'] !== undefined) {
      next();
      return;
    }
    let answer: ((cached: Answer) => void) | undefined;
    let taskId: string | undefined;
    let builder = deps.jsonRpcContext;
    if (req.method === 'POST' && req.path === '/') {
      const call = plainJsonRpcGet(req.header('content-type'), req.body);
      if (call) {
        taskId = call.taskId;
        const id = JSON.stringify(call.rpcId);
        answer = (cached) =>
          send(req, res, 'application/json', cached, {
            key: id,
            text: `{"jsonrpc":"2.0","id":${id},"result":${cached.json}}`,
          });
      }
    } else if (req.method === 'GET') {
      taskId = plainRestGet(req.header('content-type'), req.path, req.url);
      builder = deps.restContext;
      // The SDK's REST router sets this type on every answer before its handler runs.
      answer = (cached) => {
        res.setHeader('Content-Type', 'application/a2a+json');
        send(req, res, 'application/a2a+json', cached, { key: '', text: cached.json });
      };
    }
    if (taskId === undefined || !answer) {
      next();
      return;
    }
    const id = taskId;
    const reply = answer;
    contextFor(req, builder)
      .then((context) => loadWireJson(id, context))
      .then(
        (stored) => {
          if (stored === undefined) next();
          else reply(cache.answerFor(id, stored));
        },
        // A read that failed (Redis away) goes on to the SDK's handler too, whose error mapping tells it.
        () => next(),
      );
  };
}
