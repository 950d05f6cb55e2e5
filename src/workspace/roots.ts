import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export type WorkdirResult = { ok: true; path: string } | { ok: false; message: string };

/** True when `child` is `root` or inside it (both real, absolute paths). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves a caller's workdir against the allowed roots: relative paths are taken from the first root, then the
 * real path (symlinks followed) must be an existing directory inside one of the roots. Checked before any task
 * starts, so `..`, absolute paths elsewhere and symlinks that escape are refused up front.
 */
export async function resolveWorkdir(requested: string, roots: readonly string[]): Promise<WorkdirResult> {
  const first = roots[0];
  if (!first) return { ok: false, message: 'no workspace roots are configured (WORKSPACE_ROOTS)' };
  if (requested.includes('\0')) return { ok: false, message: 'workdir contains a NUL byte' };
  const candidate = resolve(first, requested);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return {
      ok: false,
      message: `workdir "${requested}" does not exist on this machine (resolved to ${candidate})`,
    };
  }
  const info = await stat(real);
  if (!info.isDirectory()) return { ok: false, message: `workdir "${requested}" is not a directory` };
  const realRoots = await Promise.all(roots.map((r) => realpath(r).catch(() => r)));
  if (!realRoots.some((root) => isInside(root, real))) {
    return {
      ok: false,
      message: `workdir "${requested}" resolves to ${real}, which is outside the allowed workspace roots (${realRoots.join(', ')}); set WORKSPACE_ROOTS to allow it`,
    };
  }
  return { ok: true, path: real };
}
