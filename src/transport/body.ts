import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import JSON5 from 'json5';
import { isV1JsonRpcMethod } from '@a2a-js/sdk/compat/v0_3';

/** A JSON-RPC error body, as the SDK writes them (HTTP 200 unless the body itself was refused). */
export function jsonRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  id: unknown = null,
): void {
  res.status(status).json({ jsonrpc: '2.0', id: id ?? null, error: { code, message } });
}

/** A REST error body in the `google.rpc.Status` shape the SDK uses for the HTTP+JSON binding. */
export function restError(res: Response, status: number, statusName: string, message: string): void {
  res.status(status).json({ error: { code: status, status: statusName, message, details: [] } });
}

function isJsonRpcPath(req: Request): boolean {
  return req.path === '/';
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MB` : `${Math.round(n / 1024)} kB`;
}

/** Deepest nesting of objects and lists a request body may have. */
export const MAX_NESTING = 64;

/** How deep `value` nests objects and lists (0 for a scalar), counted without recursion; stops past the limit. */
export function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const here = depth + 1;
    if (here > deepest) deepest = here;
    if (deepest > MAX_NESTING) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, here]);
    }
  }
  return deepest;
}

/**
 * Reads every request body once, with the configured limit (the SDK's own parser stops at 100 kB and answers
 * oversize bodies with an HTML page). The SDK's parsers then see the stream consumed and skip. JSON-RPC bodies
 * that are not strict JSON are retried as JSON5, because the original brief's example requests quote a JSON
 * string with single quotes. Every failure is a JSON error naming the problem.
 */
export function bodyReader(limitBytes: number): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: limitBytes });
  const readRaw: RequestHandler = (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      next();
      return;
    }
    raw(req, res, (err?: unknown) => {
      if (!err) {
        next();
        return;
      }
      const e = err as { type?: string; status?: number };
      const tooLarge = e.type === 'entity.too.large';
      const message = tooLarge
        ? `request body is larger than the ${formatBytes(limitBytes)} limit (BODY_LIMIT)`
        : 'request body could not be read';
      const status = tooLarge ? 413 : (e.status ?? 400);
      if (isJsonRpcPath(req)) jsonRpcError(res, status, -32600, message);
      else restError(res, status, tooLarge ? 'RESOURCE_EXHAUSTED' : 'INVALID_ARGUMENT', message);
    });
  };
  const parse: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    const body: unknown = req.body;
    if (!Buffer.isBuffer(body)) {
      next();
      return;
    }
    const text = body.toString('utf8');
    if (text.trim() === '') {
      req.body = undefined;
      next();
      return;
    }
    try {
      req.body = JSON.parse(text) as unknown;
    } catch (strictErr) {
      req.body = undefined;
      if (isJsonRpcPath(req)) {
        try {
          req.body = JSON5.parse<unknown>(text);
        } catch {
          jsonRpcError(
            res,
            200,
            -32700,
            `Parse error: the body is not valid JSON (${(strictErr as Error).message})`,
          );
          return;
        }
      } else {
        restError(
          res,
          400,
          'INVALID_ARGUMENT',
          `the body is not valid JSON (${(strictErr as Error).message})`,
        );
        return;
      }
    }
    // Every HTTP+JSON request body is an object; the SDK's tenant route writes `tenant` into the body and a
    // JSON scalar there throws (answered as an internal error).
    if (
      !isJsonRpcPath(req) &&
      (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))
    ) {
      restError(res, 400, 'INVALID_ARGUMENT', 'the request body must be a JSON object');
      return;
    }
    // Code further on walks requests recursively (validation, copies, the store): a body nested thousands deep
    // would end in a stack overflow, answered as an internal error. No real request nests this deep.
    if (nestingDepth(req.body) > MAX_NESTING) {
      const message = `the body nests objects and lists deeper than ${MAX_NESTING} levels`;
      if (isJsonRpcPath(req)) jsonRpcError(res, 200, -32600, `Invalid Request: ${message}`);
      else restError(res, 400, 'INVALID_ARGUMENT', message);
      return;
    }
    next();
  };
  return [readRaw, parse];
}

const V1_REST_PATH = /^\/(?:[^/]+\/)?(?:message:(?:send|stream)|tasks(?:\/.*)?|extendedAgentCard)$/;

/**
 * Settles the A2A version of a request before the SDK sees it. The spec says an absent `A2A-Version` means 0.3;
 * when a request without the header plainly uses 1.0 (a PascalCase JSON-RPC method, an unprefixed REST path) it is
 * treated as 1.0 instead of failing. `?A2A-Version=` (allowed by the spec, ignored by the SDK) is honoured, and a
 * patch number (`1.0.1`) is dropped because patch versions take no part in negotiation.
 */
export const negotiateVersion: RequestHandler = (req, _res, next) => {
  let version = req.header('a2a-version');
  const fromQuery = req.query['A2A-Version'];
  if (!version && typeof fromQuery === 'string') version = fromQuery;
  if (!version) {
    const body = req.body as { method?: unknown } | undefined;
    if (req.path === '/' && req.method === 'POST' && isV1JsonRpcMethod(body?.method)) version = '1.0';
    else if (req.path !== '/' && !req.path.startsWith('/v1/') && V1_REST_PATH.test(req.path)) version = '1.0';
  }
  if (version) {
    const m = /^\s*(\d+)\.(\d+)(?:\.\d+)?\s*$/.exec(version);
    req.headers['a2a-version'] = m ? `${m[1]}.${m[2]}` : version;
  }
  next();
};

/** The A2A versions the JSON-RPC binding serves (the card's 1.0 interface and the SDK's 0.3 compatibility). */
const JSON_RPC_VERSIONS = ['1.0', '0.3'] as const;

/**
 * Answers a JSON-RPC call that asks for a version the gateway does not serve, with the SDK's own answer (-32009,
 * `VERSION_NOT_SUPPORTED`), before the SDK's handler, which gives the same answer but also logs it as an unhandled
 * error with its stack: a client's mistake, and one a client could repeat to fill the error log.
 */
export const refuseUnsupportedJsonRpcVersion: RequestHandler = (req, res, next) => {
  const version = req.headers['a2a-version'];
  if (
    typeof version !== 'string' ||
    version === '' ||
    (JSON_RPC_VERSIONS as readonly string[]).includes(version)
  ) {
    next();
    return;
  }
  const body = req.body as { id?: unknown } | undefined;
  const id = typeof body?.id === 'string' || typeof body?.id === 'number' ? body.id : null;
  res.status(200).json({
    jsonrpc: '2.0',
    id,
    error: {
      code: -32009,
      message: `The requested A2A protocol version '${version}' is not supported. Supported versions: ${JSON_RPC_VERSIONS.join(', ')}`,
      data: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'VERSION_NOT_SUPPORTED',
          domain: 'a2a-protocol.org',
        },
      ],
    },
  });
};

/**
 * Refuses a path whose percent-encoding is broken (`/tasks/%ff`) with 400, before a router tries to decode it
 * and throws a URIError that would surface as 500.
 */
export const wellFormedPath: RequestHandler = (req, res, next) => {
  try {
    decodeURIComponent(req.path);
  } catch {
    restError(res, 400, 'INVALID_ARGUMENT', 'the request path is not valid percent-encoded UTF-8');
    return;
  }
  next();
};

/** The HTTP status a thrown error asks for when it is a client fault (body-parser and router errors carry one). */
export function clientFaultStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
