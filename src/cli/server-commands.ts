/**
 * The commands that run the gateway on this machine (`serve`, `doctor`, `keys`). Loaded only for them, so the
 * client commands never import the server stack.
 */
import { randomBytes } from 'node:crypto';
import { format, parseArgs } from 'node:util';
import { hashKey } from '../transport/auth.js';
import { diagnose, diagnoseContainment, formatContainment, formatReport } from './doctor.js';
import { diagnoseSandbox, formatSandbox } from './doctor-sandbox.js';
import { SandboxError } from '../runner/sandbox.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { createGateway } from '../main.js';
import type { Logger } from '../observability/logger.js';
import { BUILTIN_SKILLS } from '../skills/catalog.js';
import { VERSION } from '../version.js';

const USAGE = `a2a-gateway ${VERSION}: hand A2A coding tasks to the coding-agent CLIs on this machine

Usage:
  a2a-gateway serve [--config FILE] [--host HOST] [--port PORT] [--role all|api|worker]
  a2a-gateway doctor [--config FILE] [--json]
  a2a-gateway keys new [--id NAME] [--scopes fix_bug,review_pr|*|admin]
  a2a-gateway keys hash KEY
  a2a-gateway --help           (the client commands: send, tasks, card, skills, completion)

Settings come from the environment (see .env.example: HOST, PORT, LOG_LEVEL, DATA_DIR,
MAX_CONCURRENT_TASKS, DEFAULT_TIMEOUT, CLAUDE_COMMAND, DROID_COMMAND, ...) and an optional
YAML file (--config FILE or A2A_GATEWAY_CONFIG) that declares backends and maps skills to them.
`;

/** The SDK logs through `console`; send those lines through the structured (and redacting) logger. */
function routeConsole(logger: Logger): void {
  const sdk = logger.child({ component: '@a2a-js/sdk' });
  /* eslint-disable no-console */
  console.log = (...args: unknown[]) => sdk.info(format(...args));
  console.info = (...args: unknown[]) => sdk.info(format(...args));
  console.warn = (...args: unknown[]) => sdk.warn(format(...args));
  console.error = (...args: unknown[]) => sdk.error(format(...args));
  console.debug = (...args: unknown[]) => sdk.debug(format(...args));
  /* eslint-enable no-console */
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      host: { type: 'string' },
      port: { type: 'string', short: 'p' },
      role: { type: 'string' },
    },
    strict: true,
  });
  const env = { ...process.env };
  if (values.host) env.HOST = values.host;
  if (values.port) env.PORT = values.port;
  // --role wins over GATEWAY_ROLE; the config names the setting and its values when it is not one of them.
  if (values.role) env.GATEWAY_ROLE = values.role;
  const config = loadConfig({
    env,
    ...(values.config ? { configFile: values.config } : {}),
    knownSkills: BUILTIN_SKILLS.map((s) => s.id),
  });
  const gateway = await createGateway({ config, env: process.env });
  routeConsole(gateway.logger);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      gateway.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    gateway.logger.info({ signal }, 'signal received: shutting down');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        gateway.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await gateway.start();
  return -1; // keep running until a signal
}

/** `doctor`: every configured backend, found or not, its version, credentials, and the skills that use it. */
async function doctor(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const config = loadConfig({
    env: process.env,
    ...(values.config ? { configFile: values.config } : {}),
    knownSkills: BUILTIN_SKILLS.map((s) => s.id),
  });
  const reports = await diagnose(config, BUILTIN_SKILLS, process.env);
  const containment = await diagnoseContainment(config, process.env);
  const sandbox = await diagnoseSandbox(config, process.env, reports);
  process.stdout.write(
    values.json
      ? `${JSON.stringify(reports, null, 2)}\n`
      : `${formatReport(reports)}\n\n${formatContainment(containment)}\n\n${formatSandbox(sandbox)}\n`,
  );
  // Non-zero when a skill would fail because its backend is missing, or the containment or sandbox asked for
  // cannot work.
  const unusable = 'error' in containment || 'error' in sandbox.report;
  return reports.some((r) => r.skills.length > 0 && !r.found) || unusable ? 1 : 0;
}

/** `keys new`: a random key, printed once, and the line for API_KEYS_FILE (which keeps only its hash). */
function keys(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === 'hash' && rest[0]) {
    process.stdout.write(`${hashKey(rest[0])}\n`);
    return 0;
  }
  if (sub === 'new') {
    const { values } = parseArgs({
      args: rest,
      options: { id: { type: 'string', default: 'my-agent' }, scopes: { type: 'string', default: '*' } },
      strict: true,
    });
    const key = `a2a_${randomBytes(24).toString('base64url')}`;
    const scopes = (values.scopes ?? '*').split(',').map((s) => JSON.stringify(s.trim()));
    process.stdout.write(
      `key (give it to the caller; it is not stored anywhere):\n  ${key}\n\n` +
        `line for API_KEYS_FILE:\n  - { id: ${values.id}, hash: "${hashKey(key)}", scopes: [${scopes.join(', ')}] }\n`,
    );
    return 0;
  }
  process.stderr.write(
    `usage: a2a-gateway keys new [--id NAME] [--scopes a,b] | a2a-gateway keys hash KEY\n`,
  );
  return 2;
}

/** Runs `serve`, `doctor` or `keys`; sets `process.exitCode` (serve keeps running until a signal). */
export async function runServerCommand(argv: string[]): Promise<void> {
  await dispatch(argv).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`a2a-gateway: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const e = err as NodeJS.ErrnoException;
      if (err instanceof SandboxError) {
        process.stderr.write(`a2a-gateway: ${err.message} (${err.remedy})\n`);
      } else if (e.code === 'EADDRINUSE') {
        process.stderr.write(
          `a2a-gateway: cannot listen: ${e.message} (is another gateway running? set PORT)\n`,
        );
      } else if (
        e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
        e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
      ) {
        process.stderr.write(`a2a-gateway: ${e.message}\n\n${USAGE}`);
      } else {
        process.stderr.write(`a2a-gateway: ${e.stack ?? String(err)}\n`);
      }
      process.exitCode = 1;
    },
  );
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command === 'keys') return keys(rest);
  if (command === 'doctor') return doctor(rest);
  process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
  return 2;
}
