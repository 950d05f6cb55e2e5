/**
 * The generic ACP backend: any agent that speaks the Agent Client Protocol on stdio, driven with
 * `@agentclientprotocol/sdk`. A preset names one of the seven coding CLIs and brings its ACP command line and its
 * native adapter's config-home set-up; without a preset the command, arguments and environment are the config's.
 */
import { homedir } from 'node:os';
import { buildChildEnv } from '../../runner/env.js';
import type { ProcessRunner } from '../../runner/types.js';
import { resolveCommand } from '../../runner/which.js';
import { VERSION } from '../../version.js';
import { CliSetupError } from '../cli/seed.js';
import type { CliRunPlan } from '../cli/types.js';
import type { Backend, BackendOutcome, BackendRunContext } from '../types.js';
import type { AcpPreset } from './presets.js';
import { runAcpTurn } from './turn.js';

export interface AcpBackendOptions {
  name: string;
  /** The command, or the preset's names for it (the first found on PATH runs). */
  commands: readonly string[];
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  passEnv: readonly string[];
  model?: string;
  preset?: AcpPreset;
  baseEnv: NodeJS.ProcessEnv;
  killGraceMs: number;
  run: ProcessRunner;
  /** Where the user's own CLI config lives, seeded into each conversation's home (default: the user's home). */
  userHome?: string;
}

export class AcpBackend implements Backend {
  readonly name: string;
  readonly type = 'acp';
  readonly resume: 'native' | 'replay';

  constructor(private readonly opts: AcpBackendOptions) {
    this.name = opts.name;
    this.resume = opts.preset?.resume ?? 'native';
  }

  get preset(): AcpPreset | undefined {
    return this.opts.preset;
  }

  get commands(): readonly string[] {
    return this.opts.commands;
  }

  /** The first of the commands found on PATH (its absolute path), or undefined. */
  async locate(): Promise<string | undefined> {
    for (const command of this.opts.commands) {
      const found = await resolveCommand(command, this.opts.baseEnv.PATH);
      if (found) return found;
    }
    return undefined;
  }

  async unavailable(skill: string): Promise<BackendOutcome | undefined> {
    return (await this.locate()) === undefined ? this.notInstalled(skill) : undefined;
  }

  async run(ctx: BackendRunContext): Promise<BackendOutcome> {
    const command = await this.locate();
    if (!command) return this.notInstalled(ctx.spec.skill);
    const { preset } = this.opts;
    let plan: CliRunPlan | undefined;
    try {
      plan = await this.setUp(ctx);
    } catch (err) {
      if (err instanceof CliSetupError) {
        return { status: 'failed', summary: '', reason: `backend "${this.name}": ${err.message}` };
      }
      throw err;
    }
    const model = ctx.spec.model ?? this.opts.model;
    const env = buildChildEnv({
      base: this.opts.baseEnv,
      allow: [...(preset?.adapter.passEnv ?? []), ...(plan?.passEnv ?? []), ...this.opts.passEnv],
      set: { ...plan?.env, ...this.opts.env },
      home: ctx.home,
    });
    return runAcpTurn(ctx, {
      backend: this.name,
      command,
      argv: [command, ...this.opts.args, ...(model && preset?.modelArgs ? preset.modelArgs(model) : [])],
      env,
      killGraceMs: this.opts.killGraceMs,
      run: this.opts.run,
      loadSessions: this.resume === 'native',
      clientFs: preset?.clientFs ?? true,
      clientVersion: VERSION,
    });
  }

  /** The preset's native set-up (config home, environment); its command line is not used. */
  private async setUp(ctx: BackendRunContext): Promise<CliRunPlan | undefined> {
    const { preset } = this.opts;
    if (!preset) return undefined;
    const model = ctx.spec.model ?? this.opts.model;
    return preset.adapter.prepare({
      spec: ctx.spec,
      home: ctx.home,
      userHome: this.opts.userHome ?? homedir(),
      firstTurn: ctx.firstTurn,
      env: this.opts.baseEnv,
      ...(model ? { model } : {}),
    });
  }

  private notInstalled(skill: string): BackendOutcome {
    const { preset } = this.opts;
    const names = this.opts.commands.map((c) => `"${c}"`).join(' or ');
    const install = preset ? ` (npm package ${preset.install})` : '';
    return {
      status: 'failed',
      summary: '',
      errorKind: 'not_installed',
      reason:
        `backend "${this.name}" (ACP agent) is not installed: command ${names} was not found on PATH. ` +
        `Install it${install}, set backends.${this.name}.command to its path, or map skill ${skill} to another backend in the config file.`,
    };
  }
}
