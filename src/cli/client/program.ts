/**
 * The client commands of `a2a-gateway`: talk to a gateway (or any A2A server) through the official SDK client.
 * Loaded only for them; `serve`, `doctor` and `keys` live in ../server-commands.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../../version.js';
import { bashCompletion, zshCompletion } from './completion.js';
import { CommandContext, type GlobalFlags } from './context.js';
import { CliError, toCliError, usageError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { FollowFlags } from './send.js';
import type { SendFlags } from './send-input.js';
import { defaultUrl } from './target.js';
import type { ListFlags } from './tasks.js';
import type { ImproveFlags } from './improve.js';

// Each command's module (and with it the SDK client) loads when the command runs, not for --help or a typo.
const commands = {
  send: () => import('./send.js'),
  tasks: () => import('./tasks.js'),
  improve: () => import('./improve.js'),
  card: () => import('./card.js'),
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const EXIT_HELP = `
Exit codes: 0 completed, 1 failed, 2 bad usage or input (unknown skill, a field the gateway refused),
3 canceled, 4 refused or rejected (busy, skill not allowed), 5 waiting for an answer nobody gave,
6 gateway unreachable, 7 no key or a wrong one, 130 interrupted with the task left running.
Environment: A2A_GATEWAY_URL (else http://HOST:PORT of the local gateway, 127.0.0.1:8000), A2A_API_KEY.`;

function followOptions(cmd: Command): Command {
  return cmd
    .option('--no-stream', 'block until the task stops instead of streaming progress')
    .option('--answer <text>', "answer to the task's next question (repeatable, used in order)", collect)
    .option('--no-interactive', 'never ask: a question leaves the task waiting (exit 5)');
}

/** Builds the program; `run` receives each action so errors and exit codes are handled in one place. */
export function buildProgram(
  run: (action: (ctx: CommandContext) => Promise<number>, cmd: Command) => Promise<void>,
): Command {
  const program = new Command('a2a-gateway')
    .description('Hand A2A coding tasks to the coding-agent CLIs on a machine, and follow them.')
    .version(VERSION, '-v, --version')
    .addOption(
      new Option('--url <url>', 'the gateway (or any A2A server)')
        .env('A2A_GATEWAY_URL')
        .default(defaultUrl(process.env)),
    )
    .addOption(new Option('--api-key <key>', 'API key').env('A2A_API_KEY'))
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .option('--color', 'colour even when not on a terminal')
    .option('--no-color', 'no colour')
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError(true)
    // Inherited by the subcommands added below: usage errors come back here as exceptions (exit 2).
    .exitOverride();

  followOptions(
    program
      .command('send')
      .description('send a task to a skill and follow it to the end')
      .argument('[text...]', "the task in words (fills the skill's main field)")
      .requiredOption('-s, --skill <skill>', 'the skill (see: a2a-gateway skills)')
      .option('-w, --workdir <dir>', 'the directory to work in (sent as an absolute path)')
      .option('-i, --input <json|@file>', 'the skill input: a JSON object, @file, or @- for stdin')
      .option('-b, --backend <name>', 'run on this backend (where the gateway allows it)')
      .option('--apply', 'apply the change to the workdir when it completes (clean tree only)')
      .option('--commit', 'keep the change as a commit on the task branch')
      .option('-c, --context <id>', 'continue this conversation (context id)')
      .option('-t, --timeout <seconds>', "the task's deadline"),
  ).action((text: string[], flags: SendFlags & FollowFlags, cmd: Command) =>
    run(async (ctx) => (await commands.send()).sendCommand(ctx, text, flags), cmd),
  );

  program
    .command('improve')
    .description(
      'review a repository, fix each finding in its own verified task (committed on a task branch), report; exit 0 only when every fix verified',
    )
    .requiredOption(
      '--test-command <command>',
      'the tests the gateway runs before and after each fix (no shell)',
    )
    .option('-w, --workdir <dir>', 'the repository (default: the current directory)')
    .option('--focus <text>', 'what the review pays attention to')
    .option('--max <n>', 'fix at most this many findings (most severe first)')
    .option('--severity <level>', 'only findings at least this severe: critical, major, minor or nit')
    .option('--fix-attempts <n>', 'extra agent turns when the tests still fail (default 1)')
    .option('--push', 'push each verified fix branch to the remote')
    .option('--pull-request', 'open a pull request for each verified fix (gh on the gateway machine)')
    .option('--remote <name>', 'the remote to push to (default origin)')
    .option('-t, --timeout <seconds>', "each task's deadline")
    .action((flags: ImproveFlags, cmd: Command) =>
      run(async (ctx) => (await commands.improve()).improveCommand(ctx, flags), cmd),
    );

  const tasks = program.command('tasks').description('list, show, follow, answer and cancel tasks');
  tasks
    .command('list')
    .description('tasks, newest first')
    .option('--state <state>', 'only tasks in this state')
    .option('--skill <skill>', 'only tasks of this skill')
    .option('--context <id>', 'only tasks of this conversation')
    .option('-n, --limit <n>', 'at most this many', '50')
    .action((flags: ListFlags, cmd: Command) =>
      run(async (ctx) => (await commands.tasks()).listCommand(ctx, flags), cmd),
    );
  tasks
    .command('get')
    .description("a task's state, summary and diff")
    .argument('<id>')
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(async (ctx) => (await commands.tasks()).getCommand(ctx, id), cmd),
    );
  tasks
    .command('cancel')
    .description('cancel a task')
    .argument('<id>')
    .action((id: string, _flags: unknown, cmd: Command) =>
      run(async (ctx) => (await commands.tasks()).cancelCommand(ctx, id), cmd),
    );
  followOptions(
    tasks
      .command('watch')
      .description('reattach to a task: replay its events, then follow it live')
      .argument('<id>')
      .option('--since <event-id>', 'replay only the events after this one'),
  ).action((id: string, flags: FollowFlags & { since?: string }, cmd: Command) =>
    run(async (ctx) => (await commands.tasks()).watchCommand(ctx, id, flags), cmd),
  );
  followOptions(
    tasks
      .command('reply')
      .description('answer the question a task waits on, then follow it')
      .argument('<id>')
      .argument('<text...>', 'the answer (allow, deny, deny: why, an option, or any words)'),
  ).action((id: string, text: string[], flags: FollowFlags, cmd: Command) =>
    run(async (ctx) => (await commands.tasks()).replyCommand(ctx, id, text, flags), cmd),
  );

  program
    .command('card')
    .description('the agent card of the gateway, or of the A2A server at URL')
    .argument('[url]')
    .action((url: string | undefined, _flags: unknown, cmd: Command) =>
      run(async (ctx) => (await commands.card()).cardCommand(ctx, url), cmd),
    );
  program
    .command('skills')
    .description('the skills the gateway offers, with their backends and input fields')
    .option('--ids', 'only the skill ids, one a line')
    .action((flags: { ids?: boolean }, cmd: Command) =>
      run(async (ctx) => (await commands.card()).skillsCommand(ctx, flags), cmd),
    );
  program
    .command('completion')
    .description('print a shell completion script: source <(a2a-gateway completion bash)')
    .argument('[shell]', 'bash or zsh', 'bash')
    .action((shell: string, _flags: unknown, cmd: Command) =>
      run((ctx) => {
        if (shell !== 'bash' && shell !== 'zsh')
          return Promise.reject(usageError(`completion: expected bash or zsh, got "${shell}"`, 'shell'));
        ctx.out.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program));
        return Promise.resolve(EXIT.ok);
      }, cmd),
    );

  // The gateway's own commands, listed for help; main.ts runs them without loading this module.
  for (const [name, description] of [
    ['serve', 'run the gateway (serve --help for its options)'],
    ['doctor', 'check the backends (CLIs) the gateway would run'],
    ['keys', 'make API keys: keys new [--id NAME] [--scopes a,b] | keys hash KEY'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async (_flags: unknown, cmd: Command) => {
        const { runServerCommand } = await import('../server-commands.js');
        await runServerCommand([name, ...cmd.args]);
      });
  }
  return program;
}

/** Runs a client command line; resolves with the exit code. */
export async function runClient(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  let json = false;
  const program = buildProgram(async (action, cmd) => {
    const flags = cmd.optsWithGlobals<GlobalFlags>();
    json = Boolean(flags.json);
    const ctx = new CommandContext(flags);
    try {
      code = await action(ctx);
    } catch (err) {
      const e = toCliError(err, flags.url);
      report(e, ctx, err);
      code = e.exitCode;
    }
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.ok;
      return EXIT.usage;
    }
    const e = err instanceof CliError ? err : toCliError(err, '');
    process.stderr.write(`a2a-gateway: ${e.message}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
    return e.exitCode;
  }
  return code;
}

function report(e: CliError, ctx: CommandContext, original: unknown): void {
  const { out } = ctx;
  out.stderr.write(`${out.ce.red('a2a-gateway:')} ${e.message}\n`);
  if (process.env.A2A_DEBUG && original instanceof Error && original.stack)
    out.stderr.write(`${original.stack}\n`);
  if (out.json) {
    out.data({
      error: {
        code: e.code,
        message: e.message,
        exitCode: e.exitCode,
        ...(e.field ? { field: e.field } : {}),
      },
    });
  }
}
