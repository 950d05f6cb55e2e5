import { copyFile, lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runGit, type GitContext } from './git-exec.js';
import { isInside } from './roots.js';

/** The file a repository lists, in .gitignore syntax, the ignored files a new worktree needs (`.env`, say). */
export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';

export interface IncludeLimits {
  /** Files copied at most; past it the rest are skipped and the result says so. */
  maxFiles: number;
  /** Bytes copied at most, all files together. */
  maxBytes: number;
}

export const DEFAULT_INCLUDE_LIMITS: IncludeLimits = { maxFiles: 1000, maxBytes: 64 * 1024 * 1024 };

export interface IncludeResult {
  /** Paths copied, relative to the repository's top level. */
  copied: string[];
  /** Paths matched but not copied, with why (a symlink, a limit reached). */
  skipped: { path: string; reason: string }[];
}

const NONE: IncludeResult = { copied: [], skipped: [] };

/**
 * Copies into a new worktree the files of the main working tree that match a pattern in the repository's
 * `.worktreeinclude` and that git ignores: a worktree is a checkout, so it lacks what is never committed (`.env`,
 * local settings) that the project needs to build or run. Tracked files are never copied (the checkout has them),
 * nor untracked files git does not ignore (they are the user's work in progress, not set-up). Git matches the
 * patterns: `ls-files --others --ignored --exclude-from` lists untracked files matching them, `check-ignore` keeps
 * those the repository ignores. Only regular files are copied (a symlink could lead out of the repository), within
 * the limits; nothing happens, and no git process starts, when the repository has no `.worktreeinclude`.
 */
export async function copyWorktreeIncludes(
  repoRoot: string,
  worktree: string,
  ctx: GitContext,
  limits: IncludeLimits = DEFAULT_INCLUDE_LIMITS,
): Promise<IncludeResult> {
  const listFile = join(repoRoot, WORKTREE_INCLUDE_FILE);
  const list = await lstat(listFile).catch(() => undefined);
  if (!list?.isFile()) return NONE;

  const matched = await runGit(ctx, repoRoot, [
    'ls-files',
    '-z',
    '--others',
    '--ignored',
    `--exclude-from=${listFile}`,
  ]);
  const candidates = split(matched.stdout);
  if (candidates.length === 0) return NONE;
  // Exit 1: none of them is ignored.
  const ignored = await runGit(ctx, repoRoot, ['check-ignore', '-z', '--stdin'], {
    stdin: `${candidates.join('\0')}\0`,
    okExitCodes: [0, 1],
  });
  const result: IncludeResult = { copied: [], skipped: [] };
  let bytes = 0;
  for (const path of split(ignored.stdout)) {
    const from = join(repoRoot, path);
    const to = join(worktree, path);
    if (!isInside(repoRoot, from) || !isInside(worktree, to)) continue;
    const st = await lstat(from).catch(() => undefined);
    if (!st?.isFile()) {
      result.skipped.push({ path, reason: st?.isSymbolicLink() ? 'a symlink' : 'not a regular file' });
      continue;
    }
    if (result.copied.length >= limits.maxFiles) {
      result.skipped.push({ path, reason: `over the limit of ${limits.maxFiles} files` });
      continue;
    }
    if (bytes + st.size > limits.maxBytes) {
      result.skipped.push({ path, reason: `over the limit of ${limits.maxBytes} bytes` });
      continue;
    }
    // Never over a file the checkout has (a path both tracked and listed).
    if (
      await lstat(to).then(
        () => true,
        () => false,
      )
    ) {
      continue;
    }
    await mkdir(dirname(to), { recursive: true });
    await copyFile(from, to);
    bytes += st.size;
    result.copied.push(path);
  }
  return result;
}

function split(z: string): string[] {
  return z.split('\0').filter((p) => p !== '');
}
