import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayMetrics } from './metrics.js';

export interface MetricsServer {
  /** `http://host:port` the listener is bound to. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `/metrics` on a port of its own (`METRICS_PORT`), for a scraper on a private network: no key is asked there, so
 * bind it where only the scraper reaches (`METRICS_HOST`). Anything but `GET /metrics` is 404.
 */
export function serveMetrics(metrics: GatewayMetrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body);
      },
      (err: unknown) => {
        res
          .writeHead(500, { 'Content-Type': 'text/plain' })
          .end(`metrics failed: ${(err as Error).message}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `http://${h}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
