/** Small helpers for building a CLI's argument list. */

/** `[flag, value]` when the value is set, else nothing: spread into an argument list. */
export function option(flag: string, value: string | undefined): string[] {
  return value === undefined || value === '' ? [] : [flag, value];
}

/**
 * `--flag=value` as one argument. For options whose value may start with `-` (a prompt): as two arguments, yargs
 * and clap would read such a value as another option.
 */
export function inlineOption(flag: string, value: string): string {
  return `${flag}=${value}`;
}
