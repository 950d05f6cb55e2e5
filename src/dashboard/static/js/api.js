// The gateway's API as the dashboard uses it: A2A 1.0 JSON-RPC over fetch, SSE streams read from fetch (so the
// key travels in a header, which EventSource cannot send), and the small read API under api/. Every URL is
// relative to the page, so the dashboard works behind a reverse proxy that mounts the gateway under a path.

const KEY_ITEM = 'a2a-gateway.api-key';

/** The gateway's root: the dashboard lives at <root>/ui/. */
export const root = new URL('../', location.href);

/** The key for this browser session (sessionStorage: gone when the tab closes). */
export const session = {
  get key() {
    return sessionStorage.getItem(KEY_ITEM) ?? '';
  },
  set key(value) {
    if (value) sessionStorage.setItem(KEY_ITEM, value);
    else sessionStorage.removeItem(KEY_ITEM);
  },
};

/** The gateway refused the key (or asked for one). */
export class AuthError extends Error {}

/** An error the gateway answered with; `code` is the JSON-RPC code or HTTP status. */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

const listeners = new Set();
/** Called whenever a call is refused for want of a valid key. */
export function onAuthError(listener) {
  listeners.add(listener);
}

function headers(extra = {}) {
  const out = { 'A2A-Version': '1.0', ...extra };
  if (session.key) out['X-API-Key'] = session.key;
  return out;
}

async function refusal(res) {
  let reason = `HTTP ${res.status}`;
  try {
    const body = await res.json();
    reason = body?.error?.message ?? reason;
  } catch {
    // not JSON
  }
  if (res.status === 401) {
    const err = new AuthError(reason);
    for (const l of listeners) l(err);
    return err;
  }
  return new ApiError(reason, res.status);
}

/** GET a JSON document of the gateway (`path` relative to its root). */
export async function getJson(path, { signal } = {}) {
  const res = await fetch(new URL(path, root), { headers: headers(), signal });
  if (!res.ok) throw await refusal(res);
  return res.json();
}

let rpcId = 0;

/** One A2A JSON-RPC call; resolves with its result, throws ApiError with the gateway's message. */
export async function rpc(method, params) {
  const res = await fetch(root, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  if (res.status === 401) throw await refusal(res);
  let body;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`HTTP ${res.status}: the gateway did not answer with JSON`, res.status);
  }
  if (body.error) throw new ApiError(body.error.message ?? 'error', body.error.code);
  return body.result;
}

/**
 * Reads an SSE response: yields {id, event, data} for each event (comments skipped). `init` is fetch's; the
 * stream ends when the server closes it or `signal` aborts.
 */
export async function* sse(url, init = {}) {
  const res = await fetch(url, {
    ...init,
    headers: headers({ Accept: 'text/event-stream', ...(init.headers ?? {}) }),
  });
  if (!res.ok) throw await refusal(res);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/event-stream')) {
    // A JSON-RPC error answers a stream request with a JSON body.
    const body = await res.json().catch(() => ({}));
    throw new ApiError(body?.error?.message ?? `HTTP ${res.status}: not an event stream`, body?.error?.code);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { id: undefined, event: 'message', data: '' };
        const data = [];
        for (const line of block.split('\n')) {
          if (line === '' || line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') data.push(text);
          else if (field === 'id') event.id = text;
          else if (field === 'event') event.event = text;
        }
        if (data.length === 0) continue;
        event.data = data.join('\n');
        yield event;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/**
 * Follows a task's events with A2A SubscribeToTask, replaying from `lastEventId` (0: everything). Yields
 * {id, result} where result is a 1.0 StreamResponse; ends when the gateway closes the stream (the task ended or
 * now waits for input). Throws ApiError when the gateway refuses (unknown task...).
 */
export async function* subscribeToTask(id, lastEventId, signal) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method: 'SubscribeToTask', params: { id } });
  const stream = sse(root, {
    method: 'POST',
    body,
    signal,
    headers: { 'Content-Type': 'application/json', 'Last-Event-ID': String(lastEventId) },
  });
  for await (const event of stream) {
    const message = JSON.parse(event.data);
    if (message.error) throw new ApiError(message.error.message, message.error.code);
    yield { id: event.id === undefined ? undefined : Number(event.id), result: message.result };
  }
}

/** The 1.0 agent card (public). */
export async function agentCard() {
  const res = await fetch(new URL('.well-known/agent-card.json', root), {
    headers: { 'A2A-Version': '1.0' },
  });
  if (!res.ok) throw new ApiError(`the agent card: HTTP ${res.status}`, res.status);
  return res.json();
}
