/** The generic Agent Client Protocol backend and its presets for the seven coding CLIs. */
import type { ProcessRunner } from '../../runner/types.js';
import { BackendConfigError } from '../errors.js';
import { AcpBackend } from './acp-backend.js';
import { ACP_PRESETS, isAcpPreset } from './presets.js';

export { AcpBackend, type AcpBackendOptions } from './acp-backend.js';
export { ACP_PRESETS, ACP_PRESET_NAMES, isAcpPreset, type AcpPreset, type AcpPresetName } from './presets.js';

export interface AcpSettings {
  preset?: string | undefined;
  command?: string | undefined;
  args?: readonly string[] | undefined;
  env: Readonly<Record<string, string>>;
  passEnv: readonly string[];
  model?: string | undefined;
}

/** The backend for one `type: acp` entry of the config file. */
export function createAcpBackend(
  name: string,
  settings: AcpSettings,
  deps: { baseEnv: NodeJS.ProcessEnv; killGraceMs: number; run: ProcessRunner },
): AcpBackend {
  const preset =
    settings.preset === undefined
      ? undefined
      : isAcpPreset(settings.preset)
        ? ACP_PRESETS[settings.preset]
        : null;
  if (preset === null) {
    throw new BackendConfigError(
      `backends.${name}.preset: "${settings.preset}" is not a preset; expected one of ${Object.keys(ACP_PRESETS).join(', ')}`,
    );
  }
  const commands = settings.command ? [settings.command] : (preset?.commands ?? []);
  if (commands.length === 0) {
    throw new BackendConfigError(`backends.${name}.command: expected the ACP agent's command, or a preset`);
  }
  return new AcpBackend({
    name,
    commands,
    args: settings.args ?? preset?.args ?? [],
    env: settings.env,
    passEnv: settings.passEnv,
    ...(settings.model ? { model: settings.model } : {}),
    ...(preset ? { preset } : {}),
    ...deps,
  });
}
