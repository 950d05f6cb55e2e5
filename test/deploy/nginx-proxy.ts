// A real nginx on 127.0.0.1 with the shipped deploy/nginx/a2a-gateway.conf, templated only where a test must: the
// upstream's address and port, the port nginx listens on, and (for the timeout test) proxy_read_timeout. It runs
// in the foreground as this process's child, with its own prefix directory, and is ended by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers/gateway.js';

export interface NginxProxy {
  url: string;
  /** The site config as it was run. */
  site: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Replaces `from` (which must occur exactly once) with `to`. */
function templated(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`the shipped config has ${parts.length - 1} "${from}", expected 1`);
  return parts.join(to);
}

export async function startNginx(upstream: URL, opts: { readTimeout?: string } = {}): Promise<NginxProxy> {
  const port = await freePort();
  const { dir, cleanup } = tempDir('a2a-nginx-');
  chmodSync(dir, 0o755); // the worker processes run as an unprivileged user when nginx starts as root
  for (const d of ['logs', 'tmp']) {
    mkdirSync(join(dir, d));
    chmodSync(join(dir, d), 0o777);
  }
  let site = readFileSync(join(REPO_ROOT, 'deploy/nginx/a2a-gateway.conf'), 'utf8');
  site = templated(site, 'server a2a-gateway:8000;', `server 127.0.0.1:${upstream.port};`);
  site = templated(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  if (opts.readTimeout)
    site = templated(site, 'proxy_read_timeout 300s;', `proxy_read_timeout ${opts.readTimeout};`);
  writeFileSync(join(dir, 'site.conf'), site);
  // The main context a distribution's nginx.conf provides; the site is included as shipped.
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      `pid ${dir}/nginx.pid;`,
      'worker_processes 1;',
      'error_log stderr notice;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`),
      `  include ${dir}/site.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    'nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  // nginx logs "start worker process" once its sockets are bound: the event to wait on.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nginx did not start within 10 s:\n${log}`)), 10_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('start worker process')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`nginx exited before it started:\n${log}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    site,
    stop: async () => {
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGQUIT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null && child.pid)
        process.kill(child.pid, 'SIGKILL');
      cleanup();
    },
  };
}
