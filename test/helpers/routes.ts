import type { Express } from 'express';

export interface RouteEntry {
  method: string;
  /** A concrete path for the route, parameters filled with sample values. */
  path: string;
  /** The route as registered. */
  pattern: string;
}

interface LayerLike {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
}

function samplePath(pattern: string): string {
  return pattern.replace(/\\:/g, ':').replace(/\/:([A-Za-z_]+)/g, (_m, name: string) => `/sample-${name}`);
}

/**
 * Every (method, path) the app's router answers, walked from the router itself (mounted sub-routers included), so
 * a route added later is covered without editing a list. Routes registered with a RegExp have no single sample
 * path and are skipped; the caller can check none of them is the only guard of a capability.
 */
export function listRoutes(app: Express): RouteEntry[] {
  const out: RouteEntry[] = [];
  const walk = (stack: LayerLike[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string') continue;
        const pattern = `${prefix}${layer.route.path === '/' && prefix ? '' : layer.route.path}` || '/';
        for (const method of Object.keys(layer.route.methods)) {
          if (method === '_all') continue;
          out.push({ method: method.toUpperCase(), path: samplePath(pattern), pattern });
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  const seen = new Set<string>();
  return out.filter((r) => {
    const key = `${r.method} ${r.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
