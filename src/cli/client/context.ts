import type { Connection } from './connection.js';
import { Output } from './output.js';
import type { Target } from './target.js';

/** The options every client command takes. */
export interface GlobalFlags {
  url: string;
  apiKey?: string;
  json?: boolean;
  color?: boolean;
}

/** What a command runs with: where the gateway is, and where output goes. */
export class CommandContext {
  readonly out: Output;
  readonly target: Target;

  constructor(flags: GlobalFlags) {
    this.out = new Output({
      json: Boolean(flags.json),
      ...(flags.color !== undefined ? { color: flags.color } : {}),
    });
    this.target = { url: flags.url, apiKey: flags.apiKey };
  }

  /** Fetches the card and builds the SDK client (loaded here, so `--help` and usage errors never pay for it). */
  async connect(): Promise<Connection> {
    const { connect } = await import('./connection.js');
    return connect(this.target);
  }
}
