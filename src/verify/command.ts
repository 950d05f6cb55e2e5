/**
 * A test command as the caller wrote it ("npm test", "pytest -q tests/", "CI=1 node --test"), parsed to an argv the
 * gateway runs without a shell. Quotes and backslashes group words as a shell would; anything that needs a shell to
 * mean what it says (pipes, `&&`, `;`, redirects, command substitution, variables, globs that a shell would expand)
 * is refused with an error naming `test_command`, rather than run with a different meaning.
 */

/** A command the gateway can run: the argv, and `NAME=value` words written before it. */
export interface TestCommand {
  /** The command as the caller wrote it, for reports. */
  text: string;
  argv: readonly string[];
  /** Leading `NAME=value` assignments, set in the child's environment. */
  env: Readonly<Record<string, string>>;
}

/** A test command the gateway will not run; the message names the field and what to write instead. */
export class TestCommandError extends Error {
  readonly field = 'test_command';
  constructor(
    /** What is wrong, without the field name. */
    readonly detail: string,
  ) {
    super(`test_command: ${detail}`);
    this.name = 'TestCommandError';
  }
}

const SHELL_OPERATORS: ReadonlyArray<[string, string]> = [
  ['&&', 'a command list (&&)'],
  ['||', 'a command list (||)'],
  ['|', 'a pipe (|)'],
  [';', 'a command separator (;)'],
  ['&', 'a background job (&)'],
  ['>', 'a redirect (>)'],
  ['<', 'a redirect (<)'],
  ['`', 'command substitution (backticks)'],
  ['$(', 'command substitution ($(...))'],
  ['${', 'a variable (${...})'],
  ['$', 'a variable ($NAME)'],
  ['(', 'a subshell (parentheses)'],
  [')', 'a subshell (parentheses)'],
  ['\n', 'a second line'],
];

const HINT =
  'the gateway runs it without a shell; put the steps in a script or a package.json script and name that (for example "npm test")';

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * Parses `text` to a {@link TestCommand}. Single quotes keep everything literally; double quotes keep everything
 * but `\"` and `\\`; a backslash outside quotes escapes the next character. Shell operators outside single quotes
 * (and `$` or backticks inside double quotes, where a shell would expand them) throw a {@link TestCommandError}.
 */
export function parseTestCommand(text: string): TestCommand {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const refuse = (what: string): never => {
    throw new TestCommandError(`${what} is shell syntax in ${JSON.stringify(text)}: ${HINT}`);
  };
  const operatorAt = (at: number): string | undefined =>
    SHELL_OPERATORS.find(([op]) => text.startsWith(op, at))?.[1];

  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new TestCommandError(`an unclosed single quote in ${JSON.stringify(text)}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= text.length)
          throw new TestCommandError(`an unclosed double quote in ${JSON.stringify(text)}`);
        const d = text[i] as string;
        if (d === '"') break;
        if (d === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) {
          word += text[i + 1];
          i += 2;
          continue;
        }
        if (d === '$' || d === '`') refuse(operatorAt(i) ?? 'an expansion');
        word += d;
        i++;
      }
      inWord = true;
      i++;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= text.length) throw new TestCommandError(`a trailing backslash in ${JSON.stringify(text)}`);
      word += text[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    const op = operatorAt(i);
    if (op) refuse(op);
    if (c === '~' && !inWord) refuse('a home directory (~)');
    if (c === '*' || c === '?' || c === '[') refuse(`a glob (${c})`);
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);

  const env: Record<string, string> = {};
  let first = 0;
  for (; first < words.length; first++) {
    const w = words[first] as string;
    if (!ASSIGNMENT.test(w)) break;
    const eq = w.indexOf('=');
    env[w.slice(0, eq)] = w.slice(eq + 1);
  }
  const argv = words.slice(first);
  if (argv.length === 0) {
    throw new TestCommandError(
      `${JSON.stringify(text)} names no command to run (expected, for example, "npm test")`,
    );
  }
  return { text, argv, env };
}
