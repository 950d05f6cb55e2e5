/** One adapter per coding-agent CLI: how to run it headless in a private config home. */
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { copilotAdapter } from './copilot.js';
import { droidAdapter } from './droid.js';
import { geminiAdapter } from './gemini.js';
import { opencodeAdapter } from './opencode.js';
import { qwenAdapter } from './qwen.js';
import type { CliAdapter, CliType } from './types.js';

/** Every CLI adapter, by backend type. */
export const CLI_ADAPTERS: Readonly<Record<CliType, CliAdapter>> = Object.freeze({
  claude: claudeAdapter,
  droid: droidAdapter,
  codex: codexAdapter,
  gemini: geminiAdapter,
  opencode: opencodeAdapter,
  qwen: qwenAdapter,
  copilot: copilotAdapter,
});

/** True when `type` names a CLI this build has an adapter for. */
export function isCliType(type: string): type is CliType {
  return Object.prototype.hasOwnProperty.call(CLI_ADAPTERS, type);
}

export { CliSetupError } from './seed.js';
export type { CliAdapter, CliPrepareContext, CliRunPlan, CliType, ResumeSupport } from './types.js';
