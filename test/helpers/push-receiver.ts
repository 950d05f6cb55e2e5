// A webhook receiver on 127.0.0.1 that records every request and answers as each test scripts it.
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPush {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Answers request number `index` (0-based); a promise lets a test hold the reply. */
export type Responder = (index: number, push: ReceivedPush) => ScriptedReply | Promise<ScriptedReply>;

export class PushReceiver {
  readonly received: ReceivedPush[] = [];
  private readonly events = new EventEmitter();

  private readonly server: Server;
  private listeningOn = 0;

  private constructor(respond: Responder) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const push = {
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        const index = this.received.length;
        this.received.push(push);
        this.events.emit('push');
        void Promise.resolve(respond(index, push)).then((reply) => {
          if (res.destroyed) return;
          res.writeHead(reply.status, reply.headers ?? {});
          res.end(reply.body ?? '');
        });
      });
    });
  }

  static async start(respond: Responder = () => ({ status: 200 })): Promise<PushReceiver> {
    const receiver = new PushReceiver(respond);
    receiver.server.listen(0, '127.0.0.1');
    await once(receiver.server, 'listening');
    receiver.listeningOn = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  /** The port on 127.0.0.1. */
  get port(): number {
    return this.listeningOn;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once `n` requests arrived; rejects after `timeoutMs`. */
  async waitFor(n: number, timeoutMs = 5000): Promise<ReceivedPush[]> {
    const deadline = AbortSignal.timeout(timeoutMs);
    while (this.received.length < n) {
      try {
        await once(this.events, 'push', { signal: deadline });
      } catch {
        throw new Error(
          `receiver got ${this.received.length} of ${n} expected requests within ${timeoutMs} ms`,
        );
      }
    }
    return this.received.slice(0, n);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A logger that keeps what the push code logs, to assert on it (and that no secret is in it). */
export class RecordingLogger {
  readonly lines: { level: string; obj: object; msg: string | undefined }[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  debug(obj: object, msg?: string): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.msg ?? ''} ${JSON.stringify(l.obj)}`).join('\n');
  }
}
