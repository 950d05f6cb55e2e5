import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * Finds the executable that spawning `command` would run, so a missing CLI fails fast with "command not found"
 * instead of a spawn error. Returns its path, or undefined when there is none.
 *
 * - A command with a `/` is a path, taken relative to `cwd` (the child's working directory, as spawn does;
 *   default the gateway's own), and must be an executable regular file (symlinks followed).
 * - A bare name is looked up in each entry of `pathEnv` in order. Empty and relative entries are skipped: they
 *   would search the task's working directory, which the agent controls.
 */
export async function resolveCommand(
  command: string,
  pathEnv: string | undefined,
  cwd: string = process.cwd(),
): Promise<string | undefined> {
  if (command === '' || command.includes('\0')) return undefined;
  if (command.includes('/')) {
    const candidate = resolve(cwd, command);
    return (await isExecutableFile(candidate)) ? candidate : undefined;
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
