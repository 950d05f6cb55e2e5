import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler } from 'express';

/**
 * The dashboard's files: plain ES modules, CSS and one HTML page, shipped as they are (no build step). From the
 * sources they sit beside this file; from the built package (`dist/dashboard/`) they are read from
 * `src/dashboard/static`, which the package's `files` list ships.
 */
export function staticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'static'), join(here, '../../src/dashboard/static')];
  const found = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  if (!found) throw new Error(`the dashboard's files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

/**
 * A strict policy for the dashboard's pages: its own scripts, styles and connections only, no inline code, no
 * framing. (No `upgrade-insecure-requests`: a gateway on a LAN or behind a plain-HTTP proxy must keep working.)
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** True for a browser asking for a page: a GET that accepts HTML (a JSON-RPC client never does). */
function wantsPage(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/html\b/.test(accept);
}

/**
 * Serves the dashboard at `/ui/` (public: the page and its code hold no data; every call they make carries the
 * key), and sends a browser that opens `/` or `/dashboard` there. The redirects are relative, so they also work
 * behind a reverse proxy that mounts the gateway under a path. Anything else passes through: `POST /` stays
 * JSON-RPC, and a non-browser `GET /` gets what it got before.
 */
export function dashboardAssets(): RequestHandler[] {
  const dir = staticDir();
  const files = express.static(dir, {
    index: 'index.html',
    redirect: false,
    fallthrough: true,
    maxAge: 0,
    setHeaders: (res) => {
      res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Referrer-Policy', 'no-referrer');
    },
  });
  const redirect: RequestHandler = (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    if (req.path === '/ui') {
      res.redirect(302, 'ui/');
      return;
    }
    if ((req.path === '/' || req.path === '/dashboard') && wantsPage(req.get('accept'))) {
      res.redirect(302, req.path === '/' ? 'ui/' : './ui/');
      return;
    }
    next();
  };
  const serve: RequestHandler = (req, res, next) => {
    if (!req.path.startsWith('/ui/') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    const original = req.url;
    req.url = req.url.slice('/ui'.length);
    files(req, res, (err?: unknown) => {
      req.url = original;
      if (err) next(err);
      else res.status(404).type('text/plain').send(`no dashboard file ${req.path}`);
    });
  };
  return [redirect, serve];
}
