import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedUrl } from './url-guard.js';

/** Options of {@link deliver}. */
export interface DeliverOptions {
  /** Whole-request bound, connect to last response byte read (default 10 000 ms). */
  timeoutMs?: number;
  /** Response bytes read before the connection is dropped; the body is never used (default 64 KiB). */
  maxResponseBytes?: number;
  /** Stops the request (the dispatcher's `close()`). */
  signal?: AbortSignal;
}

/** How one POST ended. `retryable` says whether trying the same request later may succeed. */
export type DeliveryResult =
  | { ok: true; status: number }
  | { ok: false; retryable: boolean; status?: number; error: string; retryAfterMs?: number };

/** `Retry-After` in seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * A `lookup` for `http.request` that answers with the address the guard checked, whatever the host name: the
 * TLS SNI, certificate check and `Host` header still use the name, but DNS is never asked again, so a second
 * answer (DNS rebinding) cannot move the connection to another address.
 */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return (_host, options, callback) => {
    // Node 20 asks for every address (`all: true`) when autoSelectFamily is on, a single one otherwise.
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * POSTs `body` to a URL already passed by `checkWebhookUrl`, over a fresh connection (no pooled socket to an
 * earlier address) to the checked address. Redirects are not followed: a 3xx is a final failure, as are other 4xx
 * except 408/425/429. Network errors, timeouts and 5xx are retryable. Never rejects.
 */
export function deliver(
  target: CheckedUrl,
  body: string,
  headers: Readonly<Record<string, string>>,
  opts: DeliverOptions = {},
): Promise<DeliveryResult> {
  const { url } = target;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxResponseBytes = opts.maxResponseBytes ?? 64 * 1024;
  const payload = Buffer.from(body, 'utf8');
  const options: RequestOptions = {
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: url.port === '' ? undefined : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, 'Content-Length': String(payload.length) },
    agent: false,
    lookup: pinnedLookup(target.address, target.family),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };

  return new Promise<DeliveryResult>((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const finish = (result: DeliveryResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, retryable: true, error: `no complete response within ${timeoutMs} ms` }),
      timeoutMs,
    );
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      const result: DeliveryResult =
        status >= 200 && status < 300
          ? { ok: true, status }
          : status >= 300 && status < 400
            ? { ok: false, retryable: false, status, error: `HTTP ${status}: redirects are not followed` }
            : {
                ok: false,
                retryable: isRetryableStatus(status),
                status,
                error: `HTTP ${status}`,
                retryAfterMs: retryAfterMs(res.headers['retry-after']),
              };
      // Drain so the receiver sees a clean close, but stop reading a body larger than the cap.
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > maxResponseBytes) finish(result);
      });
      res.on('end', () => finish(result));
      res.on('error', () => finish(result));
      res.on('aborted', () => finish(result));
    };
    try {
      req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(options, onResponse);
    } catch (error) {
      finish({ ok: false, retryable: false, error: (error as Error).message });
      return;
    }
    req.on('error', (error: NodeJS.ErrnoException) => {
      const aborted = error.name === 'AbortError';
      finish({ ok: false, retryable: !aborted, error: aborted ? 'aborted' : (error.code ?? error.message) });
    });
    req.end(payload);
  });
}
