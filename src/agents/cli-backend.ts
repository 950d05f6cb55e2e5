import { homedir } from 'node:os';
import { buildChildEnv } from '../runner/env.js';
import { resolveCommand } from '../runner/which.js';
import type { ProcessRunner } from '../runner/types.js';
import { CliSetupError } from './cli/seed.js';
import type { CliAdapter, CliRunPlan } from './cli/types.js';
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
  locate(): Promise<string | undefined> {
    return resolveCommand(this.opts.command, this.opts.baseEnv.PATH);
  }

  /** The child's environment: the allowlist, the CLI's own credentials and settings, and the per-context home. */
  private childEnv(home: string, plan: CliRunPlan): Record<string, string> {
    return buildChildEnv({
      base: this.opts.baseEnv,
      allow: [...this.opts.adapter.passEnv, ...(plan.passEnv ?? []), ...this.opts.passEnv],
      set: { ...plan.env, ...this.opts.env },
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
    const result = await this.opts.run(
      {
        argv: [resolved, ...plan.args],
        cwd: spec.workdir,
        env: this.childEnv(ctx.home, plan),
        signal,
        graceMs: this.opts.killGraceMs,
        ...(plan.stdin !== undefined ? { stdin: plan.stdin } : {}),
        onStdoutLine: (line) => {
          for (const event of parser.line(line)) emit(event);
        },
        onStderrLine: (line) => emit({ type: 'log', stream: 'stderr', line }),
      },
      spec.taskId,
    );
    const failure = spawnFailure(this.name, this.opts.command, result);
    if (failure && !result.aborted) return failure;
    const reason: unknown = signal.reason;
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
