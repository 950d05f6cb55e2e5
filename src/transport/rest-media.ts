import type { RequestHandler } from 'express';
import onHeaders from 'on-headers';
import { restError } from './body.js';

const JSON_TYPES = new Set(['application/json', 'application/a2a+json']);

/** JSON-RPC lives at `/`; every other A2A route is the HTTP+JSON binding. */
function isRestPath(path: string): boolean {
  return path !== '/';
}

/**
 * The HTTP+JSON binding's media types, as the spec has them: a body in another media type is refused with 415
 * (ContentTypeNotSupported; the SDK answers 400), and an error body is `application/json` (AIP-193) while a
 * successful one stays `application/a2a+json`. The SDK sets `application/a2a+json` on every REST answer before it
 * knows the outcome, so the type is settled at the moment the headers go out.
 */
export const restMediaTypes: RequestHandler = (req, res, next) => {
  if (!isRestPath(req.path)) {
    next();
    return;
  }
  onHeaders(res, () => {
    if (res.statusCode < 400) return;
    const type = res.getHeader('Content-Type');
    if (typeof type === 'string' && type.startsWith('application/a2a+json'))
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
  });
  const raw = req.header('content-type');
  const hasBody = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH';
  if (hasBody && raw) {
    const mediaType = raw.split(';', 1)[0]?.trim().toLowerCase() ?? '';
    if (!JSON_TYPES.has(mediaType)) {
      restError(
        res,
        415,
        'INVALID_ARGUMENT',
        `Content-Type "${raw}" is not supported; expected application/json or application/a2a+json`,
      );
      return;
    }
  }
  next();
};
