import { constants, existsSync } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { WorkspaceError } from './errors.js';

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

/** A workdir checked again when its task starts, and held open until the task's workspace is disposed. */
export interface PinnedWorkdir {
  /**
   * The path to work through: `/proc/<gateway pid>/fd/<n>`, the directory that was checked, wherever it is now
   * (a symlink put at its old path is never followed); the checked real path where `/proc` is absent.
   */
  readonly path: string;
  /** The real path, as checked at admission and again now. */
  readonly real: string;
  /** Releases the directory. Idempotent. */
  close(): Promise<void>;
}

/**
 * Checks, when a task starts, that the workdir admitted earlier (a real path, checked inside the roots then) is
 * still that directory: it is opened without following a symlink in its last component, and the real path of what
 * was opened must be the admitted one. A workdir swapped for a symlink (to `/etc`, say) or moved while the task
 * was queued is refused with `workdir_changed`. The returned path reaches the opened directory itself, so later
 * steps (the copy, the snapshot, the agent's cwd, the diff, the apply) work on what was checked.
 */
export async function pinWorkdir(admitted: string): Promise<PinnedWorkdir> {
  const changed = (why: string): WorkspaceError =>
    new WorkspaceError(
      'workdir_changed',
      `workdir ${admitted} ${why} since the task was accepted; the task does not run there (send it again if the change was meant)`,
    );
  let handle: FileHandle;
  try {
    handle = await open(admitted, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') throw changed('was replaced by a symlink or a file');
    if (code === 'ENOENT') throw changed('was removed or moved');
    throw changed(`can no longer be opened (${code ?? String(err)})`);
  }
  try {
    const procPath = `/proc/${process.pid}/fd/${handle.fd}`;
    const viaProc = existsSync(procPath);
    const real = await realpath(viaProc ? procPath : admitted);
    if (real !== admitted) throw changed(`now resolves to ${real}: a directory on its path was swapped`);
    let closed = false;
    return {
      path: viaProc ? procPath : real,
      real,
      close: async () => {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
