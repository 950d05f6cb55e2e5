#!/usr/bin/env node
/**
 * The `a2a-gateway` binary. Two stacks live behind it and each command loads only its own: `serve`, `doctor` and
 * `keys` the gateway (express, the SDK server, SQLite, ...), every other command the A2A client (the SDK client,
 * commander). Starting one never pays for the other.
 */

const SERVER_COMMANDS = new Set(['serve', 'doctor', 'keys']);

const argv = process.argv.slice(2);
const command = argv[0];
if (command !== undefined && SERVER_COMMANDS.has(command)) {
  const { runServerCommand } = await import('./server-commands.js');
  await runServerCommand(argv);
} else {
  const { runClient } = await import('./client/program.js');
  process.exitCode = await runClient(argv);
}
