// The first process inside a sandbox with SANDBOX_NETWORK=allowlist (run by node, no imports of the gateway):
//   node egress-forwarder.js <port> <unix socket> -- <argv...>
// The sandbox's network namespace has only its own loopback. This listens on 127.0.0.1:<port> there and pipes each
// connection to the gateway's allowlisting proxy, whose unix socket is bound into the sandbox; then it starts the
// CLI (argv) and exits with the CLI's status (128+n for a death by signal n). The CLI is in its process group, where
// the runner's signals go: they reach the CLI directly, and the forwarder outlives them to report the exit.
import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { constants } from 'node:os';

const [portArg, socketPath, dashes, ...argv] = process.argv.slice(2);
const port = Number(portArg);
if (
  !socketPath ||
  dashes !== '--' ||
  argv.length === 0 ||
  !Number.isInteger(port) ||
  port < 1 ||
  port > 65535
) {
  process.stderr.write('usage: egress-forwarder <port> <unix socket> -- <command> [args...]\n');
  process.exit(2);
}

const server = createServer((inner: Socket) => {
  const outer = connect(socketPath);
  inner.on('error', () => outer.destroy());
  outer.on('error', () => inner.destroy());
  inner.pipe(outer);
  outer.pipe(inner);
});
// Never keeps the process alive by itself: the CLI's exit ends it.
server.unref();

server.once('error', (err: Error) => {
  process.stderr.write(`egress-forwarder: cannot listen on 127.0.0.1:${port}: ${err.message}\n`);
  process.exit(125);
});

server.listen(port, '127.0.0.1', () => {
  const [command, ...args] = argv as [string, ...string[]];
  const child = spawn(command, args, { stdio: 'inherit' });
  // Passing a signal on would deliver it twice (a cancel's SIGTERM reaches the whole group); dying of it would cut
  // the proxy off the CLI in its grace.
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  for (const s of signals) process.on(s, () => undefined);
  child.once('error', (err: Error) => {
    process.stderr.write(`egress-forwarder: cannot start ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.once('exit', (code, signal) => {
    if (signal) process.exit(128 + (constants.signals[signal] ?? 0));
    process.exit(code ?? 1);
  });
});
