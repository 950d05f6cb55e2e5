/** Paths as the CLIs print them (absolute), made readable, and the files a patch touches. */
import type { FileChangeKind } from '../types.js';

/** `path` relative to `cwd` when it lies inside it; otherwise unchanged. */
export function relativePath(path: string, cwd: string | undefined): string {
  if (!cwd) return path;
  const root = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** Every occurrence of `cwd/` in free text (a shell command, a result message) dropped. */
export function relativizeText(text: string, cwd: string | undefined): string {
  if (!cwd) return text;
  const root = cwd.endsWith('/') ? cwd : `${cwd}/`;
  return text.split(root).join('');
}

const PATCH_KINDS: Readonly<Record<string, FileChangeKind>> = {
  Add: 'add',
  Update: 'update',
  Delete: 'delete',
};

/** The files an `apply_patch`-style patch (`*** Add File: a.txt` headers) adds, updates or deletes. */
export function patchOperations(patch: string): { path: string; kind: FileChangeKind }[] {
  return [...patch.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)].flatMap((m) => {
    const kind = PATCH_KINDS[m[1] ?? ''];
    const path = m[2]?.trim();
    return kind && path ? [{ path, kind }] : [];
  });
}
