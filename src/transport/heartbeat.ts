import type { RequestHandler } from 'express';

/**
 * Keeps quiet SSE streams alive through proxies and clients that drop idle connections (a coding agent can think
 * for minutes without an event). Once a response starts an event stream, an SSE comment line is written every
 * `intervalMs` until the stream ends. Comments are ignored by every
 * SSE parser, so the events themselves are unchanged.
 */
export function sseHeartbeat(intervalMs: number): RequestHandler {
  return (_req, res, next) => {
    if (intervalMs <= 0) {
      next();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (timer) clearInterval(timer);
      timer = undefined;
    };
    const flushHeaders = res.flushHeaders.bind(res);
    res.flushHeaders = () => {
      flushHeaders();
      const type = res.getHeader('content-type');
      if (typeof type === 'string' && type.startsWith('text/event-stream') && !timer) {
        timer = setInterval(() => {
          if (res.writableEnded || res.destroyed) stop();
          else res.write(': keepalive\n\n');
        }, intervalMs);
        timer.unref();
      }
    };
    res.on('close', stop);
    res.on('finish', stop);
    next();
  };
}
