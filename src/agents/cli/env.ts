/** Environment rules the CLI adapters share: proxy pass-through and reading the gateway's settings. */

/**
 * Proxy and CA settings a CLI needs behind a corporate proxy. Passed through as set: without them a CLI on such a
 * network cannot reach its model API at all.
 */
export const NETWORK_ENV: readonly string[] = Object.freeze([
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
]);

/** The proxy variables proper (without NO_PROXY and the CA settings). */
export const PROXY_VARS: readonly string[] = Object.freeze([
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
]);

/** A setting's value when it is set and not blank. */
export function setting(env: Readonly<NodeJS.ProcessEnv>, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function isLoopback(host: string): boolean {
  return (
    host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/**
 * True when a request to `url` should bypass the proxy: a loopback host (a proxy cannot reach the gateway's own
 * loopback), or a host `NO_PROXY` names (`*`, exact hosts, `.suffix` / `*.suffix` domains, optional `:port`).
 * CIDR ranges are not understood. False for a URL that does not parse.
 */
export function bypassesProxy(url: string, noProxy: string | undefined): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopback(host)) return true;
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  for (const raw of (noProxy ?? '').split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const [pattern = '', entryPort] = entry.startsWith('[')
      ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]]
      : entry.split(':');
    if (entryPort !== undefined && entryPort !== port) continue;
    const domain = pattern.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** True when the gateway runs as root (some CLIs refuse their no-prompt mode as root unless told otherwise). */
export function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
