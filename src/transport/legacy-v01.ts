import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { SSE_HEADERS } from '@a2a-js/sdk';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import {
  defaultServerCallContextBuilder,
  type A2ARequestHandler,
  type ServerCallContext,
  type User,
} from '@a2a-js/sdk/server';
import { describeValue } from '../skills/input-error.js';
import { jsonRpcError } from './body.js';
import { TRANSPORT_STATE_KEY } from './request-handler.js';

/**
 * The A2A 0.1 JSON-RPC dialect the original brief uses: `tasks/send` and `tasks/sendSubscribe` with a top-level
 * `params.skill`, parts tagged `type` instead of `kind`, `sessionId` instead of `contextId`. The SDK does not know
 * 0.1, so these requests are translated to 0.3 and answered through the SDK's own 0.3 handler; tasks created this
 * way are marked so that `tasks/get` and `tasks/cancel` (names 0.1 and 0.3 share) answer them in 0.1 shape too.
 */

export const V01_DIALECT = '0.1';

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class ParamsError extends Error {}

/** `{type:'text', text}` → `{kind:'text', text}`; parts already tagged `kind` pass through. */
function toV03Part(part: unknown, index: number): Json {
  if (!isObject(part)) throw new ParamsError(`params.message.parts.${index}: expected an object`);
  if (typeof part.kind === 'string') return part;
  if (typeof part.type === 'string') {
    const { type, ...rest } = part;
    return { ...rest, kind: type };
  }
  if (typeof part.text === 'string') return { ...part, kind: 'text' };
  throw new ParamsError(`params.message.parts.${index}: expected "type" (text, data or file)`);
}

async function toV03SendParams(
  params: unknown,
  findTask: (id: string) => Promise<{ id: string } | undefined>,
  blocking: boolean,
): Promise<Json> {
  if (!isObject(params)) throw new ParamsError('params: expected an object with a message');
  const message = params.message;
  if (!isObject(message)) throw new ParamsError('params.message: expected an object with role and parts');
  if (!Array.isArray(message.parts) || message.parts.length === 0) {
    throw new ParamsError('params.message.parts: expected a non-empty array');
  }
  const meta: Json = { ...(isObject(message.metadata) ? message.metadata : {}), dialect: V01_DIALECT };
  if (typeof params.skill === 'string') meta.skill = params.skill;
  else if (params.skill !== undefined && params.skill !== null) {
    // A skill that is not a name must not quietly become the default skill.
    throw new ParamsError(`params.skill: expected a skill id (a string), got ${describeValue(params.skill)}`);
  }
  const contextId =
    typeof message.contextId === 'string'
      ? message.contextId
      : typeof params.sessionId === 'string'
        ? params.sessionId
        : undefined;
  // In 0.1 the client names the task; an id that already exists continues that task, a new one gets our own id.
  const existing = typeof params.id === 'string' ? await findTask(params.id) : undefined;
  const configuration: Json = { blocking };
  if (Array.isArray(params.acceptedOutputModes))
    configuration.acceptedOutputModes = params.acceptedOutputModes;
  if (typeof params.historyLength === 'number') configuration.historyLength = params.historyLength;
  return {
    message: {
      kind: 'message',
      role: typeof message.role === 'string' ? message.role : 'user',
      messageId: typeof message.messageId === 'string' ? message.messageId : randomUUID(),
      parts: message.parts.map(toV03Part),
      metadata: meta,
      ...(contextId ? { contextId } : {}),
      ...(existing ? { taskId: existing.id } : {}),
    },
    configuration,
    ...(isObject(params.metadata) ? { metadata: params.metadata } : {}),
  };
}

function withType(parts: unknown): unknown {
  return Array.isArray(parts)
    ? parts.map((p: unknown) => (isObject(p) && typeof p.kind === 'string' ? { ...p, type: p.kind } : p))
    : parts;
}

function v01Message(message: unknown): unknown {
  return isObject(message) ? { ...message, parts: withType(message.parts) } : message;
}

/** A 0.3 Task in 0.1 clothes: `sessionId`, parts tagged `type`, artifacts with `index`. */
function toV01Task(task: Json): Json {
  const status = isObject(task.status)
    ? { ...task.status, message: v01Message(task.status.message) }
    : task.status;
  return {
    ...task,
    sessionId: task.contextId,
    status,
    history: Array.isArray(task.history) ? task.history.map(v01Message) : task.history,
    artifacts: Array.isArray(task.artifacts)
      ? task.artifacts.map((a: unknown, index) =>
          isObject(a) ? { ...a, parts: withType(a.parts), index } : a,
        )
      : task.artifacts,
  };
}

/** 0.3 stream results → the 0.1 event shapes (`id` for the task, `final` kept). */
function toV01Result(result: unknown): unknown {
  if (!isObject(result)) return result;
  if (result.kind === 'task') return toV01Task(result);
  if (result.kind === 'status-update') {
    const status = isObject(result.status)
      ? { ...result.status, message: v01Message(result.status.message) }
      : result.status;
    return { ...result, id: result.taskId, sessionId: result.contextId, status };
  }
  if (result.kind === 'artifact-update') {
    const artifact = isObject(result.artifact)
      ? { ...result.artifact, parts: withType(result.artifact.parts) }
      : result.artifact;
    return { ...result, id: result.taskId, artifact };
  }
  return result;
}

function toV01Response(response: unknown): unknown {
  if (isObject(response) && 'result' in response)
    return { ...response, result: toV01Result(response.result) };
  return response;
}

export interface LegacyV01Deps {
  requestHandler: A2ARequestHandler;
  userBuilder: (req: Request) => Promise<User>;
}

/** Handles the 0.1 methods on `POST /`; everything else goes on to the SDK's JSON-RPC handler. */
export function legacyV01Handler(deps: LegacyV01Deps): RequestHandler {
  const handler = new LegacyJsonRpcTransportHandler(deps.requestHandler);

  const contextFor = async (req: Request): Promise<ServerCallContext> => {
    const context = defaultServerCallContextBuilder({
      extensions: [],
      user: await deps.userBuilder(req),
      headers: req.headers,
      requestedVersion: '0.3',
    });
    context.state.set(TRANSPORT_STATE_KEY, 'jsonrpc');
    return context;
  };

  /** A task the caller may see (the handler applies ownership), or undefined. */
  const findTask = (context: ServerCallContext) => (id: string) =>
    deps.requestHandler.getTask({ tenant: '', id, historyLength: 0 }, context).catch(() => undefined);

  const isV01Task = async (params: unknown, context: ServerCallContext): Promise<boolean> => {
    if (!isObject(params) || typeof params.id !== 'string') return false;
    const task = await findTask(context)(params.id);
    return task?.metadata?.dialect === V01_DIALECT;
  };

  const stream = async (res: Response, body: Json, context: ServerCallContext): Promise<void> => {
    const result = await handler.handle(body, context);
    if (!(Symbol.asyncIterator in Object(result))) {
      res.status(200).json(toV01Response(result));
      return;
    }
    for (const [k, v] of Object.entries(SSE_HEADERS)) res.setHeader(k, v);
    res.flushHeaders();
    try {
      for await (const event of result as AsyncGenerator<unknown>) {
        res.write(`data: ${JSON.stringify(toV01Response(event))}\n\n`);
      }
    } catch (err) {
      const error = LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(err);
      res.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: body.id ?? null, error })}\n\n`);
    } finally {
      res.end();
    }
  };

  return (req, res, next) => {
    const body = req.body as Json | undefined;
    const method = body?.method;
    const run = async (): Promise<void> => {
      if (method === 'tasks/send' || method === 'tasks/sendSubscribe') {
        const subscribe = method === 'tasks/sendSubscribe';
        const context = await contextFor(req);
        let params: Json;
        try {
          params = await toV03SendParams(body?.params, findTask(context), !subscribe);
        } catch (err) {
          if (err instanceof ParamsError) {
            jsonRpcError(res, 200, -32602, `Invalid params: ${err.message}`, body?.id);
            return;
          }
          throw err;
        }
        const translated = {
          jsonrpc: '2.0',
          id: body?.id ?? null,
          method: subscribe ? 'message/stream' : 'message/send',
          params,
        };
        await stream(res, translated, context);
        return;
      }
      if (method === 'tasks/get' || method === 'tasks/cancel') {
        const context = await contextFor(req);
        if (await isV01Task(body?.params, context)) {
          await stream(res, body as Json, context);
          return;
        }
      }
      next();
    };
    run().catch((err: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const error = LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(err);
      res.status(200).json({ jsonrpc: '2.0', id: body?.id ?? null, error });
    });
  };
}
