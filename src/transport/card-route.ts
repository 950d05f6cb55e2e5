import express, { type Request } from 'express';
import { AgentCard } from '@a2a-js/sdk';
import { legacyAgentCardRouter } from '@a2a-js/sdk/compat/v0_3/server/express';
import { agentCardHandler } from '@a2a-js/sdk/server/express';

export interface CardRouteOptions {
  /** Builds the agent card for a public base URL. */
  cardFor: (baseUrl: string) => AgentCard;
  publicUrl: string | undefined;
  /** The layout for a request that names no version. */
  defaultVersion: '0.3' | '1.0';
  /** Always this layout, whatever the request names (the 0.1/0.2 path `agent.json`). */
  fixedVersion?: '0.3';
}

const CARD_MAX_AGE_SEC = 300;

/** The public base URL: `PUBLIC_URL` if set, else what the request (and a trusted proxy's X-Forwarded-*) says. */
export function baseUrlOf(req: Request, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  return `${req.protocol}://${req.host}`;
}

function requestedVersion(req: Request): string | undefined {
  const header = req.header('a2a-version');
  if (header) return header;
  const query = req.query['A2A-Version'];
  return typeof query === 'string' ? query : undefined;
}

/**
 * Serves the agent card, one pair of SDK routers per base URL clients use. A 1.0 request gets the strict 1.0 layout
 * (ProtoJSON, valid against the 1.0 schema, which allows no other field); a 0.3 request gets the 0.3 layout with
 * the 1.0 interfaces embedded (valid against the 0.3 schema). A request naming no version gets
 * `AGENT_CARD_DEFAULT_VERSION`: 0.3 by default, because the spec reads an absent `A2A-Version` as 0.3 and the 0.3
 * clients in the field fetch this path without one; a deployment whose clients are all 1.0 sets it to 1.0.
 *
 * Every answer carries `ETag`, `Last-Modified` (when the card was built), `Cache-Control` and
 * `Vary: A2A-Version`, and a conditional request (`If-None-Match`, `If-Modified-Since`) that still matches gets 304.
 */
export function cardRoute(opts: CardRouteOptions): express.Router {
  const routers = new Map<string, express.Router>();
  const route = express.Router();
  route.get('/', (req, res, next) => {
    const base = baseUrlOf(req, opts.publicUrl);
    let router = routers.get(base);
    if (!router) {
      const card = opts.cardFor(base);
      // Whole seconds: Last-Modified has no finer precision, and If-Modified-Since compares against it.
      const builtAt = new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString();
      const wire = AgentCard.toJSON(card) as AgentCard;
      router = express.Router();
      router.use((_req, r, n) => {
        r.setHeader('Last-Modified', builtAt);
        n();
      });
      // The 0.3 router answers 0.3 requests itself (with Vary) and passes the rest on.
      router.use(
        legacyAgentCardRouter({
          agentCardProvider: () => Promise.resolve(card),
          cache: { maxAge: CARD_MAX_AGE_SEC },
        }),
      );
      router.use((_req, r, n) => {
        r.append('Vary', 'A2A-Version');
        n();
      });
      router.use(
        agentCardHandler({
          agentCardProvider: () => Promise.resolve(wire),
          cache: { maxAge: CARD_MAX_AGE_SEC },
        }),
      );
      if (routers.size >= 16) routers.delete(routers.keys().next().value ?? '');
      routers.set(base, router);
    }
    // The SDK's routers choose the layout from the header: settle it here from the request and the settings.
    const version = opts.fixedVersion ?? requestedVersion(req) ?? opts.defaultVersion;
    req.headers['a2a-version'] = version;
    router(req, res, next);
  });
  return route;
}
