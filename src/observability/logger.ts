import { pino, type Logger, type DestinationStream } from 'pino';
import type { SecretRedactor } from './redact.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  redactor: SecretRedactor;
  /** Where lines go (default stdout). Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/**
 * pino JSON logs. Header and field paths that carry credentials are censored, and every line passes through the
 * secret redactor last, so a secret that slipped into a message or an error is masked too.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'a2a-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'headers.authorization',
          'headers["x-api-key"]',
          '*.apiKey',
          '*.token',
          '*.password',
        ],
        censor: '[REDACTED]',
      },
      hooks: { streamWrite: (line) => opts.redactor.redact(line) },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
