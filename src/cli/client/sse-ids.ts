/**
 * The SDK's client reads SSE events but drops their `id:` lines; a client needs them to resume a stream where it
 * left off (`Last-Event-ID`). This reads the ids off the response body as it passes, one entry per event the SDK
 * will yield, in order. One stream at a time: a new stream starts a new queue.
 */
export class SseIds {
  private queue: Array<string | undefined> = [];
  private lastSeen: string | undefined;

  /** A copy of the response whose body records event ids on the way to the SDK's parser. */
  track(res: Response): Response {
    if (!res.body) return res;
    const queue: Array<string | undefined> = [];
    this.queue = queue;
    const decoder = new TextDecoder();
    let buffer = '';
    let id: string | undefined;
    let data = '';
    const scan = (text: string): void => {
      buffer += text;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        let line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          // The SDK yields an event only when it has data, so only those take a place in the queue.
          if (data !== '') queue.push(id);
          id = undefined;
          data = '';
        } else if (line.startsWith('id:')) {
          id = line.slice(3).trim();
        } else if (line.startsWith('data:')) {
          data += line.slice(5).trim();
        }
      }
    };
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          scan(decoder.decode(chunk, { stream: true }));
          controller.enqueue(chunk);
        },
        flush() {
          scan(`${decoder.decode()}\n\n`);
        },
      }),
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  /** The id of the event the SDK just yielded (call once per event, in order); undefined if it had none. */
  next(): string | undefined {
    const id = this.queue.shift();
    if (id !== undefined && id !== '') this.lastSeen = id;
    return id;
  }

  /** The id of the last event seen that had one, across streams: where a resubscribe resumes. */
  get last(): string | undefined {
    return this.lastSeen;
  }
}
