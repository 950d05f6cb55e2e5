/** An HTTP answer as two ways into the gateway are compared: status, body and the headers that can be compared. */
export interface SeenAnswer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** Headers that differ between any two requests: the date, the trace id, the count and seconds left in the window. */
function comparable(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name === 'date' || name === 'traceresponse') continue;
    out[name] = name === 'ratelimit' ? value.replace(/r=\d+; t=\d+/, 'r=N; t=N') : value;
  }
  return out;
}

/** Reads a response whole, for comparing with another way's answer to the same request. */
export async function seenOf(res: Response): Promise<SeenAnswer> {
  return { status: res.status, body: await res.text(), headers: comparable(res.headers) };
}

/** Request inits for one gateway: `post(body, headers?)` and `call(method, params, id?)` (a JSON-RPC POST). */
export function requestInits(defaultHeaders: Record<string, string>): {
  post: (body: string, headers?: Record<string, string>) => RequestInit;
  call: (method: string, params: unknown, id?: unknown) => RequestInit;
} {
  const post = (body: string, headers: Record<string, string> = defaultHeaders): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const call = (method: string, params: unknown, id: unknown = 3): RequestInit =>
    post(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  return { post, call };
}
