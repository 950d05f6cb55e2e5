/**
 * File changes inferred from a tool call, for CLIs that do not report them in structured form. A hint for live
 * progress only: the workspace diff stays the record of what changed.
 */
import type { AgentEvent, FileChangeKind } from '../types.js';
import { asRecord, str } from './json.js';
import { patchOperations, relativePath } from './paths.js';

type FileChange = Extract<AgentEvent, { type: 'file_change' }>;

const WRITE_TOOLS = /^(write|write_file|create|create_file)$/i;
const EDIT_TOOLS = /^(edit|multi_?edit|replace|edit_file|str_replace_editor|str_replace_based_edit_tool)$/i;
const PATCH_TOOLS = /^(apply_?patch|patch)$/i;
const DELETE_TOOLS = /^(delete|delete_file|remove_file)$/i;

/** One `file_change` event, with the path relative to `cwd` when it lies inside it. */
export function fileChange(path: string, kind: FileChangeKind, cwd: string | undefined): FileChange {
  return { type: 'file_change', path: relativePath(path, cwd), kind };
}

/** The files an `apply_patch` patch adds, updates or deletes. */
export function patchFileChanges(patch: string, cwd: string | undefined): FileChange[] {
  return patchOperations(patch).map((op) => fileChange(op.path, op.kind, cwd));
}

/**
 * The file changes a successful call of a file tool made, judged from its name and arguments. A write tool's
 * result text tells an overwrite ("overwrote", "updated") from a new file; without it, a write counts as an add.
 */
export function inferFileChanges(
  toolName: string,
  input: unknown,
  resultText: string,
  cwd: string | undefined,
): FileChange[] {
  const args = asRecord(input);
  if (!args) return [];
  if (PATCH_TOOLS.test(toolName)) {
    const patch = str(args.patch) ?? str(args.input) ?? '';
    return patchFileChanges(patch, cwd);
  }
  const path = str(args.file_path) ?? str(args.filePath) ?? str(args.path) ?? str(args.absolute_path);
  if (!path) return [];
  if (WRITE_TOOLS.test(toolName)) {
    return [fileChange(path, /overwr|updated/i.test(resultText) ? 'update' : 'add', cwd)];
  }
  if (EDIT_TOOLS.test(toolName)) {
    // Anthropic's text-editor tool creates files through the same tool as edits.
    return [fileChange(path, str(args.command) === 'create' ? 'add' : 'update', cwd)];
  }
  if (DELETE_TOOLS.test(toolName)) return [fileChange(path, 'delete', cwd)];
  return [];
}
