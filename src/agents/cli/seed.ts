/**
 * File helpers the CLI adapters share to set up a private config home: copy the user's own config files into it
 * (files only, never out of the user's home, always private), and merge the gateway's settings into JSON configs
 * without losing the user's keys.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import JSON5 from 'json5';

/** Config and credential files are small; anything bigger is not a config file and is not copied. */
const MAX_SEED_BYTES = 16 * 1024 * 1024;

/** A JSON object as read from a config file. */
export type JsonObject = Record<string, unknown>;

/** A config file in the user's home, and where its copy goes in the private home. */
export interface SeedFile {
  /** Path relative to the user's home, e.g. `.claude/settings.json`. */
  from: string;
  /** Path relative to the private home; defaults to `from`. */
  to?: string;
}

/** A config file the gateway cannot read or write; the message names the file and what to fix. */
export class CliSetupError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'CliSetupError';
  }
}

/** True when `child` is `parent` or lies below it (both absolute, already resolved). */
export function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** True when `path` exists (a broken symlink counts as missing). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a file of the user's, but only a regular file whose real path stays inside the user's home: a symlink to
 * `/etc/...` or into another user's home is not followed. Undefined when missing, outside or too big.
 */
async function readUserFile(userHome: string, path: string): Promise<Buffer | undefined> {
  try {
    await lstat(path);
  } catch {
    return undefined;
  }
  try {
    const [real, realHome] = await Promise.all([realpath(path), realpath(userHome)]);
    if (!isInside(real, realHome)) return undefined;
    const info = await stat(real);
    if (!info.isFile() || info.size > MAX_SEED_BYTES) return undefined;
    return await readFile(real);
  } catch {
    // Unreadable (permissions, a race with the user editing it): the CLI starts without it, as on a fresh machine.
    return undefined;
  }
}

/** Creates a directory (and its parents) only the gateway's user can enter, if missing. Returns the path. */
export async function ensurePrivateDir(path: string): Promise<string> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  return path;
}

/**
 * Writes a file only the gateway's user can read (mode 0600, directories 0700): config files often hold API keys.
 * Refuses to write through a symlink, so nothing planted in the home can redirect the write.
 */
export async function writePrivateFile(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const handle = await open(path, flags, 0o600);
  try {
    // The mode argument only applies to a new file; an existing one is made private too.
    await handle.chmod(0o600);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/**
 * Copies the user's config files that exist into the private home (files, not directories: sessions, logs and
 * caches stay the user's). Returns the destination paths written, relative to `home`.
 */
export async function seedFiles(
  userHome: string,
  home: string,
  files: readonly SeedFile[],
): Promise<string[]> {
  const copied: string[] = [];
  for (const file of files) {
    const data = await readUserFile(userHome, join(userHome, file.from));
    if (data === undefined) continue;
    const to = file.to ?? file.from;
    await writePrivateFile(join(home, to), data);
    copied.push(to);
  }
  return copied;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a JSON config file (comments and trailing commas allowed, as several CLIs accept them). Undefined when the
 * file does not exist; a {@link CliSetupError} when it is not a JSON object, since merging into it would lose it.
 */
export async function readJsonObject(path: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON5.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CliSetupError(`${path} is not valid JSON (${why}); fix the user's copy of this file`, path);
  }
  if (!isJsonObject(value)) {
    throw new CliSetupError(`${path} must hold a JSON object; fix the user's copy of this file`, path);
  }
  return value;
}

/** Writes a JSON config file, privately. */
export async function writeJsonObject(path: string, value: JsonObject): Promise<void> {
  await writePrivateFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `patch` laid over `base`: nested objects are merged key by key, anything else in `patch` replaces. Neither input
 * is changed. Keys such as `__proto__` stay plain keys.
 */
export function deepMerge(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = {};
  const put = (key: string, value: unknown): void => {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const [key, value] of Object.entries(base)) put(key, value);
  for (const [key, value] of Object.entries(patch)) {
    const current = Object.prototype.hasOwnProperty.call(base, key) ? base[key] : undefined;
    put(key, isJsonObject(current) && isJsonObject(value) ? deepMerge(current, value) : value);
  }
  return out;
}

/** Merges `patch` into the JSON file at `path` (created when missing) and returns the result. */
export async function mergeJsonFile(path: string, patch: JsonObject): Promise<JsonObject> {
  const merged = deepMerge((await readJsonObject(path)) ?? {}, patch);
  await writeJsonObject(path, merged);
  return merged;
}

/** The value at a dotted path of nested objects (`security.auth.selectedType`), if there is one. */
export function getPath(value: JsonObject | undefined, path: string): unknown {
  let current: unknown = value;
  for (const key of path.split('.')) {
    if (!isJsonObject(current) || !Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

/** True when any of `files` (relative to `dir`) exists. */
export async function anyExists(dir: string, files: readonly string[]): Promise<boolean> {
  const found = await Promise.all(files.map((file) => exists(join(dir, file))));
  return found.includes(true);
}
