/**
 * The ACP connection over the agent's stdio, as the process runner gives it: stdout arrives line by line (one
 * JSON-RPC message a line), stdin is the runner's writer. Lines that are not JSON-RPC (an agent's stray prints)
 * are handed to `onNoise` instead of breaking the connection.
 */
import type { AnyMessage, Stream } from '@agentclientprotocol/sdk';
import type { ChildInput } from '../../runner/types.js';
import { parseJsonObject } from '../parsers/json.js';

export class StdioStream {
  readonly stream: Stream;
  private controller: ReadableStreamDefaultController<AnyMessage> | undefined;
  private input: ChildInput | undefined;
  private closed = false;

  constructor(private readonly onNoise: (line: string) => void) {
    const readable = new ReadableStream<AnyMessage>({
      start: (controller) => {
        this.controller = controller;
      },
      // The SDK stops reading when its connection closes; later lines have nowhere to go.
      cancel: () => {
        this.closed = true;
      },
    });
    const writable = new WritableStream<AnyMessage>({
      write: (message) => {
        // A write after the child is gone is dropped; the pending request fails when the readable closes.
        this.input?.write(`${JSON.stringify(message)}\n`);
      },
      close: () => this.input?.end(),
    });
    this.stream = { readable, writable };
  }

  /** The child's stdin, once it runs (the runner's `interactive` callback). */
  attach(input: ChildInput): void {
    this.input = input;
  }

  /** One line of the child's stdout. */
  line(line: string): void {
    if (this.closed) return;
    const message = parseJsonObject(line);
    if (!message || message.jsonrpc !== '2.0') {
      if (line.trim() !== '') this.onNoise(line);
      return;
    }
    this.controller?.enqueue(message as unknown as AnyMessage);
  }

  /** The child's stdout ended: the connection closes and requests still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller?.close();
  }

  /** Closes the child's stdin (an ACP agent exits on end of file). */
  endInput(): void {
    this.input?.end();
  }
}
