// A plain SSE client over fetch, as a browser's EventSource or any A2A client reads a stream: `id:`, `event:`
// and `data:` fields, comments ignored, an event ends at a blank line.

export interface SseEvent {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** Parses SSE text fed in arbitrary chunks; `push` returns the events completed by the chunk. */
export class SseParser {
  private buffer = '';
  private id: string | undefined;
  private event: string | undefined;
  private data: string[] = [];

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\n|\r/);
      if (nl < 0) return out;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(this.buffer.startsWith('\r\n', nl) ? nl + 2 : nl + 1);
      if (line === '') {
        if (this.data.length > 0) out.push({ id: this.id, event: this.event, data: this.data.join('\n') });
        this.id = undefined;
        this.event = undefined;
        this.data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') this.id = value;
      else if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
    }
  }
}

export interface SseRequest {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** The response of an SSE request: its status, and its events as they arrive (ends when the server closes). */
export async function openSse(
  url: string,
  req: SseRequest = {},
): Promise<{ status: number; contentType: string; events: AsyncGenerator<SseEvent> }> {
  const res = await fetch(url, {
    method: req.method ?? 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...req.headers },
    ...(req.body !== undefined ? { body: JSON.stringify(req.body) } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const body = res.body;
  async function* events(): AsyncGenerator<SseEvent> {
    if (!body) return;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        for (const e of parser.push(decoder.decode(value, { stream: true }))) yield e;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  return { status: res.status, contentType, events: events() };
}

/** Every event of a stream, bounded in time. */
export async function readAll(
  url: string,
  req: SseRequest = {},
  timeoutMs = 15_000,
): Promise<{ status: number; contentType: string; events: SseEvent[] }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const { status, contentType, events } = await openSse(url, { ...req, signal });
  const out: SseEvent[] = [];
  for await (const e of events) out.push(e);
  return { status, contentType, events: out };
}
