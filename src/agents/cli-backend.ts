import { buildChildEnv } from '../runner/env.js';
import type { ProcessRunner } from '../runner/types.js';
import { resolveCommand } from '../runner/which.js';
import { abortedOutcome, spawnFailure, tail } from './outcome.js';
import type { Backend, BackendOutcome, BackendRunContext, TaskSpec } from './types.js';

/** What differs between the coding-agent CLIs: how to call them and which settings select them. */
export interface CliAdapter {
  type: string;
  /** The product name people know, for messages. */
  product: string;
  /** The env setting that names the command (e.g. CLAUDE_COMMAND). */
  commandSetting: string;
  /** Arguments after the command, for one headless turn. */
  args(spec: TaskSpec, opts: { model?: string; effort?: string }): string[];
  /** Variables the CLI needs set (telemetry off, headless switches). */
  env(spec: TaskSpec): Record<string, string>;
  /** Names (or `PREFIX_*`) passed through from the gateway's environment: the CLI's own credentials. */
  passEnv: readonly string[];
}

export interface CliBackendOptions {
  name: string;
  adapter: CliAdapter;
  command: string;
  extraArgs: readonly string[];
  env: Readonly<Record<string, string>>;
  passEnv: readonly string[];
  model?: string;
  effort?: string;
  baseEnv: NodeJS.ProcessEnv;
  killGraceMs: number;
  /** Starts the child (the composition root records it in the process registry). */
  run: ProcessRunner;
}

/**
 * A coding-agent CLI run headless. Fails fast, naming the command and the setting to change, when the CLI is not
 * installed.
 */
export class CliBackend implements Backend {
  readonly name: string;
  readonly type: string;

  constructor(private readonly opts: CliBackendOptions) {
    this.name = opts.name;
    this.type = opts.adapter.type;
  }

  /** Resolves the command on PATH; undefined when it is not installed. */
  async locate(): Promise<string | undefined> {
    return resolveCommand(this.opts.command, this.childEnvBase().PATH);
  }

  private childEnvBase(): Record<string, string> {
    return buildChildEnv({
      base: this.opts.baseEnv,
      allow: ['HOME', ...this.opts.adapter.passEnv, ...this.opts.passEnv],
      set: { ...this.opts.env },
    });
  }

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const { adapter } = this.opts;
    const { spec, signal, emit } = ctx;
    const resolved = await this.locate();
    if (!resolved) {
      return {
        status: 'failed',
        summary: '',
        errorKind: 'not_installed',
        reason:
          `backend "${this.name}" (${adapter.product}) is not installed: command "${this.opts.command}" was not found on PATH. ` +
          `Install it, set ${adapter.commandSetting} to its path, or map skill ${spec.skill} to another backend in the config file.`,
      };
    }
    const model = spec.model ?? this.opts.model;
    const effort = spec.effort ?? this.opts.effort;
    const env = { ...this.childEnvBase(), ...adapter.env(spec) };
    const result = await this.opts.run(
      {
        argv: [
          resolved,
          ...adapter.args(spec, { ...(model ? { model } : {}), ...(effort ? { effort } : {}) }),
          ...this.opts.extraArgs,
        ],
        cwd: spec.workdir,
        env,
        signal,
        graceMs: this.opts.killGraceMs,
        onStdoutLine: (line) => {
          if (line.trim() !== '') emit({ type: 'log', stream: 'stdout', line });
        },
        onStderrLine: (line) => emit({ type: 'log', stream: 'stderr', line }),
      },
      spec.taskId,
    );
    if (result.aborted) return abortedOutcome(signal);
    const failure = spawnFailure(this.name, this.opts.command, result);
    if (failure) return failure;
    if (result.exitCode === 0) return { status: 'completed', summary: result.stdout.trim(), exitCode: 0 };
    return {
      status: 'failed',
      summary: '',
      reason: `backend "${this.name}" exited with code ${result.exitCode ?? result.signal}: ${tail(result.stderr || result.stdout)}`,
      exitCode: result.exitCode,
      signal: result.signal,
    };
  }
}

/** Headless command lines from the research (coding-cli-headless.md); each CLI gets its own adapter file later. */
export const CLI_ADAPTERS: Record<string, CliAdapter> = {
  claude: {
    type: 'claude',
    product: 'Claude Code',
    commandSetting: 'CLAUDE_COMMAND',
    args: (spec, o) => [
      '-p',
      spec.prompt,
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'bypassPermissions',
      ...(o.model ? ['--model', o.model] : []),
      ...(spec.resumeSessionId ? ['--resume', spec.resumeSessionId] : []),
    ],
    env: () => ({ CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', IS_SANDBOX: '1' }),
    passEnv: ['ANTHROPIC_*', 'CLAUDE_CODE_*'],
  },
  droid: {
    type: 'droid',
    product: 'Factory droid',
    commandSetting: 'DROID_COMMAND',
    args: (spec, o) => [
      'exec',
      '--output-format',
      'stream-json',
      '--auto',
      'high',
      '--cwd',
      spec.workdir,
      ...(o.model ? ['-m', o.model] : []),
      ...(o.effort ? ['-r', o.effort] : []),
      spec.prompt,
    ],
    env: () => ({ FACTORY_DROID_AUTO_UPDATE_ENABLED: 'false' }),
    passEnv: ['FACTORY_*'],
  },
};
