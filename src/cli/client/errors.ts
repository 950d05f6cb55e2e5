import { EXIT, type ExitCode } from './exit-codes.js';

/** Stable names for what went wrong, for `--json` output and tests. */
export type CliErrorCode =
  | 'usage'
  | 'bad_input'
  | 'not_found'
  | 'unreachable'
  | 'unauthenticated'
  | 'refused'
  | 'interrupted'
  | 'server';

/** An error the CLI reports as one line (and, with `--json`, as an object), exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
    readonly exitCode: ExitCode,
    /** The option or input field the message is about, when one is named. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string, field?: string): CliError =>
  new CliError('usage', message, EXIT.usage, field);

/** The field a server's message names first: `input.bug_description: ...`, `skill: ...`, `Last-Event-ID: ...`. */
function fieldOf(message: string): string | undefined {
  return /^([A-Za-z][\w.-]*):\s/.exec(message)?.[1];
}

function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  const inner = cause?.errors?.[0]?.code;
  return typeof inner === 'string' ? inner : undefined;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed',
};

/** A fetch that never reached an HTTP answer: the gateway is down, or the URL is wrong. */
export function unreachable(url: string, err: unknown): CliError {
  const code = causeCode(err);
  const why = (code && NETWORK_CODES[code]) ?? (err instanceof Error ? err.message : String(err));
  return new CliError(
    'unreachable',
    `cannot reach the gateway at ${url}: ${why}. Is it running (a2a-gateway serve)? Set --url or A2A_GATEWAY_URL to reach another one.`,
    EXIT.unreachable,
  );
}

/** True for the errors fetch throws when the connection fails (not for HTTP error answers). */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError && /fetch failed|terminated|network/i.test(err.message);
}

/**
 * Turns whatever a command threw into a {@link CliError}: the SDK's A2A errors by their reason (the server's
 * message kept, since it names the field), network failures as "cannot reach", anything else as a server error.
 */
export function toCliError(err: unknown, url: string): CliError {
  if (err instanceof CliError) return err;
  if (isNetworkError(err)) return unreachable(url, err);
  const reason = (err as { reason?: unknown }).reason;
  const message = err instanceof Error ? err.message : String(err);
  // The gateway's own refusals (a JSON-RPC error in the body, or a REST status), which the SDK has no class for.
  const envelope = (err as { envelopeCode?: unknown }).envelopeCode;
  const status = (err as { statusCode?: unknown }).statusCode;
  if (envelope === -32040 || status === 401) {
    return new CliError('unauthenticated', `the gateway refused the key: ${message}`, EXIT.unauthenticated);
  }
  if (envelope === -32043 || envelope === -32000 || status === 403 || status === 429) {
    return new CliError('refused', `the gateway refused the request: ${message}`, EXIT.refused);
  }
  if (typeof reason === 'string') {
    switch (reason) {
      case 'INVALID_PARAMS':
      case 'INVALID_REQUEST':
      case 'REQUEST_MALFORMED':
      case 'CONTENT_TYPE_NOT_SUPPORTED':
        return new CliError('bad_input', message, EXIT.usage, fieldOf(message));
      case 'TASK_NOT_FOUND':
        return new CliError('not_found', message, EXIT.usage);
      case 'TASK_NOT_CANCELABLE':
        return new CliError('usage', message, EXIT.usage);
      case 'VERSION_NOT_SUPPORTED':
      case 'METHOD_NOT_FOUND':
      case 'UNSUPPORTED_OPERATION':
        return new CliError('server', `the server does not support this: ${message}`, EXIT.unreachable);
      default:
        break;
    }
  }
  return new CliError('server', message, EXIT.unreachable);
}
