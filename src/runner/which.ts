import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/**
 * Finds the executable that spawning `command` would run, so a missing CLI fails fast with "command not found"
 * instead of a spawn error. Returns its path, or undefined when there is none.
 *
 * - A command with a `/` is a path, taken relative to `cwd` (the child's working directory, as spawn does;
 *   default the gateway's own), and must be an executable regular file (symlinks followed).
 * - A bare name is looked up in each entry of `pathEnv` in order. Empty and relative entries are skipped: they
 *   would search the task's working directory, which the agent controls.
 *
 * Runs on every task (the command, then the tools the sandbox may have to bind), so each candidate costs one
 * `stat` and no exception: the asynchronous calls cost ~0.1 ms each on the event loop, mostly for building the
 * ENOENT error of every PATH entry that does not hold the command, where a `stat` of a local directory entry takes
 * microseconds. Nothing is cached: a CLI installed or removed between two tasks is seen by the next one.
 */
export function resolveCommand(
  command: string,
  pathEnv: string | undefined,
  cwd: string = process.cwd(),
): Promise<string | undefined> {
  return Promise.resolve(resolveCommandNow(command, pathEnv, cwd));
}

function resolveCommandNow(command: string, pathEnv: string | undefined, cwd: string): string | undefined {
  if (command === '' || command.includes('\0')) return undefined;
  if (command.includes('/')) {
    const candidate = resolve(cwd, command);
    return isExecutableFile(candidate) ? candidate : undefined;
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    // ENOENT and ENOTDIR (the usual answers along PATH) come back as undefined instead of a thrown error.
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
