/** Short, single-line descriptions of tool calls and tool results, with workspace paths shown relative. */
import { asRecord, str, type JsonObject } from './json.js';
import { patchOperations, relativizeText } from './paths.js';

/** Longest tool-call or tool-result summary, in characters. */
export const SUMMARY_MAX = 120;

/** Collapses whitespace to single spaces and cuts to `max` characters, marking the cut with `…`. */
export function oneLine(text: string, max = SUMMARY_MAX): string {
  // Bound the work on a huge output; whitespace runs collapse, so a generous prefix still fills `max`.
  const flat = text
    .slice(0, max * 20)
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// `/bin/bash -lc '<script>'` (Codex wraps every command so): the script is what a person wants to read.
const SHELL_WRAPPER = /^(?:\S*\/)?(?:ba|z|da)?sh\s+-l?c\s+(['"])([\s\S]*)\1$/;

/** A shell command as a person would type it: the `bash -lc '…'` wrapper removed, argv arrays joined. */
export function commandText(command: unknown): string | undefined {
  if (Array.isArray(command)) {
    const argv = command.filter((part): part is string => typeof part === 'string');
    const [shell, flag, script] = argv;
    if (argv.length === 3 && script && /sh$/.test(shell ?? '') && /^-l?c$/.test(flag ?? '')) return script;
    return argv.join(' ');
  }
  const text = str(command);
  if (text === undefined) return undefined;
  return SHELL_WRAPPER.exec(text.trim())?.[2] ?? text;
}

const PATH_KEYS = [
  'file_path',
  'filePath',
  'path',
  'notebook_path',
  'absolute_path',
  'file',
  'filename',
  'target_file',
];
const TEXT_KEYS = ['url', 'description', 'prompt', 'skill', 'title'];

/**
 * A one-line description of a tool call's arguments: the command for shell tools, the path for file tools, the
 * pattern or query for search tools, the files for patches; otherwise the first short text argument or compact
 * JSON. The tool name is not repeated (the event carries it), paths under `cwd` are shown relative, and the text is
 * cut to {@link SUMMARY_MAX}.
 */
export function summarizeToolInput(input: unknown, cwd: string | undefined): string {
  const args = asRecord(input);
  if (!args) return oneLine(relativizeText(str(input) ?? '', cwd));
  return oneLine(relativizeText(describeArgs(args), cwd));
}

function describeArgs(args: JsonObject): string {
  const command = commandText(args.command ?? args.cmd);
  const path = PATH_KEYS.map((key) => str(args[key])).find(Boolean);
  const search = str(args.pattern) ?? str(args.query);
  if (search) return path ? `${search} in ${path}` : search;
  // A one-word `command` beside a path is an editor sub-command (`create`, `str_replace`), not a shell line.
  if (path) return command && /^\w+$/.test(command) ? `${command} ${path}` : (command ?? path);
  if (command !== undefined) return command;
  for (const key of ['patch', 'input']) {
    const ops = patchOperations(str(args[key]) ?? '');
    if (ops.length > 0) return ops.map((op) => `${op.kind} ${op.path}`).join(', ');
  }
  for (const key of TEXT_KEYS) {
    const text = str(args[key]);
    if (text) return text;
  }
  const firstText = Object.values(args).find((v): v is string => typeof v === 'string' && v.trim() !== '');
  if (firstText !== undefined) return firstText;
  const json = JSON.stringify(args);
  return json === '{}' ? '' : json;
}

/** A one-line description of a tool's output (string, or Anthropic-style content blocks), paths relative. */
export function summarizeToolOutput(output: unknown, cwd: string | undefined): string {
  return oneLine(relativizeText(contentText(output), cwd));
}

/** Text from a string or an array of `{type:'text', text}` blocks; other shapes give ''. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((block) => str(asRecord(block)?.text) ?? '')
    .filter((text) => text !== '')
    .join('\n');
}
