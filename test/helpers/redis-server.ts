import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A Redis server of the test's own (never the shared one), that a test can stop and start again. */
export interface TestRedisServer {
  readonly url: string;
  readonly port: number;
  /** Starts it again on the same port (after {@link stop}); nothing if it is running. */
  start(): Promise<void>;
  /** Kills it (by its pid); resolves once it has exited. */
  stop(): Promise<void>;
  /** Stops it answering, connections left open (SIGSTOP by its pid): a Redis that hangs. */
  pause(): void;
  /** Lets it answer again (SIGCONT). */
  resume(): void;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `redis-server` on a free port on 127.0.0.1, with nothing saved to disk; with `persistDir`, every write
 * goes to an append-only file there first (fsync always), so a kill and a start again lose nothing acknowledged,
 * as a production Redis set up for durability would.
 */
export async function startRedisServer(opts: { persistDir?: string } = {}): Promise<TestRedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        ...(opts.persistDir
          ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', opts.persistDir]
          : ['--appendonly', 'no']),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } },
    );
    child = c;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      c.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${String(code)}): ${out}`));
      });
    });
    c.stdout.resume();
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  const signal = (name: NodeJS.Signals): void => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(child.pid, name);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    start,
    stop: async () => {
      // A paused server is let go first, or the kill would wait on nothing (SIGKILL works either way).
      signal('SIGCONT');
      await stop();
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
}
