import { createInterface, type Interface } from 'node:readline';

/** A prompt's outcome: the line typed, or why there is none (stdin ended, Ctrl-C at the prompt, aborted). */
export type Asked =
  { kind: 'line'; text: string } | { kind: 'eof' } | { kind: 'interrupt' } | { kind: 'aborted' };

const line = (text: string): Asked => ({ kind: 'line', text });

/**
 * Reads answers from stdin. On a terminal each prompt opens its own readline (so Ctrl-C outside a prompt is an
 * ordinary SIGINT, and inside one ends the prompt); from a pipe one reader queues lines for the whole run, so
 * lines written ahead are not lost.
 */
export class Prompter {
  private lines: string[] = [];
  private ended = false;
  private waiter: (() => void) | undefined;
  private piped: Interface | undefined;

  constructor(
    private readonly input: NodeJS.ReadStream = process.stdin,
    private readonly output: NodeJS.WriteStream = process.stderr,
  ) {}

  get interactive(): boolean {
    return Boolean(this.input.isTTY);
  }

  /** Asks `question` and resolves with the line typed, or why there is none. */
  async ask(question: string, signal?: AbortSignal): Promise<Asked> {
    if (signal?.aborted) return { kind: 'aborted' };
    return this.interactive ? this.askTerminal(question, signal) : this.askPipe(question, signal);
  }

  private askTerminal(question: string, signal?: AbortSignal): Promise<Asked> {
    return new Promise((resolve) => {
      const rl = createInterface({ input: this.input, output: this.output, terminal: true });
      let done = false;
      const finish = (value: Asked): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        rl.close();
        resolve(value);
      };
      const onAbort = (): void => {
        this.output.write('\n');
        finish({ kind: 'aborted' });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      rl.on('SIGINT', () => {
        this.output.write('\n');
        finish({ kind: 'interrupt' });
      });
      rl.on('close', () => finish({ kind: 'eof' }));
      rl.question(question, (answer) => finish(line(answer)));
    });
  }

  private startPipe(): void {
    if (this.piped) return;
    this.piped = createInterface({ input: this.input, terminal: false });
    this.piped.on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    this.piped.on('close', () => {
      this.ended = true;
      this.waiter?.();
    });
  }

  private async askPipe(question: string, signal?: AbortSignal): Promise<Asked> {
    this.output.write(`${question}\n`);
    this.startPipe();
    for (;;) {
      const next = this.lines.shift();
      if (next !== undefined) return line(next);
      if (this.ended) return { kind: 'eof' };
      if (signal?.aborted) return { kind: 'aborted' };
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiter = undefined;
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        this.waiter = wake;
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Stops reading stdin so the process can exit. */
  close(): void {
    this.piped?.close();
    this.piped = undefined;
  }
}
