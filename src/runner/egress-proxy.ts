import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

/** One allowed destination: a host name (or `*.domain` for its subdomains) and a port, or any port. */
interface HostRule {
  host: string;
  wildcard: boolean;
  port?: number;
}

/** The host as matched: lower case, no IPv6 brackets, no trailing dot. */
function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
}

/** Splits `host`, `host:port`, `[v6]:port` or `v6`; the port is undefined when not given. */
function splitHostPort(value: string): { host: string; port?: number } {
  const v = value.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) return { host: bracket[1] ?? '', ...(bracket[2] ? { port: Number(bracket[2]) } : {}) };
  const parts = v.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1] ?? ''))
    return { host: parts[0] ?? '', port: Number(parts[1]) };
  return { host: v };
}

/** Thrown for an allowlist entry that is not a host, `host:port` or `*.domain[:port]`. */
export class AllowedHostsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AllowedHostsError';
  }
}

/**
 * `SANDBOX_ALLOWED_HOSTS` compiled: `api.example.com` (any port), `api.example.com:443`, `127.0.0.1:8080`,
 * `*.example.com` (its subdomains, not example.com itself), `[::1]:443`.
 */
export function parseAllowedHosts(entries: readonly string[]): HostRule[] {
  return entries.map((raw) => {
    const { host, port } = splitHostPort(raw);
    const wildcard = host.startsWith('*.');
    const name = normalizeHost(wildcard ? host.slice(2) : host);
    if (!name || /[\s/*@]/.test(name) || (port !== undefined && (port < 1 || port > 65535))) {
      throw new AllowedHostsError(
        `SANDBOX_ALLOWED_HOSTS entry "${raw}" is not a host, host:port or *.domain (e.g. api.anthropic.com:443)`,
      );
    }
    return { host: name, wildcard, ...(port !== undefined ? { port } : {}) };
  });
}

/** True when the allowlist lets a run reach `host` on `port`. */
export function hostAllowed(rules: readonly HostRule[], host: string, port: number): boolean {
  const h = normalizeHost(host);
  return rules.some(
    (r) =>
      (r.port === undefined || r.port === port) && (r.wildcard ? h.endsWith(`.${r.host}`) : h === r.host),
  );
}

/** A refused request: the host and port asked for, nothing else (no path, no headers). */
export interface EgressRefusal {
  host: string;
  port: number;
}

/** The HTTP proxy a sandboxed run's traffic leaves through, listening on a unix socket. */
export interface EgressProxy {
  readonly socketPath: string;
  /** Stops listening and cuts every open tunnel. */
  close(): Promise<void>;
}

/**
 * Starts an allowlisting HTTP proxy on a unix socket: CONNECT tunnels (HTTPS and anything else over TCP) and
 * plain-HTTP forwarding (absolute-URI requests) to allowed hosts; everything else gets 403 and is reported.
 */
export async function startEgressProxy(opts: {
  socketPath: string;
  allowed: readonly HostRule[];
  onRefused?: (refusal: EgressRefusal) => void;
}): Promise<EgressProxy> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const refuse = (host: string, port: number): void => {
    try {
      opts.onRefused?.({ host, port });
    } catch {
      // A logger that throws must not break the proxy.
    }
  };

  const server: Server = createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('proxy: absolute http:// URL expected\n');
      return;
    }
    if (target.protocol !== 'http:') {
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end('proxy: only http:// is forwarded; use CONNECT\n');
      return;
    }
    const port = target.port ? Number(target.port) : 80;
    if (!hostAllowed(opts.allowed, target.hostname, port)) {
      refuse(normalizeHost(target.hostname), port);
      res.writeHead(403, { 'content-type': 'text/plain' }).end('proxy: host not in SANDBOX_ALLOWED_HOSTS\n');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      {
        host: normalizeHost(target.hostname),
        port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    track(client);
    client.on('error', () => client.destroy());
    const { host, port } = splitHostPort(req.url ?? '');
    if (!host || port === undefined) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    if (!hostAllowed(opts.allowed, host, port)) {
      refuse(normalizeHost(host), port);
      client.end(
        'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nproxy: host not in SANDBOX_ALLOWED_HOSTS\n',
      );
      return;
    }
    const upstream = connect(port, normalizeHost(host));
    track(upstream);
    let established = false;
    upstream.once('connect', () => {
      established = true;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => {
      if (!established) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      else client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.on('connection', track);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    socketPath: opts.socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
