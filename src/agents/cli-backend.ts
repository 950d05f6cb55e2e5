import { homedir } from 'node:os';
import { buildChildEnv } from '../runner/env.js';
import { resolveCommand } from '../runner/which.js';
import type { ChildInput, ProcessRunner } from '../runner/types.js';
import { CliSetupError } from './cli/seed.js';
import type { CliAdapter, CliRunPlan, ControlProtocol } from './cli/types.js';
import type { ControlMessage } from './parsers/claude-control.js';
import { parseJsonObject } from './parsers/json.js';
import { RunAbort, type Backend, type BackendOutcome, type BackendRunContext } from './types.js';
import { spawnFailure } from './outcome.js';

export interface CliBackendOptions {
  name: string;
  adapter: CliAdapter;
  command: string;
  extraArgs: readonly string[];
  env: Readonly<Record<string, string>>;
  passEnv: readonly string[];
  model?: string;
  effort?: string;
  /** The gateway's environment (without its own secrets), filtered through the allowlist for each child. */
  baseEnv: NodeJS.ProcessEnv;
  killGraceMs: number;
  run: ProcessRunner;
  /** Where the user's own CLI config lives (default: the home of the user the gateway runs as). */
  userHome?: string;
}

/**
 * A coding-agent CLI run headless: the adapter plans the command line and config home, the runner runs it in
 * its own process group, the adapter's parser turns its output into agent events and decides the outcome.
 */
export class CliBackend implements Backend {
  readonly name: string;
  readonly type: string;
  readonly resume: CliAdapter['resume'];

  constructor(private readonly opts: CliBackendOptions) {
    this.name = opts.name;
    this.type = opts.adapter.type;
    this.resume = opts.adapter.resume;
  }

  get adapter(): CliAdapter {
    return this.opts.adapter;
  }

  get command(): string {
    return this.opts.command;
  }

  /** Resolves the command on PATH; undefined when it is not installed. */
  async unavailable(skill: string): Promise<BackendOutcome | undefined> {
    return (await this.locate()) === undefined ? this.notInstalled(skill) : undefined;
  }

  locate(): Promise<string | undefined> {
    return resolveCommand(this.opts.command, this.opts.baseEnv.PATH);
  }

  /** The child's environment: the allowlist, the CLI's own credentials and settings, and the per-context home. */
  private childEnv(home: string, plan: CliRunPlan, traceparent: string | undefined): Record<string, string> {
    return buildChildEnv({
      base: this.opts.baseEnv,
      allow: [...this.opts.adapter.passEnv, ...(plan.passEnv ?? []), ...this.opts.passEnv],
      set: { ...plan.env, ...(traceparent ? { TRACEPARENT: traceparent } : {}), ...this.opts.env },
      home,
    });
  }

  private notInstalled(skill: string): BackendOutcome {
    const { adapter } = this.opts;
    return {
      status: 'failed',
      summary: '',
      errorKind: 'not_installed',
      reason:
        `backend "${this.name}" (${adapter.product}) is not installed: command "${this.opts.command}" was not found on PATH. ` +
        `Install it, set ${adapter.commandSetting} to its path, or map skill ${skill} to another backend in the config file.`,
    };
  }

  private authHint(reason: string | undefined): string {
    const { adapter } = this.opts;
    const vars =
      adapter.credentialEnv.length > 0
        ? `set ${adapter.credentialEnv.join(' or ')} in the gateway's environment`
        : '';
    const login = `log in with ${this.opts.command} as the user the gateway runs as`;
    return `backend "${this.name}" (${adapter.product}) is not authenticated with its model API${reason ? ` (${reason})` : ''}: ${[vars, login].filter(Boolean).join(', or ')}.`;
  }

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const { adapter } = this.opts;
    const { spec, signal, emit } = ctx;
    const resolved = await this.locate();
    if (!resolved) return this.notInstalled(spec.skill);
    const model = spec.model ?? this.opts.model;
    const effort = spec.effort ?? this.opts.effort;
    let plan: CliRunPlan;
    try {
      plan = await adapter.prepare({
        spec,
        home: ctx.home,
        userHome: this.opts.userHome ?? homedir(),
        firstTurn: ctx.firstTurn,
        env: this.opts.baseEnv,
        extraArgs: this.opts.extraArgs,
        ...(ctx.ask && adapter.control ? { interactive: true } : {}),
        ...(model ? { model } : {}),
        ...(effort ? { effort } : {}),
      });
    } catch (err) {
      if (err instanceof CliSetupError) {
        return {
          status: 'failed',
          summary: '',
          reason: `backend "${this.name}" (${adapter.product}): ${err.message}`,
        };
      }
      throw err;
    }
    const parser = adapter.parser({ cwd: spec.workdir });
    const ask = plan.interactive ? ctx.ask : undefined;
    // Our own reason to end the run early: a question that got no answer.
    const stop = new AbortController();
    const runSignal = ask ? AbortSignal.any([signal, stop.signal]) : signal;
    const channel =
      ask && adapter.control
        ? new ControlChannel(adapter.control, ask, runSignal, (reason) => stop.abort(reason))
        : undefined;
    const result = await this.opts.run(
      {
        argv: [resolved, ...plan.args],
        cwd: spec.workdir,
        env: this.childEnv(ctx.home, plan, spec.traceparent),
        signal: runSignal,
        graceMs: this.opts.killGraceMs,
        ...(plan.stdin !== undefined ? { stdin: plan.stdin } : {}),
        ...(channel ? { interactive: (input: ChildInput) => channel.open(input, spec.prompt) } : {}),
        onStdoutLine: (line) => {
          if (channel?.handle(line)) return;
          for (const event of parser.line(line)) emit(event);
          channel?.afterLine(line);
        },
        onStderrLine: (line) => emit({ type: 'log', stream: 'stderr', line }),
      },
      spec.taskId,
    );
    channel?.close();
    const failure = spawnFailure(this.name, this.opts.command, result);
    if (failure && !result.aborted) return failure;
    const reason: unknown = runSignal.reason;
    const outcome = parser.finish({
      exitCode: result.exitCode,
      signal: result.signal,
      canceled: result.aborted && !(reason instanceof RunAbort && reason.kind !== 'canceled'),
      timedOut: result.aborted && reason instanceof RunAbort && reason.kind !== 'canceled',
      stderrTail: result.stderr.slice(-2000),
    });
    if (result.aborted && reason instanceof RunAbort) {
      // The parser knows it was stopped; the words come from why we stopped it.
      return {
        ...outcome,
        status: reason.kind === 'canceled' ? 'canceled' : 'failed',
        reason: reason.message,
      };
    }
    if (outcome.status === 'failed' && outcome.errorKind === 'auth') {
      return { ...outcome, reason: this.authHint(outcome.reason) };
    }
    return outcome;
  }
}

/**
 * One run's control channel: the prompt goes in on stdin, each permission request or question the CLI prints is
 * put to the caller through `ask`, and the answer is written back. A question that cannot be answered (no answer in
 * time, the task stopping) ends the run with the reason `ask` gave.
 */
class ControlChannel {
  private input: ChildInput | undefined;
  /** Requests waiting for an answer, by request id; aborting one withdraws its question. */
  private readonly waiting = new Map<string, AbortController>();

  constructor(
    private readonly protocol: ControlProtocol,
    private readonly ask: NonNullable<BackendRunContext['ask']>,
    private readonly signal: AbortSignal,
    private readonly end: (reason: RunAbort) => void,
  ) {}

  open(input: ChildInput, prompt: string): void {
    this.input = input;
    input.write(this.protocol.opening(prompt));
  }

  /** True when the line was a control message (handled here, not output to parse). */
  handle(line: string): boolean {
    const event = parseJsonObject(line);
    const message = event && this.protocol.read(event);
    if (!message) return false;
    this.dispatch(message);
    return true;
  }

  /** Closes stdin after the line that ends the turn, so the CLI exits. */
  afterLine(line: string): void {
    const event = parseJsonObject(line);
    if (event && this.protocol.endsTurn(event)) this.input?.end();
  }

  close(): void {
    for (const pending of this.waiting.values()) pending.abort();
    this.waiting.clear();
    this.input?.end();
  }

  private dispatch(message: ControlMessage): void {
    switch (message.kind) {
      case 'cancel':
        this.waiting.get(message.requestId)?.abort();
        this.waiting.delete(message.requestId);
        return;
      case 'unsupported':
        this.input?.write(
          this.protocol.refuse(message.requestId, `the gateway does not handle ${message.subtype} requests`),
        );
        return;
      case 'can_use_tool': {
        const withdrawn = new AbortController();
        this.waiting.set(message.requestId, withdrawn);
        this.ask(message.question, AbortSignal.any([this.signal, withdrawn.signal])).then(
          (answer) => {
            this.waiting.delete(message.requestId);
            if (!withdrawn.signal.aborted) this.input?.write(this.protocol.respond(message, answer));
          },
          (err: unknown) => {
            this.waiting.delete(message.requestId);
            if (withdrawn.signal.aborted || this.signal.aborted) return;
            this.end(
              err instanceof RunAbort
                ? err
                : new RunAbort('timeout', `the question could not be answered: ${String(err)}`),
            );
          },
        );
        return;
      }
      default: {
        const never: never = message;
        return never;
      }
    }
  }
}
