import pc from 'picocolors';

type Colors = ReturnType<typeof pc.createColors>;

function wantsColor(
  stream: NodeJS.WriteStream,
  env: NodeJS.ProcessEnv,
  forced: boolean | undefined,
): boolean {
  if (forced !== undefined) return forced;
  if ('NO_COLOR' in env) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export interface OutputOptions {
  json: boolean;
  /** `--color` / `--no-color`; undefined decides by the stream (a terminal, NO_COLOR, FORCE_COLOR). */
  color?: boolean;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

/**
 * Where a command writes: results on stdout (coloured only on a terminal), progress and messages on stderr,
 * and with `--json` exactly one JSON document on stdout.
 */
export class Output {
  readonly json: boolean;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Colours for what goes to stdout / stderr. */
  readonly c: Colors;
  readonly ce: Colors;
  /** stderr is a terminal a status line can be redrawn on. */
  readonly live: boolean;

  constructor(opts: OutputOptions) {
    const env = opts.env ?? process.env;
    this.json = opts.json;
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    this.c = pc.createColors(!this.json && wantsColor(this.stdout, env, opts.color));
    this.ce = pc.createColors(wantsColor(this.stderr, env, opts.color));
    this.live = Boolean(this.stderr.isTTY) && env.TERM !== 'dumb' && !('CI' in env);
  }

  /** A line of result on stdout (suppressed with --json, whose document is written by {@link data}). */
  line(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A line of progress or information on stderr. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** The command's JSON document. */
  data(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}
