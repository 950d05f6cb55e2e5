import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Resolves a host name to every address it has (IPv4 and IPv6 text forms). */
export type HostResolver = (host: string) => Promise<string[]>;

/** Options of {@link checkWebhookUrl}. */
export interface UrlGuardOptions {
  /**
   * Host names (`hooks.internal`, `*.corp.example` for its subdomains), addresses (`127.0.0.1`, `::1`) or CIDRs
   * (`10.1.0.0/16`) a webhook may reach although the rules refuse them. A host name entry allows every address
   * that host resolves to.
   */
  allow: readonly string[];
  /** Name resolution; defaults to the system resolver (`dns.lookup` with `all: true`), as a connection would use. */
  resolve?: HostResolver;
  /** Bound on name resolution (default 5000 ms). */
  resolveTimeoutMs?: number;
}

/** Why a URL was refused: `resolve` may succeed later, every other code is final. */
export type UrlRefusalCode = 'invalid' | 'scheme' | 'credentials' | 'resolve' | 'blocked';

/** A URL that may be posted to, with the address the connection must go to. */
export interface CheckedUrl {
  ok: true;
  url: URL;
  /** The checked address the connection is pinned to (never resolved again, so DNS rebinding cannot move it). */
  address: string;
  family: 4 | 6;
}

/** A refused URL. `reason` names the rule and never contains the URL's path or query (they may hold secrets). */
export interface RefusedUrl {
  ok: false;
  code: UrlRefusalCode;
  reason: string;
}

/** Ranges a webhook may not reach, one list per reason so a refusal can say which rule it broke. */
const RANGES: readonly (readonly [label: string, cidrs: readonly string[]])[] = [
  ['a cloud metadata address', ['169.254.169.254/32', 'fd00:ec2::254/128']],
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['loopback', ['127.0.0.0/8', '::1/128']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['shared address space (CGNAT)', ['100.64.0.0/10']],
  ['multicast', ['224.0.0.0/4', 'ff00::/8']],
  // Less common ways to reach a local network: reserved/broadcast, benchmarking, IETF protocol assignments,
  // deprecated site-local and IPv4-compatible IPv6, and NAT64 prefixes (they embed an IPv4 address that the
  // NAT64 gateway would reach on our behalf, possibly a private one).
  [
    'reserved',
    [
      '240.0.0.0/4',
      '198.18.0.0/15',
      '192.0.0.0/24',
      'fec0::/10',
      '::/96',
      '64:ff9b::/96',
      '64:ff9b:1::/48',
      '100::/64',
    ],
  ],
];

function addCidr(list: BlockList, cidr: string): void {
  const slash = cidr.indexOf('/');
  const address = slash === -1 ? cidr : cidr.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address or CIDR: ${cidr}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) list.addAddress(address, type);
  else list.addSubnet(address, Number(cidr.slice(slash + 1)), type);
}

const BLOCKED: readonly (readonly [string, BlockList])[] = RANGES.map(([label, cidrs]) => {
  const list = new BlockList();
  for (const cidr of cidrs) addCidr(list, cidr);
  return [label, list] as const;
});

/** Host names and address lists compiled from an allowlist; cached per array so a check does not rebuild it. */
interface CompiledAllowlist {
  hosts: ReadonlySet<string>;
  /** From `*.example.com` entries: `.example.com`, matched as a suffix (subdomains only). */
  suffixes: readonly string[];
  addresses: BlockList;
}
const compiled = new WeakMap<readonly string[], CompiledAllowlist>();

function compileAllowlist(allow: readonly string[]): CompiledAllowlist {
  const cached = compiled.get(allow);
  if (cached) return cached;
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const addresses = new BlockList();
  for (const raw of allow) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
    try {
      if (isIP(bare.split('/')[0] ?? '') !== 0) addCidr(addresses, bare);
      else if (bare.startsWith('*.')) suffixes.push(normalizeHost(bare.slice(1)));
      else if (/^[a-z0-9.-]+$/.test(bare)) hosts.add(normalizeHost(bare));
      else throw new Error('bad host name');
    } catch {
      throw new Error(
        `push allowlist entry "${raw}" is not a host name, *.domain, IP address or CIDR (e.g. 10.0.0.0/8)`,
      );
    }
  }
  const result = { hosts, suffixes, addresses };
  compiled.set(allow, result);
  return result;
}

/**
 * Throws a readable error when an allowlist entry is neither a host name, `*.domain`, an IP address nor a CIDR,
 * so configuration can fail at start rather than at the first delivery.
 */
export function validateAllowlist(allow: readonly string[]): void {
  compileAllowlist(allow);
}

/** The URL's host as used for resolution and allowlist matching: lower case, no brackets, no trailing dot. */
function normalizeHost(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** The first rule an address breaks, or undefined when it is a public address. */
export function blockedRange(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  // BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 ranges and vice versa.
  for (const [label, list] of BLOCKED) if (list.check(address, type)) return label;
  return undefined;
}

const systemResolver: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

async function resolveBounded(resolve: HostResolver, host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([resolve(host), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function refuse(code: UrlRefusalCode, reason: string): RefusedUrl {
  return { ok: false, code, reason };
}

type ParsedUrl = { ok: true; url: URL; host: string } | RefusedUrl;

/** What can be known of a webhook URL without the network: a valid http(s) URL, no credentials, a host. */
function parseWebhookUrl(raw: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('invalid', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return refuse('scheme', `scheme ${url.protocol} is not allowed; use http: or https:`);
  }
  if (url.username !== '' || url.password !== '') {
    return refuse(
      'credentials',
      'credentials in the URL are not allowed; use the config token or authentication',
    );
  }
  const host = normalizeHost(url.hostname);
  if (host === '') return refuse('invalid', 'the URL has no host');
  return { ok: true, url, host };
}

/** The address rules: every address must be public, or allowed by the host name or by an address rule. */
function checkAddresses(
  host: string,
  addresses: readonly string[],
  allow: readonly string[],
): RefusedUrl | undefined {
  const compiled = compileAllowlist(allow);
  const hostAllowed = compiled.hosts.has(host) || compiled.suffixes.some((suffix) => host.endsWith(suffix));
  for (const address of addresses) {
    const family = isIP(address);
    if (family === 0) return refuse('resolve', `host ${host} resolved to a non-address (${address})`);
    if (hostAllowed || compiled.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')) continue;
    const range = blockedRange(address);
    if (range !== undefined) {
      const what = address === host ? `address ${address}` : `host ${host} resolves to ${address}, which`;
      return refuse('blocked', `${what} is ${range} and not in the push allowlist`);
    }
  }
  return undefined;
}

/**
 * The check when a webhook is registered: everything that needs no name resolution (scheme, credentials, a
 * literal private or loopback address). A host name is accepted as it is: whether it resolves, and to what, is
 * decided at each delivery by {@link checkWebhookUrl}, which refuses it then with the reason in the log.
 */
export function checkWebhookRegistration(
  raw: string,
  opts: Pick<UrlGuardOptions, 'allow'>,
): { ok: true } | RefusedUrl {
  const parsed = parseWebhookUrl(raw);
  if (!parsed.ok) return parsed;
  if (isIP(parsed.host) === 0) return { ok: true };
  return checkAddresses(parsed.host, [parsed.host], opts.allow) ?? { ok: true };
}

/**
 * Decides whether the gateway may POST to a caller-supplied webhook URL (SSRF guard). Only `http:` and `https:`
 * without credentials; the host is resolved and **every** address must be public, or allowed by `opts.allow`
 * (a listed host name allows all its addresses, a listed address or CIDR allows the addresses it covers). The
 * WHATWG parser has already turned odd spellings (`2130706433`, `0x7f.1`, `[::ffff:7f00:1]`) into canonical
 * addresses, which are then checked like any other. The caller must connect to the returned `address`.
 */
export async function checkWebhookUrl(raw: string, opts: UrlGuardOptions): Promise<CheckedUrl | RefusedUrl> {
  const parsed = parseWebhookUrl(raw);
  if (!parsed.ok) return parsed;
  const { url, host } = parsed;
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = await resolveBounded(opts.resolve ?? systemResolver, host, opts.resolveTimeoutMs ?? 5000);
    } catch (error) {
      return refuse('resolve', `host ${host} did not resolve: ${(error as Error).message}`);
    }
    if (addresses.length === 0) return refuse('resolve', `host ${host} has no addresses`);
  }
  const refused = checkAddresses(host, addresses, opts.allow);
  if (refused) return refused;
  // Non-empty by the checks above.
  const address = addresses[0] ?? host;
  return { ok: true, url, address, family: isIP(address) === 6 ? 6 : 4 };
}
