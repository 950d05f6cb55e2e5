import { copyFile, mkdir, mkdtemp, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError, WorkspaceError } from './errors.js';
import { runGit, type GitContext } from './git-exec.js';
import { requireRepoRoot, resolveCommit } from './git.js';

/** One file a task changed, from `git diff --numstat` and `--name-status` with rename detection. */
export interface ChangedFile {
  /** Path relative to the top of the tree, after the change (for a deletion: the deleted path). */
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'renamed';
  /** Lines added and removed; 0 for binary files. */
  added: number;
  removed: number;
  binary: boolean;
  /** The path before a rename. */
  oldPath?: string;
}

/** Everything a task changed relative to its base. */
export interface Changes {
  /**
   * The unified diff for people (the `text/x-diff` artifact): new, deleted and renamed files included, binary files
   * named (`Binary files a/x and b/x differ`) without their content. It applies with `git apply` when no file is
   * binary.
   */
  diff: string;
  /**
   * The diff to apply (`--binary --full-index`): binary files carried as git binary patches. The same string as
   * `diff` when no file is binary.
   */
  applyableDiff: string;
  files: ChangedFile[];
}

/** Bounds on {@link collectChanges} and {@link diffDirectories}. */
export interface DiffLimits {
  /** Largest diff accepted; a bigger one is an `output_too_large` error (default 32 MiB). */
  maxDiffBytes?: number;
}

export const DEFAULT_MAX_DIFF_BYTES = 32 * 1024 * 1024;

/** No change at all. */
export const EMPTY_CHANGES: Changes = { diff: '', applyableDiff: '', files: [] };

/**
 * What a task itself changed when its worktree started with the caller's pending (uncommitted) changes: the files
 * whose diff is not the pending one.
 */
export function withoutPending(changes: Changes, pending: Changes): Changes {
  if (pending.files.length === 0) return changes;
  const before = fileDiffs(pending.diff);
  const after = fileDiffs(changes.diff);
  return { ...changes, files: changes.files.filter((f) => after.get(f.path) !== before.get(f.path)) };
}

/** The diff of each file, by its path after the change (`diff --git a/x b/x` sections). */
function fileDiffs(diff: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const section of diff.split(/^(?=diff --git )/m)) {
    const path = /^\+\+\+ b\/(.*)$/m.exec(section)?.[1] ?? /^--- a\/(.*)$/m.exec(section)?.[1];
    if (path !== undefined) out.set(path, section);
  }
  return out;
}

/**
 * Settings that would change the diff's shape if the user's config set them: no prefix, mnemonic prefixes,
 * relative paths, blank context lines without their space. Forced off so that `git apply -p1` always takes it.
 */
const DIFF_CONFIG: readonly string[] = [
  '-c',
  'diff.noprefix=false',
  '-c',
  'diff.mnemonicPrefix=false',
  '-c',
  'diff.relative=false',
  '-c',
  'diff.suppressBlankEmpty=false',
];

/** Flags for every diff: plain patch text (no external diff or textconv), 3 lines of context, renames found. */
const DIFF_FLAGS: readonly string[] = [
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
  '--unified=3',
  '--submodule=short',
  '--ignore-submodules=none',
  '--find-renames',
];

/**
 * Everything the agent did in `worktree` relative to `baseCommit`: its commits, staged and unstaged edits,
 * deletions and untracked files; files the repository ignores are not changes. The worktree is staged with
 * `git add -A` into a temporary index (`GIT_INDEX_FILE`, seeded from the worktree's own index so unchanged files are
 * not hashed again) and written as a tree; the worktree's index, the user's working tree and the user's index are
 * never touched. The only lasting effect is new blob objects in the repository's object store (gc drops them).
 */
export async function collectChanges(
  worktree: string,
  baseCommit: string,
  ctx: GitContext,
  limits: DiffLimits = {},
): Promise<Changes> {
  const root = await requireRepoRoot(worktree, ctx);
  const base = await resolveCommit(root, baseCommit, ctx, 'base commit');
  const indexPath = (
    await runGit(ctx, root, ['rev-parse', '--path-format=absolute', '--git-path', 'index'])
  ).stdout.trim();
  const scratch = await mkdtemp(join(tmpdir(), 'a2a-changes-'));
  try {
    const tempIndex = join(scratch, 'index');
    const seeded = await seedIndex(indexPath, tempIndex);
    const env = { GIT_INDEX_FILE: tempIndex };
    try {
      await runGit(ctx, root, ['add', '-A'], { env });
    } catch (err) {
      // A copied index can point at files it cannot follow to /tmp (split index); an empty one always works.
      if (!seeded || !(err instanceof GitError) || err.code !== 'git_failed') throw err;
      await rm(tempIndex, { force: true });
      await runGit(ctx, root, ['add', '-A'], { env });
    }
    const tree = (await runGit(ctx, root, ['write-tree'], { env })).stdout.trim();
    return await diffTrees(ctx, root, base, tree, {}, limits);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The changes from directory `before` to directory `after` (neither needs to be a git repository), in the same
 * shape as {@link collectChanges}: for a task that ran in a copy, or in place against a snapshot. Each directory is
 * staged into a throwaway object store and the two trees are diffed by git. `git diff --no-index` would avoid the
 * store, but its paths carry the directory names (`a/../after/x`), an added file gets `b/` on both sides and rename
 * headers keep the prefixes, so its output does not `git apply`. A `.gitignore` inside the directories is honoured
 * and `.git` is never included.
 */
export async function diffDirectories(
  before: string,
  after: string,
  ctx: GitContext,
  opts: DiffLimits & {
    /**
     * Paths (relative, `/`-separated) left out on both sides: the entries `snapshotCopy` dropped or rewrote
     * (`SnapshotResult.altered`), which differ between a source and its copy by design, not by the task.
     */
    exclude?: readonly string[];
  } = {},
): Promise<Changes> {
  const [from, to] = await Promise.all([realDirectory(before), realDirectory(after)]);
  const scratch = await mkdtemp(join(tmpdir(), 'a2a-dirdiff-'));
  try {
    const gitDir = join(scratch, 'objects.git');
    // No template: nothing from the user's init.templateDir (hooks and all) in a store only we use.
    await runGit(ctx, scratch, ['init', '--quiet', '--bare', '--template=', gitDir]);
    if (opts.exclude && opts.exclude.length > 0) {
      await mkdir(join(gitDir, 'info'), { recursive: true });
      await writeFile(join(gitDir, 'info', 'exclude'), opts.exclude.map(excludePattern).join('\n') + '\n');
    }
    const treeOf = async (dir: string, name: string): Promise<string> => {
      const env = { GIT_DIR: gitDir, GIT_WORK_TREE: dir, GIT_INDEX_FILE: join(scratch, `${name}.index`) };
      await runGit(ctx, dir, ['add', '-A'], { env });
      return (await runGit(ctx, dir, ['write-tree'], { env })).stdout.trim();
    };
    const fromTree = await treeOf(from, 'before');
    const toTree = await treeOf(to, 'after');
    return await diffTrees(ctx, scratch, fromTree, toTree, { GIT_DIR: gitDir }, opts);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Copies the worktree's index to `to`, keeping its modification time (rounded down): git trusts a cached entry
 * only when the file's mtime is older than the index file's ("racy git"), so a copy stamped now would make a file
 * edited in the same second as the checkout, at the same size, look unchanged. An older stamp only makes git
 * re-read more files. False when there is no index to copy.
 */
async function seedIndex(from: string, to: string): Promise<boolean> {
  try {
    const { mtimeNs } = await stat(from, { bigint: true });
    await copyFile(from, to);
    const seconds = Number((mtimeNs - 1000n) / 1000n) / 1e6;
    await utimes(to, seconds, seconds);
    return true;
  } catch {
    await rm(to, { force: true });
    return false;
  }
}

/** An exclude pattern matching exactly one path from the top: anchored, glob characters escaped. */
function excludePattern(path: string): string {
  return '/' + path.replace(/^\/+/, '').replace(/[\\*?[\]!# ]/g, (c) => `\\${c}`);
}

async function realDirectory(dir: string): Promise<string> {
  const real = await realpath(dir).catch(() => undefined);
  if (real === undefined || !(await stat(real)).isDirectory()) {
    throw new WorkspaceError('invalid_path', `${dir} is not a directory`);
  }
  return real;
}

/** Diffs two tree-ishes: the file list, the readable diff and, only when a file is binary, the applyable one. */
async function diffTrees(
  ctx: GitContext,
  cwd: string,
  from: string,
  to: string,
  env: Record<string, string>,
  limits: DiffLimits,
): Promise<Changes> {
  const maxOutputBytes = limits.maxDiffBytes ?? DEFAULT_MAX_DIFF_BYTES;
  const diff = (extra: readonly string[]): Promise<string> =>
    runGit(ctx, cwd, [...DIFF_CONFIG, 'diff', ...DIFF_FLAGS, ...extra, from, to, '--'], {
      env,
      maxOutputBytes,
    }).then((out) => out.stdout);
  const [nameStatus, numstat, text] = await Promise.all([
    diff(['--name-status', '-z']),
    diff(['--numstat', '-z']),
    diff([]),
  ]);
  const files = mergeFileLists(parseNameStatus(nameStatus), parseNumstat(numstat));
  const applyableDiff = files.some((f) => f.binary) ? await diff(['--binary', '--full-index']) : text;
  return { diff: text, applyableDiff, files };
}

interface StatusEntry {
  status: ChangedFile['status'];
  path: string;
  oldPath?: string;
}

/** Parses `git diff --name-status -z`: `M\0path\0`, or `R087\0old\0new\0` for a rename. */
export function parseNameStatus(output: string): StatusEntry[] {
  const tokens = output.split('\0');
  const entries: StatusEntry[] = [];
  for (let i = 0; i < tokens.length;) {
    const code = tokens[i] ?? '';
    if (code === '') break;
    if (code.startsWith('R') || code.startsWith('C')) {
      const oldPath = tokens[i + 1] ?? '';
      const path = tokens[i + 2] ?? '';
      entries.push(code.startsWith('R') ? { status: 'renamed', path, oldPath } : { status: 'added', path });
      i += 3;
    } else {
      const path = tokens[i + 1] ?? '';
      entries.push({ status: code === 'A' ? 'added' : code === 'D' ? 'deleted' : 'modified', path });
      i += 2;
    }
  }
  return entries;
}

interface CountEntry {
  path: string;
  added: number;
  removed: number;
  binary: boolean;
}

/** Parses `git diff --numstat -z`: `3\t1\tpath\0`, `-\t-\tpath\0` for binary, `3\t1\t\0old\0new\0` for a rename. */
export function parseNumstat(output: string): CountEntry[] {
  const tokens = output.split('\0');
  const entries: CountEntry[] = [];
  for (let i = 0; i < tokens.length;) {
    const token = tokens[i] ?? '';
    if (token === '') break;
    const [added = '', removed = '', ...rest] = token.split('\t');
    let path = rest.join('\t');
    i += 1;
    if (path === '') {
      path = tokens[i + 1] ?? '';
      i += 2;
    }
    const binary = added === '-' && removed === '-';
    entries.push({ path, added: binary ? 0 : Number(added), removed: binary ? 0 : Number(removed), binary });
  }
  return entries;
}

function mergeFileLists(statuses: readonly StatusEntry[], counts: readonly CountEntry[]): ChangedFile[] {
  const byPath = new Map(counts.map((c) => [c.path, c]));
  return statuses.map((s) => {
    const count = byPath.get(s.path);
    const file: ChangedFile = {
      path: s.path,
      status: s.status,
      added: count?.added ?? 0,
      removed: count?.removed ?? 0,
      binary: count?.binary ?? false,
    };
    if (s.oldPath !== undefined) file.oldPath = s.oldPath;
    return file;
  });
}
