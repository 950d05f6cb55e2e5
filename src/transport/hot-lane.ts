import type { ErrorRequestHandler, NextFunction, Request, RequestHandler } from 'express';

/** The Express setting that turns the lane off (`app.disable(HOT_LANE_SETTING)`): the router then serves all. */
export const HOT_LANE_SETTING = 'a2a hot lane';

const REST_TASK_PATH = /^\/tasks\/[^/]+$/;

/**
 * The requests the lane takes: every JSON-RPC call (`POST /`) and every REST read of one task (`GET /tasks/{id}`),
 * the paths that most traffic uses and that none of the app's own routes before the A2A handlers answers.
 */
export function inHotLane(req: Request): boolean {
  const url = req.url;
  if (req.method === 'POST') return url === '/';
  if (req.method !== 'GET') return false;
  const end = url.indexOf('?');
  return REST_TASK_PATH.test(end < 0 ? url : url.slice(0, end));
}

export interface HotLaneOptions {
  /** The app's middlewares in the order its router would run them for a request in the lane. */
  handlers: readonly RequestHandler[];
  /** What comes after them (the A2A handlers and the 404), as mounted on the app. */
  tail: RequestHandler;
  /** The app's error handler. */
  onError: ErrorRequestHandler;
}

/**
 * Runs the same middlewares the router would, in the same order, for the requests of {@link inHotLane}, without
 * the router's walk over every layer of the app (matching each path, wrapping each call): on a GetTask at 64
 * connections that walk was a good part of the time. Behaviour stays the router's: a handler that calls
 * `next(err)`, throws or rejects goes to the error handler, `next('route')` goes on to the next handler and
 * `next('router')` leaves the app's router, as they do there. Mounted first; every other request goes on to
 * the router.
 */
export function hotLane(opts: HotLaneOptions): RequestHandler {
  const { handlers, tail, onError } = opts;
  return (req, res, next) => {
    if (!inHotLane(req) || !req.app.enabled(HOT_LANE_SETTING)) {
      next();
      return;
    }
    let i = 0;
    const failed = (err: unknown): void => {
      try {
        onError(err, req, res, next);
      } catch (thrown) {
        next(thrown);
      }
    };
    const invoke = (handler: RequestHandler, after: NextFunction): void => {
      try {
        const result: unknown = handler(req, res, after);
        // As the router does with a handler's promise: a rejection is the handler's error.
        if (result instanceof Promise)
          result.catch((e: unknown) => after(e || new Error('Rejected promise')));
      } catch (thrown) {
        after(thrown);
      }
    };
    const afterTail: NextFunction = (err?: unknown) => {
      if (err === undefined || err === null || err === 'route') next();
      else if (err === 'router') next('router');
      else failed(err);
    };
    const step: NextFunction = (err?: unknown) => {
      if (err === 'router') {
        next('router');
        return;
      }
      if (err !== undefined && err !== null && err !== 'route') {
        failed(err);
        return;
      }
      const handler = handlers[i];
      i += 1;
      if (handler) invoke(handler, step);
      else invoke(tail, afterTail);
    };
    step();
  };
}
