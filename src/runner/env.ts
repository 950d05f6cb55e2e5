/**
 * Variables a child gets from the gateway's environment by default: enough to find programs, pick a locale and
 * a temp dir, and nothing that could carry a secret. A trailing `*` is a prefix pattern.
 */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = Object.freeze([
  'PATH',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TERM',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'SHELL',
  'NO_COLOR',
]);

export interface BuildChildEnvOptions {
  /** The environment to pick from, usually the gateway's own (`process.env`, read by config/). */
  base: NodeJS.ProcessEnv;
  /** Names allowed on top of {@link DEFAULT_ENV_ALLOWLIST}; `NAME_*` allows every name starting with `NAME_`. */
  allow?: readonly string[];
  /** Applied after the allowlist: a value sets the variable, `undefined` removes it. */
  set?: Record<string, string | undefined>;
  /** Sets `HOME` last, so each task can get a private config home. */
  home?: string;
}

/**
 * Builds a child's whole environment from an allowlist, so API keys, database URLs and anything else in the
 * gateway's environment reach a CLI only when named. Order: allowed names from `base`, then `set`, then `home`.
 * Patterns are exact names or a prefix ending in `*` (a lone `*` allows everything; a `*` elsewhere is literal).
 */
export function buildChildEnv(opts: BuildChildEnvOptions): Record<string, string> {
  const matchers = [...DEFAULT_ENV_ALLOWLIST, ...(opts.allow ?? [])].map(toMatcher);
  // A Map, then fromEntries: a variable named "__proto__" must stay a plain entry.
  const env = new Map<string, string>();
  for (const [name, value] of Object.entries(opts.base)) {
    if (value !== undefined && matchers.some((matches) => matches(name))) env.set(name, value);
  }
  for (const [name, value] of Object.entries(opts.set ?? {})) {
    if (value === undefined) env.delete(name);
    else env.set(name, value);
  }
  if (opts.home !== undefined) env.set('HOME', opts.home);
  return Object.fromEntries(env);
}

function toMatcher(pattern: string): (name: string) => boolean {
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (name) => name.startsWith(prefix);
  }
  return (name) => name === pattern;
}
