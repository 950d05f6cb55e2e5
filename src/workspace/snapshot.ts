import { constants } from 'node:fs';
import {
  copyFile,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rm,
  symlink,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { EMPTY_CHANGES, diffDirectories, type Changes } from './changes.js';
import { WorkspaceError } from './errors.js';
import type { GitContext } from './git-exec.js';
import { isInside } from './roots.js';

/** Bounds on {@link snapshotCopy}. */
export interface SnapshotLimits {
  /** Most entries (files, directories, links) copied (default 50 000). */
  maxFiles?: number;
  /** Most bytes of file content copied (default 1 GiB). */
  maxBytes?: number;
  /** Entry names never copied, at any depth (default `.git`). */
  skipNames?: readonly string[];
}

/** What {@link snapshotCopy} copied and what it left out. */
export interface SnapshotResult {
  /** Real path of the copy. */
  path: string;
  files: number;
  bytes: number;
  /** Entries not copied: symlinks leading out of the tree, sockets, FIFOs, devices. */
  skipped: { path: string; reason: string }[];
  /**
   * Every path whose copy differs from the source by design (skipped, or a symlink rewritten from an absolute to
   * a relative target); pass it as `exclude` to `diffDirectories` so these do not show as the task's changes.
   */
  altered: string[];
}

export const DEFAULT_SNAPSHOT_MAX_FILES = 50_000;
export const DEFAULT_SNAPSHOT_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Copies the directory tree `src` to `dest` (which must not exist; its parent is created) for a task that works on
 * a directory that is not a git repository. Nothing is followed: a symlink is recreated only when it points inside
 * `src` (an absolute target is rewritten to a relative one), and dropped when it leads out, so the copy cannot
 * reach beyond itself; special files are dropped. File modes are kept. Past `maxFiles` entries or `maxBytes` the
 * copy stops with a `snapshot_too_large` error and the partial copy is removed.
 */
export async function snapshotCopy(
  src: string,
  dest: string,
  limits: SnapshotLimits = {},
): Promise<SnapshotResult> {
  const root = await realpath(src).catch(() => undefined);
  if (root === undefined || !(await lstat(root)).isDirectory()) {
    throw new WorkspaceError('invalid_path', `snapshot source ${src} is not a directory`);
  }
  const parent = dirname(resolve(dest));
  await mkdir(parent, { recursive: true });
  const target = join(await realpath(parent), basename(resolve(dest)));
  if (isInside(root, target)) {
    throw new WorkspaceError('invalid_path', `snapshot destination ${target} is inside its source ${root}`);
  }
  try {
    await mkdir(target);
  } catch {
    throw new WorkspaceError('path_exists', `snapshot destination ${target} already exists`);
  }
  try {
    return await copyTree(root, target, limits);
  } catch (err) {
    await rm(target, { recursive: true, force: true });
    throw err;
  }
}

async function copyTree(root: string, target: string, limits: SnapshotLimits): Promise<SnapshotResult> {
  const maxFiles = limits.maxFiles ?? DEFAULT_SNAPSHOT_MAX_FILES;
  const maxBytes = limits.maxBytes ?? DEFAULT_SNAPSHOT_MAX_BYTES;
  const skipNames = new Set(limits.skipNames ?? ['.git']);
  const result: SnapshotResult = { path: target, files: 0, bytes: 0, skipped: [], altered: [] };
  const links: string[] = [];
  const tooLarge = (what: string): WorkspaceError =>
    new WorkspaceError(
      'snapshot_too_large',
      `${root} has more than ${what}; it is too large to copy for a task`,
    );

  // Each directory is visited once, and the entry count bounds the walk.
  const pending: string[] = [''];
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    for (const name of await readdir(join(root, rel))) {
      if (skipNames.has(name)) continue;
      const relPath = join(rel, name);
      if (++result.files > maxFiles) throw tooLarge(`${maxFiles} files`);
      const from = join(root, relPath);
      const to = join(target, relPath);
      const info = await lstat(from);
      if (info.isDirectory()) {
        await mkdir(to);
        pending.push(relPath);
      } else if (info.isFile()) {
        result.bytes += info.size;
        if (result.bytes > maxBytes) throw tooLarge(`${maxBytes} bytes`);
        await copyFile(from, to, constants.COPYFILE_FICLONE);
      } else if (info.isSymbolicLink()) {
        const link = await readlink(from);
        const pointsAt = resolve(dirname(from), link);
        if (isInside(root, pointsAt)) {
          await symlink(isAbsolute(link) ? relative(dirname(from), pointsAt) || '.' : link, to);
          links.push(relPath);
          if (isAbsolute(link)) result.altered.push(relPath);
        } else {
          result.skipped.push({ path: relPath, reason: `symlink to ${link} leads outside the directory` });
        }
      } else {
        result.skipped.push({ path: relPath, reason: 'not a regular file, directory or symlink' });
      }
    }
  }
  // The lexical check above misses a chain like `a -> ..` then `b -> sub/a/..`: resolve each kept link for real.
  for (const relPath of links) {
    const resolved = await realpath(join(target, relPath)).catch(() => undefined);
    if (resolved !== undefined && !isInside(target, resolved)) {
      await unlink(join(target, relPath));
      result.skipped.push({ path: relPath, reason: 'symlink resolves outside the directory' });
    }
  }
  result.altered.push(...result.skipped.map((s) => s.path));
  return result;
}

/**
 * True when the trees `a` and `b` hold the same entries (names, kinds, symlink targets, file contents), `.git` and
 * the `exclude` paths aside: a cheap check that lets a task that changed nothing skip the git diff. Stops at the
 * first difference; a tree over `maxEntries` counts as different (the caller then diffs with git).
 */
export async function treesEqual(
  a: string,
  b: string,
  opts: { exclude?: readonly string[]; maxEntries?: number } = {},
): Promise<boolean> {
  const exclude = new Set(opts.exclude ?? []);
  let budget = opts.maxEntries ?? DEFAULT_SNAPSHOT_MAX_FILES;
  const walk = async (rel: string): Promise<boolean> => {
    const [left, right] = await Promise.all([
      readdir(join(a, rel)).catch(() => undefined),
      readdir(join(b, rel)).catch(() => undefined),
    ]);
    if (!left || !right) return false;
    const keep = (name: string): boolean => name !== '.git' && !exclude.has(rel ? `${rel}/${name}` : name);
    const names = left.filter(keep).sort();
    const others = right.filter(keep).sort();
    if (names.length !== others.length || names.some((n, i) => n !== others[i])) return false;
    for (const name of names) {
      budget -= 1;
      if (budget < 0) return false;
      const path = rel ? `${rel}/${name}` : name;
      const [x, y] = await Promise.all([lstat(join(a, path)), lstat(join(b, path))]);
      if (x.isDirectory() !== y.isDirectory() || x.isSymbolicLink() !== y.isSymbolicLink()) return false;
      if (x.isDirectory()) {
        if (!(await walk(path))) return false;
      } else if (x.isSymbolicLink()) {
        if ((await readlink(join(a, path))) !== (await readlink(join(b, path)))) return false;
      } else {
        if (x.size !== y.size || (x.mode & 0o111) !== (y.mode & 0o111)) return false;
        const [p, q] = await Promise.all([readFile(join(a, path)), readFile(join(b, path))]);
        if (!p.equals(q)) return false;
      }
    }
    return true;
  };
  return walk('');
}

/**
 * The changes from `before` to `after` (a directory and its copy or snapshot; `altered` are the paths the copy
 * changed by design). Most turns in a scratch directory write nothing: the file walk spares them the git diff.
 */
export async function changesBetween(
  before: string,
  after: string,
  altered: readonly string[],
  git: GitContext,
): Promise<Changes> {
  if (await treesEqual(before, after, { exclude: altered })) return EMPTY_CHANGES;
  return diffDirectories(before, after, git, { exclude: altered });
}
