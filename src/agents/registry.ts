import { createAcpBackend } from './acp/index.js';
import { CliBackend } from './cli-backend.js';
import { BackendConfigError } from './errors.js';
import { CLI_ADAPTERS } from './cli/index.js';
import { CommandBackend } from './command-backend.js';
import { FakeBackend, type FakeStep } from './fake-backend.js';
import { TemplateBackend } from './template-backend.js';
import type { ProcessRunner } from '../runner/types.js';
import type { CliAdapter } from './cli/types.js';
import type { AgentEvent, Backend } from './types.js';

/** The backend settings this module needs, in the config file's shape (kept free of the config module). */
export type BackendSettings =
  | {
      type: 'command';
      command: string;
      args: readonly string[];
      env: Readonly<Record<string, string>>;
      passEnv: readonly string[];
      output: 'text' | 'jsonl';
      stdin: 'none' | 'prompt';
      home: 'context' | 'inherit';
    }
  | {
      type: 'fake';
      steps: ReadonlyArray<{ event: Record<string, unknown> } | { sleepMs: number }>;
      outcome: 'completed' | 'failed';
      summary: string;
    }
  | { type: 'template' }
  | {
      type: 'acp';
      preset?: string | undefined;
      command?: string | undefined;
      args?: readonly string[] | undefined;
      env: Readonly<Record<string, string>>;
      passEnv: readonly string[];
      model?: string | undefined;
    }
  | {
      type: string;
      command?: string | undefined;
      extraArgs: readonly string[];
      env: Readonly<Record<string, string>>;
      passEnv: readonly string[];
      model?: string | undefined;
      effort?: string | undefined;
    };

export interface BackendDeps {
  baseEnv: NodeJS.ProcessEnv;
  killGraceMs: number;
  run: ProcessRunner;
  /** A backend's own runner (its own sandbox setting, say), instead of `run`. */
  runFor?: (name: string) => ProcessRunner | undefined;
}

export { BackendConfigError };

function createBackend(name: string, settings: BackendSettings, deps: BackendDeps): Backend {
  if (settings.type === 'command' && 'output' in settings) {
    return new CommandBackend({ name, ...settings, ...deps });
  }
  if (settings.type === 'fake' && 'steps' in settings) {
    const steps: FakeStep[] = settings.steps.map((s) =>
      'sleepMs' in s ? { sleepMs: s.sleepMs } : { event: s.event as unknown as AgentEvent },
    );
    return new FakeBackend({ name, steps, outcome: settings.outcome, summary: settings.summary });
  }
  if (settings.type === 'template') return new TemplateBackend(name);
  if (settings.type === 'acp' && !('extraArgs' in settings)) return createAcpBackend(name, settings, deps);
  const adapter = (CLI_ADAPTERS as Readonly<Record<string, CliAdapter | undefined>>)[settings.type];
  if (!adapter || !('extraArgs' in settings)) {
    throw new BackendConfigError(
      `backends.${name}.type: "${settings.type}" is not supported by this version; expected one of command, fake, template, acp, ${Object.keys(CLI_ADAPTERS).join(', ')}`,
    );
  }
  return new CliBackend({
    name,
    adapter,
    command: settings.command ?? adapter.defaultCommand,
    extraArgs: settings.extraArgs,
    env: settings.env,
    passEnv: settings.passEnv,
    ...(settings.model ? { model: settings.model } : {}),
    ...(settings.effort ? { effort: settings.effort } : {}),
    ...deps,
  });
}

/** Builds every configured backend once, at start-up. */
export function createBackends(
  settings: Readonly<Record<string, BackendSettings>>,
  deps: BackendDeps,
): ReadonlyMap<string, Backend> {
  const backends = new Map<string, Backend>();
  for (const [name, s] of Object.entries(settings)) {
    const { runFor, ...common } = deps;
    backends.set(name, createBackend(name, s, { ...common, run: runFor?.(name) ?? deps.run }));
  }
  return backends;
}
