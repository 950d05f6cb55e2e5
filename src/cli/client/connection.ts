import type { AgentCard } from '@a2a-js/sdk';
import {
  ClientFactory,
  ClientFactoryOptions,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
  type Client,
} from '@a2a-js/sdk/client';
import { CliError, unreachable } from './errors.js';
import { EXIT } from './exit-codes.js';
import { SseIds } from './sse-ids.js';
import type { Target } from './target.js';

/** A connected client: the official SDK client, the card it was built from, and the ids of its SSE events. */
export interface Connection {
  client: Client;
  card: AgentCard;
  url: string;
  ids: SseIds;
}

/** The server's own words from an error body (JSON-RPC, google.rpc.Status or plain text). */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'object' && typeof body.error.message === 'string') return body.error.message;
    if (typeof body.error === 'string') return body.error;
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 300) || `${res.status} ${res.statusText}`;
}

/**
 * The fetch every request of the client goes through: adds the key, turns a connection failure or an HTTP
 * refusal (401, 403, 429) into a {@link CliError} with the server's message, and tracks SSE event ids.
 */
function gatewayFetch(target: Target, ids: SseIds, auth: { header: string }): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers);
    if (target.apiKey && !headers.has(auth.header)) {
      headers.set(auth.header, auth.header === 'authorization' ? `Bearer ${target.apiKey}` : target.apiKey);
    }
    let res: Response;
    try {
      res = await fetch(input, { ...init, headers });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw unreachable(target.url, err);
    }
    if (res.status === 401) {
      const why = await errorText(res);
      throw new CliError(
        'unauthenticated',
        `the gateway refused the key: ${why}. ${target.apiKey ? 'Check --api-key or A2A_API_KEY.' : 'Pass one with --api-key or A2A_API_KEY.'}`,
        EXIT.unauthenticated,
      );
    }
    if (res.status === 403 || res.status === 429) {
      const why = await errorText(res);
      const retry = res.headers.get('retry-after');
      throw new CliError(
        'refused',
        `the gateway refused the request: ${why}${retry ? ` (retry after ${retry} s)` : ''}`,
        EXIT.refused,
      );
    }
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) return ids.track(res);
    return res;
  };
}

/** The header the card asks for an API key in (our gateway: X-API-Key); else a bearer token. */
function authHeaderFor(card: AgentCard): string {
  for (const scheme of Object.values(card.securitySchemes ?? {})) {
    const s = scheme.scheme;
    if (s?.$case === 'apiKeySecurityScheme' && s.value.location === 'header' && s.value.name) {
      return s.value.name.toLowerCase();
    }
  }
  return 'authorization';
}

/** Fetches the agent card at `url` (a base URL, or the card's own URL when it ends in `.json`). */
export async function fetchCard(
  target: Target,
): Promise<{ card: AgentCard; fetchImpl: typeof fetch; ids: SseIds }> {
  const ids = new SseIds();
  const auth = { header: 'authorization' };
  const fetchImpl = gatewayFetch(target, ids, auth);
  const resolver = new DefaultAgentCardResolver({ fetchImpl, legacyCompat: { enabled: true } });
  const base = target.url.replace(/\/+$/, '');
  let card: AgentCard;
  try {
    card = base.endsWith('.json') ? await resolver.resolve(base, '') : await resolver.resolve(base);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(
      'unreachable',
      `no A2A agent card at ${base}: ${(err as Error).message}. Is --url (or A2A_GATEWAY_URL) the gateway's base URL?`,
      EXIT.unreachable,
    );
  }
  auth.header = authHeaderFor(card);
  return { card, fetchImpl, ids };
}

/** Connects the official SDK client (JSON-RPC preferred, HTTP+JSON otherwise; A2A 1.0, and 0.3 servers too). */
export async function connect(target: Target): Promise<Connection> {
  const { card, fetchImpl, ids } = await fetchCard(target);
  const factory = new ClientFactory(
    ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [
        new JsonRpcTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }),
        new RestTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }),
      ],
      preferredTransports: ['JSONRPC', 'HTTP+JSON'],
    }),
  );
  const client = await factory.createFromAgentCard(card);
  return { client, card, url: target.url, ids };
}
