import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { resolveCommand } from './which.js';

/** True when `path` is `dir` or inside it (both absolute and normalized). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The real path of `path`, or `path` itself when it does not exist (yet). */
export function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The workspace a run in `cwd` works on: the tree directly under one of `parents` (`DATA_DIR/worktrees` ...) that
 * `cwd` is in, so a run started in a subdirectory still gets its whole tree; else `cwd` itself.
 */
export function workspaceOf(cwd: string, parents: readonly string[]): string {
  for (const parent of parents.map(realOr)) {
    if (!isInside(cwd, parent) || cwd === parent) continue;
    const first = cwd.slice(parent.length + 1).split('/')[0];
    if (first) return `${parent}/${first}`;
  }
  return cwd;
}

/**
 * The directory a program needs to run, for a read-only bind when the sandbox hides where it lives: for a file in
 * a `node_modules` tree, the outermost `node_modules` (the package's hoisted dependencies are there too); for a
 * program in a `bin` directory, the prefix above it (`lib/`, `share/` beside `bin/`); otherwise its directory.
 */
export function installDirOf(program: string): string {
  const real = realOr(program);
  const parts = real.split(sep);
  const nm = parts.indexOf('node_modules');
  if (nm > 0) return parts.slice(0, nm + 1).join(sep);
  const dir = dirname(real);
  return dir.endsWith(`${sep}bin`) && dirname(dir) !== sep ? dirname(dir) : dir;
}

/** The interpreter a script names on its `#!` line (`#!/usr/bin/env node` gives `node`), if any. */
export function interpreterOf(program: string): string | undefined {
  let head: string;
  try {
    // Only the first line: the program may be a 250 MB binary.
    const fd = openSync(program, 'r');
    try {
      const buf = Buffer.alloc(256);
      head = buf.toString('latin1', 0, readSync(fd, buf, 0, 256, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith('#!')) return undefined;
  const words = head.slice(2).split('\n')[0]?.trim().split(/\s+/) ?? [];
  const first = words[0];
  if (!first) return undefined;
  if (first.endsWith('/env')) return words.slice(1).find((w) => !w.startsWith('-'));
  return first;
}

/**
 * Everything a command needs to start: the command itself, its script interpreter, and the usual tools a coding
 * CLI runs (node, git, sh), each resolved on the child's PATH, with the directory to bind when it is hidden.
 */
export async function toolPaths(
  command: string,
  pathEnv: string | undefined,
): Promise<Array<{ name: string; path: string; dir: string }>> {
  const found: Array<{ name: string; path: string; dir: string }> = [];
  const add = async (name: string, program: string | undefined): Promise<void> => {
    if (!program) return;
    const path = isAbsolute(program) ? program : await resolveCommand(program, pathEnv);
    if (!path || found.some((f) => f.path === path)) return;
    found.push({ name, path, dir: installDirOf(path) });
  };
  await add('command', command);
  const commandPath = found[0]?.path;
  if (commandPath) await add('interpreter', interpreterOf(commandPath));
  for (const tool of ['node', 'git', 'sh']) await add(tool, tool);
  return found;
}

/** What a git worktree needs of its repository: the common dir (read) and the parts a commit writes. */
export interface WorktreeGit {
  /** The repository's `.git` directory, shared by all its worktrees. */
  commonDir: string;
  /** Writable: this worktree's own admin dir (`worktrees/<name>`: HEAD, index, logs), the object store, and the
   *  directories of its branch's ref and reflog (other branches, the caller's included, stay read-only). */
  writable: string[];
  /** Read-only over a writable parent: the packs, so what the repository already holds cannot be rewritten. */
  readOnly: string[];
}

/**
 * For a workspace that is a linked git worktree (its `.git` is a file naming the admin dir), the repository parts
 * it needs; undefined for any other directory. Creates the branch's reflog directory when missing, so the bind
 * has a source.
 */
export async function worktreeGit(workspace: string): Promise<WorktreeGit | undefined> {
  const dotGit = join(workspace, '.git');
  let text: string;
  try {
    if (!statSync(dotGit).isFile()) return undefined;
    text = readFileSync(dotGit, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(text);
  if (!match?.[1]) return undefined;
  const gitDir = realOr(resolve(workspace, match[1]));
  let commonDir: string;
  try {
    commonDir = realOr(resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()));
  } catch {
    return undefined;
  }
  const writable = [gitDir, join(commonDir, 'objects')];
  const readOnly = [join(commonDir, 'objects', 'pack'), join(commonDir, 'objects', 'info')].filter((p) =>
    existsSync(p),
  );
  const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
  const ref = /^ref:\s*(refs\/heads\/\S+)$/.exec(head)?.[1];
  if (ref && !ref.split('/').includes('..')) {
    const refDir = dirname(join(commonDir, ref));
    const logDir = dirname(join(commonDir, 'logs', ref));
    await mkdir(refDir, { recursive: true });
    await mkdir(logDir, { recursive: true });
    writable.push(refDir, logDir);
  }
  return { commonDir, writable, readOnly };
}
