import type { Request, RequestHandler, Response } from 'express';
import { Task } from '@a2a-js/sdk';
import type { ServerCallContext, ServerCallContextBuilder } from '@a2a-js/sdk/server';
import type { GatewayTaskStore } from '../stores/types.js';
import { userBuilder } from './security.js';

/** How many tasks' answers are kept, most recently stored first out. */
const CACHE_ENTRIES = 2000;

const REST_GET_TASK = /^\/tasks\/([^/:]+)$/;
const REST_TYPES = new Set(['application/json', 'application/a2a+json']);

export interface DirectReadsDeps {
  store: Pick<GatewayTaskStore, 'loadWireJson'>;
  /** The contexts the SDK's handlers build for each binding (the store's scope comes from them). */
  jsonRpcContext: ServerCallContextBuilder;
  restContext: ServerCallContextBuilder;
}

/**
 * The task JSON as the SDK's path writes it (`Task.toJSON` of the decoded row), computed once per stored version
 * of a task: a row that has not changed since is answered from memory, with no decoding or encoding at all.
 */
class AnswerCache {
  private readonly entries = new Map<string, { stored: string; answer: string }>();

  answerFor(taskId: string, stored: string): string {
    const hit = this.entries.get(taskId);
    if (hit?.stored === stored) return hit.answer;
    const encoded = JSON.stringify(Task.toJSON(Task.fromJSON(JSON.parse(stored))));
    // Most rows are stored in exactly this form: keep one string, not two.
    const answer = encoded === stored ? stored : encoded;
    this.entries.delete(taskId);
    this.entries.set(taskId, { stored, answer });
    if (this.entries.size > CACHE_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return answer;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON-RPC request id and task id of a plain 1.0 `GetTask` (nothing but `params.id`), or undefined. */
function plainJsonRpcGet(req: Request): { rpcId: string | number; taskId: string } | undefined {
  const type = req.header('content-type');
  if (type !== undefined && type.split(';', 1)[0]?.trim().toLowerCase() !== 'application/json')
    return undefined;
  const body: unknown = req.body;
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

/** The task id of a plain 1.0 `GET /tasks/{id}` (no query, no tenant), or undefined. */
function plainRestGet(req: Request): string | undefined {
  // The SDK's REST router refuses any other content type, even on a GET.
  const type = req.header('content-type');
  if (type !== undefined && !REST_TYPES.has(type.split(';', 1)[0]?.trim().toLowerCase() ?? ''))
    return undefined;
  const match = REST_GET_TASK.exec(req.path);
  if (!match?.[1] || req.url.includes('?')) return undefined;
  try {
    const taskId = decodeURIComponent(match[1]);
    return taskId.trim() === '' ? undefined : taskId;
  } catch {
    return undefined;
  }
}

function send(res: Response, contentType: string, body: string): void {
  res.status(200);
  // As `res.json` does after the SDK's handlers: their content type (if set), then `send` adds the charset.
  if (!res.get('Content-Type')) res.setHeader('Content-Type', contentType);
  res.send(body);
}

/**
 * A direct read path for the most frequent call, a plain GetTask on A2A 1.0 (JSON-RPC `GetTask` with only an
 * id, REST `GET /tasks/{id}` without a query): the task's stored JSON is answered in the bytes the SDK's handlers
 * write, without their layers (router, parser, context, decode and re-encode per request). Every other request,
 * and every task not found, goes on to the SDK's handlers, so errors and all other behaviour stay theirs. Mounted
 * after authentication, rate limiting and the body reader, in place of nothing.
 */
export function directReads(deps: DirectReadsDeps): RequestHandler {
  const { store } = deps;
  if (!store.loadWireJson) return (_req, _res, next) => next();
  const loadWireJson = store.loadWireJson.bind(store);
  const cache = new AnswerCache();
  const contextFor = async (req: Request, builder: ServerCallContextBuilder): Promise<ServerCallContext> =>
    builder({ extensions: [], user: await userBuilder(req), headers: req.headers, requestedVersion: '1.0' });

  return (req, res, next) => {
    if (req.headers['a2a-version'] !== '1.0' || req.headers['a2a-extensions'] !== undefined) {
      next();
      return;
    }
    let answer: ((json: string) => void) | undefined;
    let taskId: string | undefined;
    let builder = deps.jsonRpcContext;
    if (req.method === 'POST' && req.path === '/') {
      const call = plainJsonRpcGet(req);
      if (call) {
        taskId = call.taskId;
        const prefix = `{"jsonrpc":"2.0","id":${JSON.stringify(call.rpcId)},"result":`;
        answer = (json) => send(res, 'application/json', `${prefix}${json}}`);
      }
    } else if (req.method === 'GET') {
      taskId = plainRestGet(req);
      builder = deps.restContext;
      // The SDK's REST router sets this type on every answer before its handler runs.
      answer = (json) => {
        res.setHeader('Content-Type', 'application/a2a+json');
        send(res, 'application/a2a+json', json);
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
      .then((stored) => {
        if (stored === undefined) next();
        else reply(cache.answerFor(id, stored));
      }, next);
  };
}
