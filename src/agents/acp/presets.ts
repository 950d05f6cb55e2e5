/**
 * The seven coding CLIs over ACP (`type: acp, preset: gemini`): the command and arguments that put each in ACP
 * mode, and the native adapter whose set-up (the private config home seeded from the user's own, the credential
 * variables passed through, telemetry and auto-update off) the ACP run reuses, so a CLI configured for the native
 * path works over ACP unchanged.
 */
import { CLI_ADAPTERS } from '../cli/index.js';
import type { CliAdapter, CliType } from '../cli/types.js';

export const ACP_PRESET_NAMES = [
  'gemini',
  'qwen',
  'opencode',
  'copilot',
  'droid',
  'claude',
  'codex',
] as const;
export type AcpPresetName = (typeof ACP_PRESET_NAMES)[number];

export interface AcpPreset {
  name: AcpPresetName;
  /** The command, and other names it is installed under (the first found on PATH is used). */
  commands: readonly string[];
  args: readonly string[];
  /** Arguments that choose a model, where the CLI takes one on its command line. */
  modelArgs?: (model: string) => string[];
  /** The native adapter whose config-home set-up and environment the ACP run shares. */
  adapter: CliAdapter;
  /**
   * How a follow-up continues: `native` loads the agent's session (`session/load`); `replay` starts a new one whose
   * prompt carries the earlier turns, for agents whose load does not work across processes.
   */
  resume: 'native' | 'replay';
  /** The package that provides the ACP command, for messages. */
  install: string;
  /**
   * Whether to offer the agent the workspace's text files (`fs/*`); default true. Off where the agent mishandles the
   * answers (it then uses its own file access, as on the native path).
   */
  clientFs?: boolean;
}

const adapter = (type: CliType): CliAdapter => CLI_ADAPTERS[type];

export const ACP_PRESETS: Readonly<Record<AcpPresetName, AcpPreset>> = Object.freeze({
  gemini: {
    name: 'gemini',
    commands: ['gemini'],
    // An untrusted folder makes Gemini CLI refuse its tools' auto-approval; the gateway answers approvals itself.
    args: ['--acp', '--skip-trust'],
    modelArgs: (model) => ['-m', model],
    adapter: adapter('gemini'),
    // Gemini CLI 0.61.0 rewrites the session file before reading it on session/load in a new process, then finds
    // "No previous sessions found for this project": follow-ups replay the earlier turns instead.
    resume: 'replay',
    install: '@google/gemini-cli',
    // Gemini CLI 0.61.0 tells a missing file from other errors only for an Error with code ENOENT, but its ACP
    // connection rejects with a plain object: over fs/read_text_file it cannot create a new file.
    clientFs: false,
  },
  qwen: {
    name: 'qwen',
    commands: ['qwen'],
    args: ['--acp'],
    modelArgs: (model) => ['--model', model],
    adapter: adapter('qwen'),
    resume: 'native',
    install: '@qwen-code/qwen-code',
  },
  opencode: {
    name: 'opencode',
    commands: ['opencode'],
    args: ['acp'],
    adapter: adapter('opencode'),
    resume: 'native',
    install: 'opencode-ai',
  },
  copilot: {
    name: 'copilot',
    commands: ['copilot'],
    args: ['--acp'],
    modelArgs: (model) => ['--model', model],
    adapter: adapter('copilot'),
    resume: 'native',
    install: '@github/copilot',
  },
  droid: {
    name: 'droid',
    commands: ['droid'],
    args: ['exec', '--output-format', 'acp'],
    modelArgs: (model) => ['--model', model],
    adapter: adapter('droid'),
    resume: 'native',
    install: 'droid',
  },
  claude: {
    name: 'claude',
    commands: ['claude-agent-acp', 'claude-code-acp'],
    args: [],
    adapter: adapter('claude'),
    resume: 'native',
    install: '@zed-industries/claude-code-acp',
  },
  codex: {
    name: 'codex',
    commands: ['codex-acp'],
    args: [],
    adapter: adapter('codex'),
    resume: 'native',
    install: '@zed-industries/codex-acp',
  },
});

export function isAcpPreset(name: string): name is AcpPresetName {
  return (ACP_PRESET_NAMES as readonly string[]).includes(name);
}
